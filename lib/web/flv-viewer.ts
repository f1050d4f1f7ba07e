import type { Subscription } from 'rxjs';
import type { LiveStream } from '../media/live-stream';
import type { MediaPacket } from '../media/packet';
import { flvHeader, flvTag } from '../protocol/flv';
import { MessageType } from '../protocol/message';

/** Where an FLV viewer's bytes go: an HTTP response or a WebSocket. */
export interface FlvSink {
  write(chunks: Buffer[]): void;
  /** Bytes written that the peer has not taken yet. */
  backlog(): number;
  close(reason: string): void;
}

export interface FlvViewerLimits {
  /** Backlog above which video is dropped until the next key frame (bytes). */
  dropAbove: number;
  /** Backlog above which the viewer is closed (bytes). */
  closeAbove: number;
}

export const defaultFlvViewerLimits: FlvViewerLimits = { dropAbove: 1 << 20, closeAbove: 8 << 20 };

/**
 * One viewer of a live stream as FLV (HTTP-FLV, WebSocket-FLV): the header, metadata and
 * sequence headers, then the cached GOP so that it starts on a key frame at once, then
 * live packets, its timestamps from 0. A viewer that does not read loses video until the
 * next key frame, and is closed when even that does not help: it never holds the stream.
 */
export class FlvViewer {
  private base: number | undefined;
  private waitingForKey: boolean;
  private subscription: Subscription | undefined;
  private closed = false;

  constructor(
    readonly stream: LiveStream,
    private readonly sink: FlvSink,
    private readonly limits: FlvViewerLimits = defaultFlvViewerLimits,
  ) {
    this.waitingForKey = stream.hasVideo;
  }

  start(): void {
    const info = this.stream.streamInfo;
    this.sink.write([flvHeader(info.audioCodec !== undefined || !this.stream.hasVideo, this.stream.hasVideo || info.videoCodec !== undefined)]);
    for (const packet of this.stream.startingPackets()) this.deliver(packet);
    this.subscription = this.stream.media$.subscribe({ next: (packet) => this.deliver(packet), complete: () => this.close('stream ended') });
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.subscription?.unsubscribe();
    this.sink.close(reason);
  }

  private deliver(packet: MediaPacket): void {
    if (this.closed) return;
    const backlog = this.sink.backlog();
    if (backlog > this.limits.closeAbove) return this.close(`viewer ${backlog} bytes behind`);
    const isVideo = packet.typeId === MessageType.Video;
    if (!packet.sequenceHeader && packet.typeId !== MessageType.DataAmf0) {
      if (isVideo && (this.waitingForKey || backlog > this.limits.dropAbove)) {
        if (!packet.keyFrame) {
          this.waitingForKey = true;
          return;
        }
        this.waitingForKey = false;
      }
      if (!isVideo && this.waitingForKey && this.stream.hasVideo) return;
    }
    this.base ??= packet.time;
    this.sink.write(flvTag(packet.typeId, Math.max(0, packet.time - this.base), packet.payload));
  }
}

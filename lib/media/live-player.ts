import { MessageType } from '../protocol/message';
import type { MediaBatch } from '../pipeline/media-tick';
import type { NetStream } from '../session/net-stream';
import type { MediaPacket } from './packet';

export interface PlayerLimits {
  /** Bytes queued towards a player above which it is behind: video is dropped until the next key frame. */
  maxQueueBytes: number;
  /** A player behind for longer than this (ms) is disconnected. */
  maxBehindMs: number;
}

export interface PlayerStats {
  sent: number;
  dropped: number;
}

/**
 * One player of a live stream. It rebases the stream's timeline to start at 0,
 * starts on a key frame, and when its connection cannot keep up it drops inter
 * frames (then audio) rather than queueing them, so it never slows anybody else.
 */
export class LivePlayer {
  readonly stats: PlayerStats = { sent: 0, dropped: 0 };
  paused = false;
  private base: number | undefined;
  private waitingForKey = true;
  private behindSince: number | undefined;
  private readonly lastTime = new Map<string, number>();

  constructor(
    readonly stream: NetStream,
    private readonly limits: PlayerLimits,
    /** Whether the live stream carries video; an audio-only stream has no key frames to wait for. */
    private readonly hasVideo: () => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  get waitingForKeyFrame(): boolean {
    return this.waitingForKey;
  }

  /**
   * A moment on the live stream's timeline as this player's timestamps show it (they start
   * at 0 with its first packet); -1 before that packet, since every packet it gets is later.
   */
  playerTime(streamTime: number): number {
    return this.base === undefined ? -1 : streamTime - this.base;
  }

  /** Starts (or restarts, after a pause or seek) on the next key frame. */
  restart(): void {
    this.waitingForKey = true;
  }

  /** Decoder configuration and metadata: always sent, whatever the queue. */
  sendHeader(packet: MediaPacket, batch?: MediaBatch): void {
    this.write(packet, true, batch);
  }

  /** `batch` is the live stream's: its players' media waits for its tick while it batches. */
  deliver(packet: MediaPacket, batch?: MediaBatch): void {
    if (this.paused) return;
    if (packet.sequenceHeader) return this.write(packet, true, batch);
    const queued = this.stream.queuedBytes;
    if (this.tooSlow(queued)) return;
    const behind = queued > this.limits.maxQueueBytes;
    if (packet.typeId === MessageType.Video) {
      if (behind) this.waitingForKey = true;
      if (this.waitingForKey && (!packet.keyFrame || behind)) {
        this.stats.dropped++;
        return;
      }
      this.waitingForKey = false;
      return this.write(packet, false, batch);
    }
    // Audio and data: held back until video starts, dropped only when far behind.
    if ((this.waitingForKey && this.hasVideo()) || queued > 2 * this.limits.maxQueueBytes) {
      this.stats.dropped++;
      return;
    }
    this.write(packet, false, batch);
  }

  private tooSlow(queued: number): boolean {
    if (queued <= this.limits.maxQueueBytes) {
      this.behindSince = undefined;
      return false;
    }
    const now = this.now();
    this.behindSince ??= now;
    if (now - this.behindSince > this.limits.maxBehindMs) {
      this.stream.connection.close(`player of ${this.stream.name ?? '?'} stayed ${queued} bytes behind for over ${this.limits.maxBehindMs} ms`);
      return true;
    }
    return false;
  }

  private write(packet: MediaPacket, header: boolean, batch: MediaBatch | undefined): void {
    let time: number;
    if (header) {
      // Headers belong to no point in time: they go out at the player's present.
      time = this.base === undefined ? 0 : Math.max(0, ...this.lastTime.values());
    } else {
      this.base ??= packet.time;
      // Per track, timestamps never go backwards for the player, whatever the source did.
      time = Math.max(this.lastTime.get(packet.track) ?? 0, packet.time - this.base, 0);
      this.lastTime.set(packet.track, time);
    }
    this.stream.sendSharedMedia(packet.typeId, time % 0x100000000, packet.payload, packet.bodies, batch);
    this.stats.sent++;
  }
}

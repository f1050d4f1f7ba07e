import { AmfValue, isPlainObject, isEcmaArray } from '../protocol/amf/values';
import { parseAvcDecoderConfiguration } from '../protocol/avc';
import { MessageType } from '../protocol/message';
import { parseVideoTag } from '../protocol/media-tags';
import type { MediaPacket } from './packet';

export interface StreamInfo {
  videoCodec: string | undefined;
  audioCodec: string | undefined;
  width: number | undefined;
  height: number | undefined;
  /** Measured over the last few seconds of the timeline. */
  frameRate: number | undefined;
  /** Measured over the last few seconds of the timeline (bits per second, audio + video). */
  bitrate: number | undefined;
  /** Video tracks by `codec:trackId` (Enhanced RTMP multitrack streams have several). */
  videoTracks: string[];
}

const WINDOW_MS = 3_000;

/** Learns what a stream carries from its metadata, its sequence headers and its timing. */
export class StreamInfoTracker {
  private readonly info: StreamInfo = {
    videoCodec: undefined,
    audioCodec: undefined,
    width: undefined,
    height: undefined,
    frameRate: undefined,
    bitrate: undefined,
    videoTracks: [],
  };
  private readonly frames: number[] = [];
  private readonly sizes: Array<[number, number]> = [];
  private sizeSum = 0;
  private lastTrack: string | undefined;
  private lastCodec: string | undefined;

  get current(): StreamInfo {
    return { ...this.info, videoTracks: [...this.info.videoTracks] };
  }

  metadata(values: AmfValue[]): void {
    const object = values[0];
    if (!isPlainObject(object) && !isEcmaArray(object)) return;
    if (typeof object.width === 'number' && this.info.width === undefined) this.info.width = object.width;
    if (typeof object.height === 'number' && this.info.height === undefined) this.info.height = object.height;
  }

  packet(packet: MediaPacket): void {
    if (packet.typeId === MessageType.Audio) {
      this.info.audioCodec = packet.codec;
    } else if (packet.typeId === MessageType.Video) {
      this.info.videoCodec = packet.codec;
      if (packet.track !== this.lastTrack || packet.codec !== this.lastCodec) this.addTrack(packet);
      if (packet.sequenceHeader && packet.codec === 'avc') this.readAvcSize(packet.payload);
      else if (!packet.sequenceHeader) this.countFrame(packet.time);
    }
    // A running sum: this runs for every packet of every live stream.
    this.sizes.push([packet.time, packet.payload.length]);
    this.sizeSum += packet.payload.length;
    while (this.sizes.length > 1 && packet.time - this.sizes[0]![0] > WINDOW_MS) this.sizeSum -= this.sizes.shift()![1];
    const span = packet.time - this.sizes[0]![0];
    if (span > 500) this.info.bitrate = Math.round((this.sizeSum * 8 * 1000) / span);
  }

  private addTrack(packet: MediaPacket): void {
    this.lastTrack = packet.track;
    this.lastCodec = packet.codec;
    const track = `${packet.codec}:${packet.track}`;
    if (!this.info.videoTracks.includes(track)) this.info.videoTracks.push(track);
  }

  private countFrame(time: number): void {
    this.frames.push(time);
    while (this.frames.length > 1 && time - this.frames[0]! > WINDOW_MS) this.frames.shift();
    const span = time - this.frames[0]!;
    if (span > 0) this.info.frameRate = Math.round(((this.frames.length - 1) * 1000 * 100) / span) / 100;
  }

  private readAvcSize(payload: Buffer): void {
    try {
      const config = parseAvcDecoderConfiguration(payload.subarray(parseVideoTag(payload).dataOffset));
      this.info.width = config.width;
      this.info.height = config.height;
    } catch {
      // Metadata may still give the size; a bad SPS is not the relay's problem.
    }
  }
}

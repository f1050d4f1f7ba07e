import { FlvFile, FlvTag } from '../protocol/flv';
import { MessageType } from '../protocol/message';
import { parseAudioTag, parseVideoTag } from '../protocol/media-tags';
import type { NetStream } from '../session/net-stream';

export interface FilePlayOptions {
  /** Where to start (ms into the file); playback begins at the key frame at or before it. */
  start: number;
  /** How much to play (ms); negative plays to the end. */
  duration: number;
  /** How far ahead of real time media is sent (ms), so the player's buffer fills at once. */
  lead?: number;
  /** Bytes queued towards the player above which sending waits. */
  maxQueueBytes?: number;
  /** Called once playback has ended by itself (not when stopped). */
  onEnd?: () => void;
}

const TICK_MS = 20;

const isVideoHeader = (tag: FlvTag): boolean => tag.typeId === MessageType.Video && safe(() => parseVideoTag(tag.data).isSequenceHeader);
const isAudioHeader = (tag: FlvTag): boolean => tag.typeId === MessageType.Audio && safe(() => parseAudioTag(tag.data).isSequenceHeader);
const isKeyFrame = (tag: FlvTag): boolean =>
  tag.typeId === MessageType.Video && safe(() => {
    const info = parseVideoTag(tag.data);
    return info.isKeyFrame && !info.isSequenceHeader;
  });

function safe(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/**
 * Plays a recorded FLV file to one NetStream in real time (a little ahead, so the
 * client's buffer fills at once), with pause, seek and a clean end: onPlayStatus
 * NetStream.Play.Complete, then Play.Stop and Stream EOF from the session.
 */
export class FlvFilePlayer {
  private index = 0;
  private origin = 0;
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  private pausedAt = 0;
  private endAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly stream: NetStream,
    private readonly file: FlvFile,
    private readonly options: FilePlayOptions,
  ) {}

  start(): void {
    this.seek(Math.max(0, this.options.start));
    if (this.options.duration >= 0) this.endAt = this.origin + this.options.duration;
  }

  /** Restarts at the key frame at or before `ms`, with metadata and sequence headers first. */
  seek(ms: number): void {
    const tags = this.file.tags;
    let keyIndex = tags.findIndex((tag) => isKeyFrame(tag));
    for (let i = 0; i < tags.length && tags[i]!.timestamp <= ms; i++) if (isKeyFrame(tags[i]!)) keyIndex = i;
    if (keyIndex < 0) keyIndex = 0;
    this.origin = tags[keyIndex]?.timestamp ?? 0;
    const headers = tags.slice(0, keyIndex).filter((tag) => tag.typeId === MessageType.DataAmf0 || isVideoHeader(tag) || isAudioHeader(tag));
    for (const tag of headers) this.send(tag, this.origin);
    this.index = keyIndex;
    this.startedAt = Date.now();
    this.pausedAt = this.startedAt;
    if (!this.paused) this.schedule();
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.pausedAt = Date.now();
    clearTimeout(this.timer);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.startedAt += Date.now() - this.pausedAt;
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.index = this.file.tags.length;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pump(), 0);
  }

  private pump(): void {
    const lead = this.options.lead ?? 1000;
    const horizon = this.origin + (Date.now() - this.startedAt) + lead;
    const tags = this.file.tags;
    while (this.index < tags.length && tags[this.index]!.timestamp <= horizon) {
      if (this.stream.queuedBytes > (this.options.maxQueueBytes ?? 1024 * 1024)) break;
      const tag = tags[this.index]!;
      if (tag.timestamp > this.endAt) {
        this.index = tags.length;
        break;
      }
      this.send(tag, tag.timestamp);
      this.index++;
    }
    if (this.index >= tags.length) {
      this.stream.sendData('onPlayStatus', [{ level: 'status', code: 'NetStream.Play.Complete', duration: (tags.at(-1)?.timestamp ?? 0) / 1000 }]);
      this.timer = undefined;
      this.options.onEnd?.();
      return;
    }
    this.timer = setTimeout(() => this.pump(), TICK_MS);
  }

  private send(tag: FlvTag, timestamp: number): void {
    if (tag.typeId !== MessageType.Audio && tag.typeId !== MessageType.Video && tag.typeId !== MessageType.DataAmf0) return;
    this.stream.sendSharedMedia(tag.typeId, timestamp, tag.data, new Map());
  }
}

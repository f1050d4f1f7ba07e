import { MessageType } from '../protocol/message';
import type { MediaPacket } from './packet';

export interface GopCacheLimits {
  maxBytes: number;
  /** Longest group of pictures kept (ms); a longer one is dropped until the next key frame. */
  maxDuration: number;
}

/**
 * The media since the last video key frame, so a new player can start at once on
 * a key frame instead of waiting for the next one. Bounded in bytes and duration.
 */
export class GopCache {
  private packets: MediaPacket[] = [];
  private bytes = 0;

  constructor(private readonly limits: GopCacheLimits) {}

  add(packet: MediaPacket): void {
    if (packet.sequenceHeader) return;
    if (packet.typeId === MessageType.Video && packet.keyFrame) {
      this.packets = [packet];
      this.bytes = packet.payload.length;
      return;
    }
    // Nothing is kept until a key frame opens a group.
    if (this.packets.length === 0) return;
    this.packets.push(packet);
    this.bytes += packet.payload.length;
    if (this.bytes > this.limits.maxBytes || packet.time - this.packets[0]!.time > this.limits.maxDuration) this.clear();
  }

  clear(): void {
    this.packets = [];
    this.bytes = 0;
  }

  get snapshot(): readonly MediaPacket[] {
    return this.packets;
  }

  get byteLength(): number {
    return this.bytes;
  }
}

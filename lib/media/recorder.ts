import { closeSync, existsSync, openSync, readSync, fstatSync, writeSync } from 'node:fs';
import { asEcmaArray, AmfValue, isEcmaArray, isPlainObject } from '../protocol/amf/values';
import { encodeData } from '../protocol/commands';
import { flvHeader, flvTag } from '../protocol/flv';
import { MessageType } from '../protocol/message';
import type { MediaPacket } from './packet';

/** Where the duration and filesize doubles of the file's onMetaData sit, to fill them in at the end. */
interface MetadataSlots {
  duration: number | undefined;
  filesize: number | undefined;
}

function slotOf(tag: Buffer, key: string, tagOffset: number): number | undefined {
  // In AMF0 a property is u16 length + name + a marker; the number's 8 bytes follow marker 0x00.
  const needle = Buffer.concat([Buffer.from([0, key.length]), Buffer.from(key, 'latin1'), Buffer.of(0)]);
  const at = tag.indexOf(needle);
  return at < 0 ? undefined : tagOffset + at + needle.length;
}

/**
 * Writes a live stream to a standard FLV file: header, onMetaData (duration and
 * filesize filled in on close), then every packet with timestamps from 0. Writes are
 * synchronous and small; a recording is one file per publish.
 */
export class FlvRecorder {
  private readonly fd: number;
  private size: number;
  private readonly slots: MetadataSlots = { duration: undefined, filesize: undefined };
  private base: number | undefined;
  /** Timestamp the first packet gets: 0, or just after the last tag when appending. */
  private readonly startAt: number;
  private lastTimestamp = 0;
  private closed = false;

  constructor(
    readonly path: string,
    metadata: AmfValue[] | undefined,
    options: { append?: boolean; hasAudio?: boolean; hasVideo?: boolean } = {},
  ) {
    const appending = options.append === true && existsSync(path);
    this.fd = openSync(path, appending ? 'r+' : 'w');
    if (appending) {
      this.size = fstatSync(this.fd).size;
      this.startAt = this.lastTagTimestamp() + 1;
      this.lastTimestamp = this.startAt - 1;
      this.findSlots();
      return;
    }
    this.startAt = 0;
    this.size = 0;
    this.write([flvHeader(options.hasAudio ?? true, options.hasVideo ?? true)]);
    const source = metadata?.[0];
    const fields = isPlainObject(source) || isEcmaArray(source) ? { ...source } : {};
    const { payload } = encodeData({ name: 'onMetaData', values: [asEcmaArray({ ...fields, duration: 0, filesize: 0 })] });
    const tagOffset = this.size + 11;
    this.slots.duration = slotOf(payload, 'duration', tagOffset);
    this.slots.filesize = slotOf(payload, 'filesize', tagOffset);
    this.write(flvTag(MessageType.DataAmf0, 0, payload));
  }

  record(packet: MediaPacket): void {
    if (this.closed) return;
    // Metadata went into the file's own onMetaData already.
    if (packet.typeId === MessageType.DataAmf0 && this.base === undefined) return;
    this.base ??= packet.time;
    const timestamp = this.startAt + Math.max(0, packet.time - this.base);
    this.lastTimestamp = Math.max(this.lastTimestamp, timestamp);
    this.write(flvTag(packet.typeId, timestamp % 0x100000000, packet.payload));
  }

  /** Fills in duration (s) and filesize, then closes the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const number = (value: number): Buffer => {
      const bytes = Buffer.alloc(8);
      bytes.writeDoubleBE(value);
      return bytes;
    };
    if (this.slots.duration !== undefined) writeSync(this.fd, number(this.lastTimestamp / 1000), 0, 8, this.slots.duration);
    if (this.slots.filesize !== undefined) writeSync(this.fd, number(this.size), 0, 8, this.slots.filesize);
    closeSync(this.fd);
  }

  private write(buffers: Buffer[]): void {
    for (const buffer of buffers) {
      writeSync(this.fd, buffer, 0, buffer.length, this.size);
      this.size += buffer.length;
    }
  }

  private lastTagTimestamp(): number {
    if (this.size < 13 + 15) return 0;
    const previous = Buffer.alloc(4);
    readSync(this.fd, previous, 0, 4, this.size - 4);
    const tagSize = previous.readUInt32BE(0);
    const header = Buffer.alloc(8);
    readSync(this.fd, header, 0, 8, this.size - 4 - tagSize);
    return (header.readUIntBE(4, 3) | (header[7]! << 24)) >>> 0;
  }

  private findSlots(): void {
    const head = Buffer.alloc(Math.min(this.size, 4096));
    readSync(this.fd, head, 0, head.length, 0);
    if (head[13] !== MessageType.DataAmf0) return;
    const tagSize = head.readUIntBE(14, 3);
    const tag = head.subarray(24, 24 + tagSize);
    this.slots.duration = slotOf(tag, 'duration', 24);
    this.slots.filesize = slotOf(tag, 'filesize', 24);
  }
}

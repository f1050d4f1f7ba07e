import { ProtocolError } from '../../lib/protocol/errors';

/** One FLV tag as ffmpeg's muxer wrote it; the timestamp is ffmpeg's, which callers ignore. */
export interface StreamedTag {
  readonly typeId: number;
  readonly data: Buffer;
}

/**
 * Reads an FLV byte stream as it arrives from a pipe, in any split.
 * `lib/protocol/flv.ts#parseFlv` wants a whole file; ffmpeg's stdout never is one
 * until the process ends, and we need each tag the moment it is complete.
 */
export class FlvTagReader {
  private pending: Buffer = Buffer.alloc(0);
  private headerDone = false;

  /** Feeds bytes; returns the tags they completed. Throws a ProtocolError on a corrupt stream. */
  push(chunk: Buffer): StreamedTag[] {
    // Concatenating is fine here: a chunk usually holds whole tags, so what is kept is small.
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const tags: StreamedTag[] = [];
    let at = 0;
    if (!this.headerDone) {
      if (this.pending.length < 9) return tags;
      if (this.pending.toString('latin1', 0, 3) !== 'FLV') throw new ProtocolError('ERR_FLV', 'ffmpeg did not write an FLV stream', 0);
      const headerSize = this.pending.readUInt32BE(5);
      // The header, then PreviousTagSize0.
      if (this.pending.length < headerSize + 4) return tags;
      at = headerSize + 4;
      this.headerDone = true;
    }
    while (at + 11 <= this.pending.length) {
      const size = this.pending.readUIntBE(at + 1, 3);
      const end = at + 11 + size;
      if (end + 4 > this.pending.length) break;
      if (this.pending.readUInt32BE(end) !== 11 + size) throw new ProtocolError('ERR_FLV', 'PreviousTagSize does not match the tag', end);
      // Copied so a body handed out does not pin the whole pipe chunk (or our concatenation) in memory.
      tags.push({ typeId: this.pending[at]!, data: Buffer.from(this.pending.subarray(at + 11, end)) });
      at = end + 4;
    }
    this.pending = this.pending.subarray(at);
    return tags;
  }

  /** Bytes of an incomplete tag still waiting for the rest. */
  get buffered(): number {
    return this.pending.length;
  }
}

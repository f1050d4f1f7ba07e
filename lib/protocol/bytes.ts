import { AmfError, ProtocolErrorCode } from './errors';

/**
 * A bounds-checked cursor over one buffer. Every read checks the remaining length
 * first, so a declared length larger than the input is an error, never an
 * out-of-range read or an unbounded allocation.
 */
export class ByteReader {
  offset: number;

  constructor(
    readonly buffer: Buffer,
    offset = 0,
    private readonly truncatedCode: ProtocolErrorCode = 'ERR_AMF_TRUNCATED',
  ) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  need(count: number, what: string): void {
    if (count > this.remaining) {
      throw new AmfError(
        this.truncatedCode,
        `${what} needs ${count} bytes but only ${this.remaining} remain`,
        this.offset,
      );
    }
  }

  u8(): number {
    this.need(1, 'a byte');
    return this.buffer[this.offset++]!;
  }

  u16(): number {
    this.need(2, 'a 16-bit integer');
    const value = this.buffer.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  s16(): number {
    this.need(2, 'a 16-bit integer');
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  u24(): number {
    this.need(3, 'a 24-bit integer');
    const value = this.buffer.readUIntBE(this.offset, 3);
    this.offset += 3;
    return value;
  }

  u32(): number {
    this.need(4, 'a 32-bit integer');
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  s32(): number {
    this.need(4, 'a 32-bit integer');
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  f64(): number {
    this.need(8, 'a double');
    const value = this.buffer.readDoubleBE(this.offset);
    this.offset += 8;
    return value;
  }

  bytes(count: number, what: string): Buffer {
    this.need(count, what);
    const slice = this.buffer.subarray(this.offset, this.offset + count);
    this.offset += count;
    return slice;
  }

  utf8(count: number, what: string): string {
    this.need(count, what);
    const text = this.buffer.toString('utf8', this.offset, this.offset + count);
    this.offset += count;
    return text;
  }
}

/** A growable output buffer; the encoders write into one and take the bytes at the end. */
export class ByteWriter {
  private buffer: Buffer;
  length = 0;

  constructor(initialSize = 256) {
    this.buffer = Buffer.allocUnsafe(initialSize);
  }

  private reserve(count: number): void {
    const needed = this.length + count;
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  u16(value: number): void {
    this.reserve(2);
    this.buffer.writeUInt16BE(value, this.length);
    this.length += 2;
  }

  s16(value: number): void {
    this.reserve(2);
    this.buffer.writeInt16BE(value, this.length);
    this.length += 2;
  }

  u24(value: number): void {
    this.reserve(3);
    this.buffer.writeUIntBE(value, this.length, 3);
    this.length += 3;
  }

  u32(value: number): void {
    this.reserve(4);
    this.buffer.writeUInt32BE(value >>> 0, this.length);
    this.length += 4;
  }

  u32le(value: number): void {
    this.reserve(4);
    this.buffer.writeUInt32LE(value >>> 0, this.length);
    this.length += 4;
  }

  f64(value: number): void {
    this.reserve(8);
    this.buffer.writeDoubleBE(value, this.length);
    this.length += 8;
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  /** Writes UTF-8 text without a length prefix and returns its byte length. */
  utf8(text: string): number {
    const byteLength = Buffer.byteLength(text, 'utf8');
    this.reserve(byteLength);
    this.buffer.write(text, this.length, byteLength, 'utf8');
    this.length += byteLength;
    return byteLength;
  }

  /** The written bytes, as a copy sized exactly, so the scratch buffer can be dropped. */
  toBuffer(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}

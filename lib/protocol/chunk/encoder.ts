import { ProtocolError } from '../errors';
import { RtmpMessage } from '../message';
import { DEFAULT_CHUNK_SIZE } from './decoder';

const EXTENDED_TIMESTAMP = 0xffffff;
const MESSAGE_HEADER_SIZE = [11, 7, 3, 0] as const;

/** The longest first chunk header without an extended timestamp: a 3-byte basic header and a type-0 message header. */
export const MAX_FIRST_HEADER = 3 + 11;

interface SentHeader {
  timestamp: number;
  length: number;
  typeId: number;
  streamId: number;
  /** Delta that a type-3 header would repeat, or -1 when the last header was type 0. */
  delta: number;
}

function basicHeaderSize(chunkStreamId: number): number {
  if (chunkStreamId < 2 || chunkStreamId > 65599) {
    throw new ProtocolError('ERR_CHUNK_STREAM_ID', `chunk stream id ${chunkStreamId} is outside 2..65599`);
  }
  return chunkStreamId < 64 ? 1 : chunkStreamId < 320 ? 2 : 3;
}

function writeBasicHeader(out: Buffer, at: number, fmt: number, chunkStreamId: number): number {
  if (chunkStreamId < 64) {
    out[at] = (fmt << 6) | chunkStreamId;
    return at + 1;
  }
  if (chunkStreamId < 320) {
    out[at] = fmt << 6;
    out[at + 1] = chunkStreamId - 64;
    return at + 2;
  }
  out[at] = (fmt << 6) | 1;
  out[at + 1] = (chunkStreamId - 64) & 0xff;
  out[at + 2] = (chunkStreamId - 64) >> 8;
  return at + 3;
}

/**
 * Serializes a message into chunks with the given header type. `field` is the
 * timestamp (type 0) or delta (types 1-3) to write.
 */
function serialize(message: RtmpMessage, chunkSize: number, fmt: number, field: number, extended: boolean): Buffer {
  const basic = basicHeaderSize(message.chunkStreamId);
  const length = message.payload.length;
  const chunks = Math.max(1, Math.ceil(length / chunkSize));
  const extendedSize = extended ? 4 : 0;
  const size = basic + MESSAGE_HEADER_SIZE[fmt as 0 | 1 | 2 | 3] + extendedSize + length + (chunks - 1) * (basic + extendedSize);
  const out = Buffer.allocUnsafe(size);
  let p = writeBasicHeader(out, 0, fmt, message.chunkStreamId);
  if (fmt <= 2) {
    out.writeUIntBE(extended ? EXTENDED_TIMESTAMP : field, p, 3);
    p += 3;
    if (fmt <= 1) {
      out.writeUIntBE(length, p, 3);
      out[p + 3] = message.typeId;
      p += 4;
    }
    if (fmt === 0) {
      out.writeUInt32LE(message.streamId >>> 0, p);
      p += 4;
    }
  }
  if (extended) p = out.writeUInt32BE(field >>> 0, p);
  for (let offset = 0; offset < length; offset += chunkSize) {
    if (offset > 0) {
      p = writeBasicHeader(out, p, 3, message.chunkStreamId);
      if (extended) p = out.writeUInt32BE(field >>> 0, p);
    }
    const end = Math.min(offset + chunkSize, length);
    p += message.payload.copy(out, p, offset, end);
  }
  return out;
}

function checkMessage(message: RtmpMessage): void {
  if (message.payload.length > 0xffffff) {
    throw new ProtocolError('ERR_MESSAGE_TOO_LARGE', `a message of ${message.payload.length} bytes does not fit the 24-bit length field`);
  }
}

/**
 * Encodes a message with a type-0 header, independent of any connection's state, so
 * that one buffer can be written unchanged to every peer using the same chunk size.
 * Tell each peer's encoder with `adopt()`.
 */
export function encodeStandalone(message: RtmpMessage, chunkSize: number): Buffer {
  checkMessage(message);
  const timestamp = message.timestamp >>> 0;
  return serialize(message, chunkSize, 0, timestamp, timestamp >= EXTENDED_TIMESTAMP);
}

/**
 * The chunks of a payload after its first chunk header: the payload with type-3
 * continuation headers between chunks. It depends only on (chunk size, chunk
 * stream), so it is built once and written to every peer; each peer adds its own
 * first header from `ChunkEncoder.encodeHeader`. A payload that fits one chunk is
 * returned as is, without a copy.
 */
export function encodeChunkBody(payload: Buffer, chunkSize: number, chunkStreamId: number): Buffer {
  if (payload.length <= chunkSize) return payload;
  const out = Buffer.allocUnsafe(chunkBodyLength(payload.length, chunkSize, chunkStreamId));
  writeChunkBody(payload, chunkSize, chunkStreamId, out, 0);
  return out;
}

/** The length of `encodeChunkBody`'s result: the payload and a type 3 basic header before every chunk after the first. */
export function chunkBodyLength(length: number, chunkSize: number, chunkStreamId: number): number {
  return length <= chunkSize ? length : length + (Math.ceil(length / chunkSize) - 1) * basicHeaderSize(chunkStreamId);
}

/** `encodeChunkBody` into `out` at `at` (with `chunkBodyLength` bytes of room); returns where it ends. */
export function writeChunkBody(payload: Buffer, chunkSize: number, chunkStreamId: number, out: Buffer, at: number): number {
  let p = at;
  for (let offset = 0; offset < payload.length; offset += chunkSize) {
    if (offset > 0) p = writeBasicHeader(out, p, 3, chunkStreamId);
    p += payload.copy(out, p, offset, Math.min(offset + chunkSize, payload.length));
  }
  return p;
}

/**
 * A payload cut at every `chunkSize` bytes, as views on it: what `writeChunkPieces` copies.
 * Node's ranged `Buffer#copy` makes a view object per call, so a fan-out that cut each
 * payload for every player made one per chunk per player; cut once, the views are shared.
 */
export function chunkPieces(payload: Buffer, chunkSize: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < payload.length; offset += chunkSize) pieces.push(payload.subarray(offset, Math.min(offset + chunkSize, payload.length)));
  return pieces;
}

/** `writeChunkBody` from a payload's `chunkPieces`: each piece is copied whole, which makes no object. */
export function writeChunkPieces(pieces: readonly Buffer[], chunkStreamId: number, out: Buffer, at: number): number {
  let p = at;
  for (let i = 0; i < pieces.length; i++) {
    if (i > 0) p = writeBasicHeader(out, p, 3, chunkStreamId);
    p += pieces[i]!.copy(out, p);
  }
  return p;
}

/**
 * Serializes outgoing messages for one peer, choosing for each the smallest header
 * that the peer can decode unambiguously.
 */
export class ChunkEncoder {
  /** Our outgoing chunk size; change it only right after sending Set Chunk Size. */
  chunkSize = DEFAULT_CHUNK_SIZE;
  private readonly sent = new Map<number, SentHeader>();

  encode(message: RtmpMessage): Buffer {
    checkMessage(message);
    const length = message.payload.length;
    const fmt = this.chooseHeader(message, length);
    const field = this.field;
    const bytes = serialize(message, this.chunkSize, fmt, field, field >= EXTENDED_TIMESTAMP);
    this.remember(message, length, fmt, field);
    return bytes;
  }

  /**
   * Only the first chunk header for a message whose body comes from `encodeChunkBody`.
   * Returns undefined when the header would need an extended timestamp, because
   * continuation chunks then repeat it and a shared body cannot: use `encode` then.
   */
  encodeHeader(message: Omit<RtmpMessage, 'payload'>, length: number): Buffer | undefined {
    const out = Buffer.allocUnsafe(MAX_FIRST_HEADER);
    const end = this.writeHeader(message, length, out, 0);
    return end < 0 ? undefined : out.subarray(0, end);
  }

  /**
   * `encodeHeader` into `out` at `at`, which needs `MAX_FIRST_HEADER` bytes of room;
   * returns where the header ends, or -1 (nothing written) when it would need an
   * extended timestamp. It runs once per message per player, so it allocates nothing.
   */
  writeHeader(message: Omit<RtmpMessage, 'payload'>, length: number, out: Buffer, at: number): number {
    const fmt = this.chooseHeader(message, length);
    const field = this.field;
    if (field >= EXTENDED_TIMESTAMP) return -1;
    basicHeaderSize(message.chunkStreamId); // throws on an id outside 2..65599
    let p = writeBasicHeader(out, at, fmt, message.chunkStreamId);
    if (fmt <= 2) {
      out.writeUIntBE(field, p, 3);
      p += 3;
      if (fmt <= 1) {
        out.writeUIntBE(length, p, 3);
        out[p + 3] = message.typeId;
        p += 4;
      }
      if (fmt === 0) {
        out.writeUInt32LE(message.streamId >>> 0, p);
        p += 4;
      }
    }
    this.remember(message, length, fmt, field);
    return p;
  }

  /** The timestamp field of the header `chooseHeader` picked last (absolute for type 0, else the delta). */
  private field = 0;

  private chooseHeader(message: Omit<RtmpMessage, 'payload'>, length: number): number {
    const timestamp = message.timestamp >>> 0;
    const previous = this.sent.get(message.chunkStreamId);
    const delta = previous === undefined ? 0 : (timestamp - previous.timestamp) >>> 0;
    let fmt: number;
    if (previous === undefined || previous.streamId !== message.streamId || delta >= 0x80000000) {
      // A new stream id, or time running backwards, needs an absolute timestamp.
      fmt = 0;
    } else if (previous.length !== length || previous.typeId !== message.typeId) {
      fmt = 1;
    } else if (previous.delta === delta) {
      // Only after a type 1/2 header: readers disagree on what type 3 repeats after type 0.
      fmt = 3;
    } else {
      fmt = 2;
    }
    this.field = fmt === 0 ? timestamp : delta;
    return fmt;
  }

  private remember(message: Omit<RtmpMessage, 'payload'>, length: number, fmt: number, field: number): void {
    const sent = this.sent.get(message.chunkStreamId);
    const delta = fmt === 0 ? -1 : field;
    if (sent === undefined) {
      this.sent.set(message.chunkStreamId, { timestamp: message.timestamp >>> 0, length, typeId: message.typeId, streamId: message.streamId, delta });
      return;
    }
    sent.timestamp = message.timestamp >>> 0;
    sent.length = length;
    sent.typeId = message.typeId;
    sent.streamId = message.streamId;
    sent.delta = delta;
  }

  /** Records that `message` went out through `encodeStandalone`, so later headers are relative to it. */
  adopt(message: RtmpMessage): void {
    const timestamp = message.timestamp >>> 0;
    this.sent.set(message.chunkStreamId, { timestamp, length: message.payload.length, typeId: message.typeId, streamId: message.streamId, delta: -1 });
  }
}

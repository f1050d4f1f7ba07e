import { ProtocolError } from '../errors';
import { MessageType, RtmpMessage } from '../message';

export interface ChunkDecoderLimits {
  /** Largest message accepted; the 24-bit length field allows just under 16 MiB. */
  maxMessageSize: number;
  /** Largest total of partially received message bytes across all chunk streams. */
  maxPendingBytes: number;
  /** Chunk streams one peer may use: each keeps a header state for the connection's life. */
  maxChunkStreams: number;
}

export const defaultChunkDecoderLimits: ChunkDecoderLimits = {
  maxMessageSize: 16 * 1024 * 1024,
  maxPendingBytes: 32 * 1024 * 1024,
  // ffmpeg, OBS and librtmp use under ten; 65599 ids exist, each a state kept for good.
  maxChunkStreams: 64,
};

export const DEFAULT_CHUNK_SIZE = 128;
const EXTENDED_TIMESTAMP = 0xffffff;
/** 3-byte basic header + 11-byte type-0 header + 4-byte extended timestamp. */
const MAX_HEADER_SIZE = 18;
const MESSAGE_HEADER_SIZE = [11, 7, 3, 0] as const;

/** What the decoder remembers per chunk stream, as the header compression requires. */
interface ChunkStream {
  readonly id: number;
  timestamp: number;
  /** Delta that a type-3 header starting a new message repeats; 0 after a type-0 header. */
  delta: number;
  length: number;
  typeId: number;
  streamId: number;
  /** Whether the last type 0/1/2 header used the extended timestamp field. */
  extended: boolean;
  /** Pieces of the message being reassembled (views on the input, copied once at the end). */
  pieces: Buffer[];
  received: number;
}

/**
 * Turns the peer's byte stream (after the handshake) into whole messages. It is fed
 * whatever the transport delivers, in any split; it applies Set Chunk Size and Abort
 * itself because they change how the very next bytes are read.
 */
export class ChunkDecoder {
  /** The peer's outgoing chunk size, which is our incoming one. */
  chunkSize = DEFAULT_CHUNK_SIZE;
  /** Every byte fed so far, for acknowledgements (the session wraps it to 32 bits). */
  bytesReceived = 0;

  private readonly streams = new Map<number, ChunkStream>();
  private readonly limits: ChunkDecoderLimits;
  /** Bytes of a header that straddled two inputs. */
  private stash: Buffer | undefined;
  /** Chunk stream whose chunk payload is being read, and how much of that chunk is left. */
  private current: ChunkStream | undefined;
  private chunkRemaining = 0;
  private pendingBytes = 0;

  constructor(
    private readonly onMessage: (message: RtmpMessage) => void,
    limits: Partial<ChunkDecoderLimits> = {},
  ) {
    this.limits = { ...defaultChunkDecoderLimits, ...limits };
  }

  push(data: Buffer): void {
    this.bytesReceived += data.length;
    let offset = 0;
    while (offset < data.length) {
      if (this.chunkRemaining > 0) {
        offset = this.readPayload(data, offset);
        continue;
      }
      if (this.stash === undefined) {
        const used = this.readHeader(data, offset);
        if (used < 0) {
          this.stash = Buffer.from(data.subarray(offset));
          return;
        }
        offset += used;
      } else {
        // Only the few bytes a header can need are joined, never the whole input.
        const joined = Buffer.concat([this.stash, data.subarray(offset, offset + MAX_HEADER_SIZE)]);
        const used = this.readHeader(joined, 0);
        if (used < 0) {
          this.stash = joined;
          return;
        }
        offset += used - this.stash.length;
        this.stash = undefined;
      }
    }
  }

  /** Parses one chunk header at `at`; returns its size, or -1 when more bytes are needed. */
  private readHeader(buf: Buffer, at: number): number {
    const available = buf.length - at;
    const first = buf[at]!;
    const fmt = first >> 6;
    let id = first & 0x3f;
    let p = at + 1;
    if (id === 0) {
      if (available < 2) return -1;
      id = buf[p]! + 64;
      p += 1;
    } else if (id === 1) {
      if (available < 3) return -1;
      id = buf[p + 1]! * 256 + buf[p]! + 64;
      p += 2;
    }
    const headerSize = MESSAGE_HEADER_SIZE[fmt as 0 | 1 | 2 | 3];
    if (buf.length - p < headerSize) return -1;

    let stream = this.streams.get(id);
    if (stream === undefined) {
      if (fmt !== 0) {
        throw new ProtocolError('ERR_CHUNK_NO_PREVIOUS_HEADER', `chunk stream ${id} starts with a type-${fmt} header; the first must be type 0`);
      }
      stream = { id, timestamp: 0, delta: 0, length: 0, typeId: 0, streamId: 0, extended: false, pieces: [], received: 0 };
    } else if (fmt !== 3 && stream.received > 0) {
      throw new ProtocolError('ERR_CHUNK_INTERRUPTED', `chunk stream ${id} got a type-${fmt} header in the middle of a message`);
    }

    let field = 0;
    let length = stream.length;
    let typeId = stream.typeId;
    let streamId = stream.streamId;
    if (fmt <= 2) {
      field = buf.readUIntBE(p, 3);
      if (fmt <= 1) {
        length = buf.readUIntBE(p + 3, 3);
        typeId = buf[p + 6]!;
      }
      if (fmt === 0) streamId = buf.readUInt32LE(p + 7);
    }
    p += headerSize;
    const extended = fmt === 3 ? stream.extended : field === EXTENDED_TIMESTAMP;
    if (extended) {
      if (buf.length - p < 4) return -1;
      // A type-3 chunk repeats the extended field; it carries no new information.
      if (fmt !== 3) field = buf.readUInt32BE(p);
      p += 4;
    }

    // Nothing is changed before this point, so a header that needs more bytes can be re-read.
    if (!this.streams.has(id)) {
      if (this.streams.size >= this.limits.maxChunkStreams) {
        throw new ProtocolError('ERR_CHUNK_STREAM_ID', `chunk stream ${id} would be the ${this.streams.size + 1}th in use (at most ${this.limits.maxChunkStreams})`);
      }
      this.streams.set(id, stream);
    }
    if (fmt !== 3) stream.extended = extended;
    if (stream.received === 0) {
      if (length > this.limits.maxMessageSize) {
        throw new ProtocolError('ERR_MESSAGE_TOO_LARGE', `message of ${length} bytes on chunk stream ${id} exceeds the limit of ${this.limits.maxMessageSize}`);
      }
      if (fmt === 0) {
        stream.timestamp = field;
        stream.delta = 0;
      } else {
        if (fmt !== 3) stream.delta = field;
        stream.timestamp = (stream.timestamp + stream.delta) >>> 0;
      }
      stream.length = length;
      stream.typeId = typeId;
      stream.streamId = streamId;
    }
    this.current = stream;
    this.chunkRemaining = Math.min(this.chunkSize, stream.length - stream.received);
    if (stream.length === 0) this.complete(stream, Buffer.alloc(0));
    return p - at;
  }

  private readPayload(data: Buffer, offset: number): number {
    const stream = this.current!;
    const take = Math.min(this.chunkRemaining, data.length - offset);
    const end = offset + take;
    this.chunkRemaining -= take;
    if (stream.received === 0 && take === stream.length) {
      // The whole message sits in this input: hand out a view, no copy.
      this.complete(stream, data.subarray(offset, end));
      return end;
    }
    this.pendingBytes += take;
    if (this.pendingBytes > this.limits.maxPendingBytes) {
      throw new ProtocolError('ERR_MESSAGE_TOO_LARGE', `more than ${this.limits.maxPendingBytes} bytes of incomplete messages are buffered`);
    }
    stream.pieces.push(data.subarray(offset, end));
    stream.received += take;
    if (stream.received === stream.length) {
      this.pendingBytes -= stream.received;
      const payload = stream.pieces.length === 1 ? stream.pieces[0]! : Buffer.concat(stream.pieces, stream.length);
      this.complete(stream, payload);
    }
    return end;
  }

  private complete(stream: ChunkStream, payload: Buffer): void {
    stream.pieces = [];
    stream.received = 0;
    const message: RtmpMessage = {
      chunkStreamId: stream.id,
      timestamp: stream.timestamp,
      typeId: stream.typeId,
      streamId: stream.streamId,
      payload,
    };
    if (message.typeId === MessageType.SetChunkSize) this.chunkSize = readChunkSize(payload);
    else if (message.typeId === MessageType.Abort) this.abort(readU32(payload, 'Abort'));
    this.onMessage(message);
  }

  private abort(id: number): void {
    const stream = this.streams.get(id);
    if (stream === undefined || stream.received === 0) return;
    this.pendingBytes -= stream.received;
    stream.pieces = [];
    stream.received = 0;
    if (this.current === stream) this.chunkRemaining = 0;
  }
}

function readU32(payload: Buffer, what: string): number {
  if (payload.length < 4) {
    throw new ProtocolError('ERR_CONTROL_MESSAGE', `${what} message has ${payload.length} bytes; it needs 4`);
  }
  return payload.readUInt32BE(0);
}

/** Validates a Set Chunk Size body: 1..0x7FFFFFFF, the top bit reserved. */
export function readChunkSize(payload: Buffer): number {
  const size = readU32(payload, 'Set Chunk Size');
  if (size & 0x80000000) throw new ProtocolError('ERR_CHUNK_SIZE', `chunk size 0x${size.toString(16)} has the reserved top bit set`);
  if (size === 0) throw new ProtocolError('ERR_CHUNK_SIZE', 'chunk size 0 is invalid');
  return size;
}

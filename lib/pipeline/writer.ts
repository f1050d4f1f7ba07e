import type { Duplex } from 'node:stream';
import { ChunkEncoder, encodeChunkBody } from '../protocol/chunk/encoder';

/** Payloads up to this size are copied next to their header rather than written separately. */
const SMALL_MESSAGE = 1024;
import { encodeControl } from '../protocol/control';
import { RtmpMessage } from '../protocol/message';

/** Corked bytes after which a writer flushes without waiting for the end of the turn. */
const FLUSH_BYTES = 64 * 1024;

/** Writers corked during this turn; one callback uncorks them all, rather than one per player. */
const corkedWriters = new Set<MessageWriter>();
let flushScheduled = false;

function uncorkAll(): void {
  flushScheduled = false;
  for (const writer of corkedWriters) writer.uncork();
  corkedWriters.clear();
}

function uncorkSoon(writer: MessageWriter): void {
  corkedWriters.add(writer);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(uncorkAll);
  }
}

/**
 * The outgoing half of a connection: chunk-encodes messages and writes them to the
 * transport. Writes within one turn of the event loop are corked together (up to
 * FLUSH_BYTES), so a burst (a reply and its status messages, or every media message
 * that arrived in this turn) leaves as one writev, as nginx-rtmp sends a player's
 * queued chain at once.
 */
export class MessageWriter {
  bytesSent = 0;
  messagesSent = 0;
  private readonly encoder = new ChunkEncoder();
  private corked = false;
  private corkedBytes = 0;

  constructor(private readonly transport: Duplex) {}

  get chunkSize(): number {
    return this.encoder.chunkSize;
  }

  /**
   * Bytes from earlier turns that the operating system has not taken yet: the
   * peer's backlog. What was written in this turn (still corked) is not backlog.
   */
  get queuedBytes(): number {
    return Math.max(0, this.transport.writableLength - this.corkedBytes);
  }

  get writable(): boolean {
    return this.transport.writable && !this.transport.destroyed;
  }

  send(message: RtmpMessage): boolean {
    return this.writeRaw(this.encoder.encode(message), 1);
  }

  /** Writes bytes encoded elsewhere with `encodeStandalone`, shared between peers. */
  sendEncoded(bytes: Buffer, message: RtmpMessage): boolean {
    this.encoder.adopt(message);
    return this.writeRaw(bytes, 1);
  }

  /**
   * Sends a message whose chunk body is shared with other peers: only the first
   * chunk header is ours. `bodies` caches the shared bytes by chunk size and chunk
   * stream, so the first peer to need a layout builds it and the rest reuse it.
   */
  sendShared(header: Omit<RtmpMessage, 'payload'>, payload: Buffer, bodies: Map<string, Buffer>): boolean {
    const first = this.encoder.encodeHeader(header, payload.length);
    if (first === undefined) return this.send({ ...header, payload });
    const chunkSize = this.encoder.chunkSize;
    if (payload.length <= SMALL_MESSAGE && payload.length <= chunkSize) {
      // Copying a small payload beside its header costs less than a second write.
      const joined = Buffer.allocUnsafe(first.length + payload.length);
      first.copy(joined, 0);
      payload.copy(joined, first.length);
      return this.writeRaw(joined, 1);
    }
    const key = `${chunkSize}:${header.chunkStreamId}`;
    let body = bodies.get(key);
    if (body === undefined) {
      body = encodeChunkBody(payload, chunkSize, header.chunkStreamId);
      bodies.set(key, body);
    }
    this.writeRaw(first);
    return this.writeRaw(body, 1);
  }

  /** Sends Set Chunk Size and switches to the new size for everything after it. */
  setChunkSize(size: number): void {
    this.send(encodeControl({ kind: 'setChunkSize', size }));
    this.encoder.chunkSize = size;
  }

  /** @internal ends this tick's batch: everything written since leaves in one writev. */
  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.corkedBytes = 0;
    this.transport.uncork();
  }

  writeRaw(bytes: Buffer, messages = 0): boolean {
    if (!this.writable) return false;
    if (!this.corked) {
      this.corked = true;
      this.transport.cork();
      uncorkSoon(this);
    }
    this.corkedBytes += bytes.length;
    this.bytesSent += bytes.length;
    this.messagesSent += messages;
    const accepted = this.transport.write(bytes);
    // A turn that carries a burst flushes early, so a peer's unsent backlog is never hidden for long.
    if (this.corkedBytes >= FLUSH_BYTES) this.uncork();
    return accepted;
  }
}

import type { Duplex } from 'node:stream';
import { ChunkEncoder, encodeChunkBody } from '../protocol/chunk/encoder';

/** Payloads up to this size are copied next to their header rather than written separately. */
const SMALL_MESSAGE = 1024;
import { encodeControl } from '../protocol/control';
import { RtmpMessage } from '../protocol/message';

/** Writers corked during this tick; one callback uncorks them all, rather than one per player. */
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
    process.nextTick(uncorkAll);
  }
}

/**
 * The outgoing half of a connection: chunk-encodes messages and writes them to the
 * transport. Writes within one tick are corked together, so a burst (a reply plus
 * its status messages, or one media message to many players) leaves as one write.
 */
export class MessageWriter {
  bytesSent = 0;
  messagesSent = 0;
  private readonly encoder = new ChunkEncoder();
  private corked = false;

  constructor(private readonly transport: Duplex) {}

  get chunkSize(): number {
    return this.encoder.chunkSize;
  }

  /** Bytes accepted by `write` but not yet handed to the operating system. */
  get queuedBytes(): number {
    return this.transport.writableLength;
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
    this.corked = false;
    this.transport.uncork();
  }

  writeRaw(bytes: Buffer, messages = 0): boolean {
    if (!this.writable) return false;
    if (!this.corked) {
      this.corked = true;
      this.transport.cork();
      uncorkSoon(this);
    }
    this.bytesSent += bytes.length;
    this.messagesSent += messages;
    return this.transport.write(bytes);
  }
}

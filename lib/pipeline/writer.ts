import type { Duplex } from 'node:stream';
import { ChunkEncoder, encodeChunkBody } from '../protocol/chunk/encoder';
import { encodeControl } from '../protocol/control';
import { RtmpMessage } from '../protocol/message';

/** Payloads up to this size are copied next to their header rather than written separately. */
const SMALL_MESSAGE = 1024;

const NOTHING = Buffer.alloc(0);

/** Which flush a writer with pending bytes is waiting for. */
const enum Scheduled {
  None,
  Tick,
  Turn,
}

/** Chunk stream ids run from 2 to 65599: a body's key is chunkSize × this + chunk stream id. */
const CHUNK_STREAM_IDS = 65_600;

/** Chunk bodies shared between the players of one message, by chunk size and chunk stream. */
export type SharedBodies = Map<number, Buffer>;

/** Pending bytes after which a writer flushes at once rather than waiting. */
const FLUSH_BYTES = 64 * 1024;

/**
 * Writers that must flush at one moment: the end of this event-loop turn (delay 0) or
 * the next media tick. One callback flushes them all, rather than a timer per peer.
 */
class FlushGroup {
  private writers = new Set<MessageWriter>();
  private scheduled = false;

  constructor(private readonly delayMs: number) {}

  add(writer: MessageWriter): void {
    this.writers.add(writer);
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.delayMs === 0) setImmediate(this.flushAll);
    else setTimeout(this.flushAll, this.delayMs);
  }

  private readonly flushAll = (): void => {
    this.scheduled = false;
    // A flush may queue more (a write callback that writes): that lands in the next batch.
    const writers = this.writers;
    this.writers = new Set();
    for (const writer of writers) {
      try {
        writer.flush();
      } catch (error) {
        // One broken transport must not keep the others' bytes back, nor throw out of a timer.
        writer.abort(error);
      }
    }
  };
}

const flushGroups = new Map<number, FlushGroup>();

/**
 * Media messages this process sends per second, over the last second or so. Batching
 * pays only when there are many (a fan-out); a handful of players keep per-turn
 * writes and their latency. Counting messages, not writes, keeps batching from
 * switching itself off.
 */
const mediaRate = { count: 0, since: 0, perSecond: 0 };

function mediaPerSecond(now: number): number {
  const elapsed = now - mediaRate.since;
  if (elapsed >= 1_000) {
    mediaRate.perSecond = elapsed < 2_000 ? (mediaRate.count * 1_000) / elapsed : 0;
    mediaRate.count = 0;
    mediaRate.since = now;
  }
  return mediaRate.perSecond;
}

function flushGroup(delayMs: number): FlushGroup {
  let group = flushGroups.get(delayMs);
  if (group === undefined) {
    group = new FlushGroup(delayMs);
    flushGroups.set(delayMs, group);
  }
  return group;
}

export interface MessageWriterOptions {
  /**
   * How long media may wait for later media to the same peer so that both leave in one
   * system call (ms), once the process sends `mediaBatchFrom` media messages a second
   * or more. 0, or a quieter process, sends each turn's media at the end of that turn.
   * Anything else (commands, control, status) always leaves at the end of the turn,
   * and so does the first media after a pause of this long, so a new player's first
   * frame is never held back.
   */
  mediaFlushMs?: number;
  /** Media messages per second, process-wide, from which media waits up to `mediaFlushMs`. */
  mediaBatchFrom?: number;
}

/**
 * The outgoing half of a connection: chunk-encodes messages and writes them to the
 * transport. Bytes are gathered in a queue of our own and handed over in one write:
 * commands and control at the end of the event-loop turn, media at the next media
 * tick. Fan-out cost is dominated by system calls, so fewer and larger writes are
 * what keeps a busy server cheap (see the README's figures).
 */
export class MessageWriter {
  bytesSent = 0;
  messagesSent = 0;
  private readonly encoder = new ChunkEncoder();
  private readonly pending: Buffer[] = [];
  private pendingCount = 0;
  private pendingBytes = 0;
  private lastFlushAt = -Infinity;
  private scheduled = Scheduled.None;
  private readonly mediaFlushMs: number;
  private readonly mediaBatchFrom: number;
  private readonly turn = flushGroup(0);
  private readonly tick: FlushGroup;

  constructor(
    private readonly transport: Duplex,
    options: MessageWriterOptions = {},
  ) {
    this.mediaFlushMs = Math.max(0, options.mediaFlushMs ?? 0);
    this.mediaBatchFrom = options.mediaBatchFrom ?? 0;
    this.tick = flushGroup(this.mediaFlushMs);
  }

  get chunkSize(): number {
    return this.encoder.chunkSize;
  }

  /**
   * Bytes handed to the transport that the operating system has not taken yet: the
   * peer's backlog. What waits in our own queue for its flush is not backlog.
   */
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
   * Sends media whose chunk body is shared with other peers: only the first chunk
   * header is ours. `bodies` caches the shared bytes by chunk size and chunk stream,
   * so the first peer to need a layout builds it and the rest reuse it.
   */
  sendShared(header: Omit<RtmpMessage, 'payload'>, payload: Buffer, bodies: SharedBodies): boolean {
    const chunkSize = this.encoder.chunkSize;
    // Copying a small payload in beside its header costs less than one more buffer to write.
    const inline = payload.length <= SMALL_MESSAGE && payload.length <= chunkSize;
    const first = this.encoder.encodeHeader(header, payload.length, inline ? payload : undefined);
    if (first === undefined) return this.writeMedia(this.encoder.encode({ ...header, payload }), 1);
    if (inline) return this.writeMedia(first, 1);
    const key = chunkSize * CHUNK_STREAM_IDS + header.chunkStreamId;
    let body = bodies.get(key);
    if (body === undefined) {
      body = encodeChunkBody(payload, chunkSize, header.chunkStreamId);
      bodies.set(key, body);
    }
    this.enqueue(first, 0);
    return this.writeMedia(body, 1);
  }

  /** Sends Set Chunk Size and switches to the new size for everything after it. */
  setChunkSize(size: number): void {
    this.send(encodeControl({ kind: 'setChunkSize', size }));
    this.encoder.chunkSize = size;
  }

  /** Writes bytes at the end of this turn, after everything queued before them. */
  writeRaw(bytes: Buffer, messages = 0): boolean {
    if (!this.enqueue(bytes, messages)) return false;
    if (this.pendingBytes >= FLUSH_BYTES) {
      this.flush();
    } else if (this.scheduled !== Scheduled.Turn) {
      this.scheduled = Scheduled.Turn;
      this.turn.add(this);
    }
    return this.belowHighWater();
  }

  /** Flushes what is queued, then ends the transport. */
  end(): void {
    this.flush();
    this.transport.end();
  }

  /** @internal drops what is queued and destroys the transport with `error`; its close handlers log why. */
  abort(error: unknown): void {
    for (let i = 0; i < this.pendingCount; i++) this.pending[i] = NOTHING;
    this.pendingCount = 0;
    this.pendingBytes = 0;
    this.scheduled = Scheduled.None;
    this.transport.destroy(error instanceof Error ? error : new Error(String(error)));
  }

  /** @internal hands everything queued to the transport in one write. */
  flush(): void {
    const count = this.pendingCount;
    if (count === 0) return;
    const pending = this.pending;
    this.pendingCount = 0;
    this.pendingBytes = 0;
    this.scheduled = Scheduled.None;
    this.lastFlushAt = performance.now();
    if (this.writable) {
      if (count === 1) this.transport.write(pending[0]!);
      else this.writeBatch(pending, count);
    }
    // The array keeps its capacity for the next batch; the buffers are let go.
    for (let i = 0; i < count; i++) pending[i] = NOTHING;
  }

  private writeBatch(pending: Buffer[], count: number): void {
    // Corked, the stream hands the batch to the socket in one writev.
    this.transport.cork();
    for (let i = 0; i < count; i++) this.transport.write(pending[i]!);
    this.transport.uncork();
  }

  private writeMedia(bytes: Buffer, messages: number): boolean {
    if (!this.enqueue(bytes, messages)) return false;
    mediaRate.count += messages;
    if (this.pendingBytes >= FLUSH_BYTES) {
      this.flush();
    } else if (this.scheduled === Scheduled.None) {
      // Decided once per batch: the clock and the set are not touched for every message.
      const at = performance.now();
      const now = this.mediaFlushMs === 0 || at - this.lastFlushAt >= this.mediaFlushMs || mediaPerSecond(at) < this.mediaBatchFrom;
      this.scheduled = now ? Scheduled.Turn : Scheduled.Tick;
      (now ? this.turn : this.tick).add(this);
    }
    return this.belowHighWater();
  }

  private enqueue(bytes: Buffer, messages: number): boolean {
    if (!this.writable) return false;
    this.pending[this.pendingCount++] = bytes;
    this.pendingBytes += bytes.length;
    this.bytesSent += bytes.length;
    this.messagesSent += messages;
    return true;
  }

  private belowHighWater(): boolean {
    return this.transport.writableLength + this.pendingBytes < this.transport.writableHighWaterMark;
  }
}

import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { ChunkEncoder, MAX_FIRST_HEADER } from '../protocol/chunk/encoder';
import { bodyKey, chunkedLength, SharedBodies, sharedBody, writeChunked } from './bodies';
import { encodeControl } from '../protocol/control';
import { RtmpMessage } from '../protocol/message';
import { Flushable, MediaBatch, TurnFlush } from './media-tick';

/** Arena ranges up to this size (chunk headers) are copied byte by byte. */
const SMALL_RANGE = 64;

/**
 * A writer's first room for chunk headers; it doubles when a batch needs more. A player's
 * steady batch (a media tick's 5–10 messages, up to 14 header bytes each) fits; every
 * player holds one between batches, so it is kept small.
 */
export const FIRST_ARENA = 256;

/** An arena larger than this is given up after a batch that used less than an eighth of it. */
const ARENA_KEPT = 4 * 1024;

/** Pending lists longer than this are given up after a batch that used less than an eighth of them. */
const LIST_KEPT = 32;

const FIRST_SCRATCH = 64 * 1024;

/** Pieces of a batch up to this size are copied together; larger ones are written as they are. */
const GATHER_UP_TO = 8 * 1024;

/** A batch up to this size is copied whole into the scratch when the socket has no backlog. */
const COPY_ALL_UP_TO = 256 * 1024;

/** The batch buffer shared by every writer is kept up to this size; a larger batch gets a buffer of its own. */
const SCRATCH_MAX = 1024 * 1024;

/**
 * Where flushes gather their batch before the one write: shared by every writer,
 * since flushes run one after another. A write that the socket takes whole at once
 * leaves it free for the next flush; one the socket holds on to keeps it, and the
 * next flush takes a new one.
 */
let scratch = Buffer.allocUnsafeSlow(FIRST_SCRATCH);

/**
 * A pending payload still to be cut into chunks: cut as it is copied into the batch, it
 * needs no body of its own; one is built (and shared) only for a flush that writes it
 * as a buffer. Only the first player of a packet meets it (the rest find the body the
 * first one's flush built), so it costs an object there and no list anywhere.
 */
class Uncut {
  constructor(
    readonly payload: Buffer,
    readonly bodies: SharedBodies,
    readonly key: number,
    /** Its bytes on the wire: the payload and its chunk headers. */
    readonly length: number,
  ) {}
}

/** Which flush a writer with pending bytes is waiting for. */
const enum Scheduled {
  None,
  Tick,
  Turn,
}

/** Queued bytes (ours and the transport's) from which `send` answers false: Node's default high-water mark. */
const HIGH_WATER = 16 * 1024;

/** Pending bytes after which a writer flushes at once rather than waiting. */
const FLUSH_BYTES = 64 * 1024;

const turnFlush = new TurnFlush();

/**
 * The outgoing half of a connection: chunk-encodes messages and writes them to the
 * transport. Bytes are gathered in a queue of our own and handed over in one write:
 * commands and control at the end of the event-loop turn, and so media, unless the
 * stream it belongs to batches (`MediaBatch`, a fan-out): then it waits for that
 * stream's tick. Fan-out cost is dominated by system calls, so fewer and larger writes are
 * what keeps a busy server cheap (see the README's figures).
 */
export class MessageWriter implements Flushable {
  bytesSent = 0;
  messagesSent = 0;
  private readonly encoder = new ChunkEncoder();
  /**
   * What the next flush writes, in order: buffers, payloads still to be cut, and numbers
   * that stand for that many bytes of the arena.
   */
  private pending: (Buffer | Uncut | number)[] = [];
  private pendingCount = 0;
  private pendingBytes = 0;
  /** Headers and small payloads, written here as they come so that a message costs no buffer of its own. */
  private arena: Buffer | undefined;
  private arenaUsed = 0;
  /** Only a plain socket is known to be done with a buffer once a write returns with nothing queued. */
  private readonly reusesScratch: boolean;
  private lastFlushAt = -Infinity;
  private scheduled = Scheduled.None;
  /** The batch whose tick this writer waits for, while `scheduled` is `Tick`. */
  private waitingOn: MediaBatch | undefined;
  private readonly turn = turnFlush;

  constructor(private readonly transport: Duplex) {
    this.reusesScratch = transport instanceof Socket && !(transport instanceof TLSSocket);
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

  /** @internal bytes of the writer's own arena for headers and small payloads (what it holds between batches). */
  get arenaBytes(): number {
    return this.arena?.length ?? 0;
  }

  /** @internal entries the pending list has room for (what it holds between batches). */
  get listRoom(): number {
    return this.pending.length;
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
   * so the first peer to need a layout builds it and the rest reuse it. `batch` is the
   * stream's, when it has one: while it batches, the message may wait for its tick.
   */
  sendShared(header: Omit<RtmpMessage, 'payload'>, payload: Buffer, bodies: SharedBodies, batch?: MediaBatch): boolean {
    if (!this.writable) return false;
    const chunkSize = this.encoder.chunkSize;
    const arena = this.arenaWithRoom(MAX_FIRST_HEADER);
    const start = this.arenaUsed;
    const end = this.encoder.writeHeader(header, payload.length, arena, start);
    if (end < 0) return this.writeMedia(this.encoder.encode({ ...header, payload }), batch);
    this.enqueueArena(end - start);
    // A payload that fits one chunk is its own body; the flush copies it in beside its header.
    if (payload.length <= chunkSize) return this.writeMedia(payload, batch);
    const key = bodyKey(chunkSize, header.chunkStreamId);
    const body = bodies.get(key);
    if (body !== undefined) return this.writeMedia(body, batch);
    // Not built yet: the flush cuts the payload into the batch as it copies it. A body
    // built here would live as long as the packet (the GOP cache: seconds), and only
    // a garbage collection of the old generation gives its memory back.
    if (!this.enqueueSized(new Uncut(payload, bodies, key, chunkedLength(payload.length, key)))) return false;
    return this.mediaQueued(batch);
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
      this.waitingOn = undefined;
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
    this.clearPending(this.pendingCount);
    this.scheduled = Scheduled.None;
    this.waitingOn = undefined;
    this.transport.destroy(error instanceof Error ? error : new Error(String(error)));
  }

  /** @internal hands everything queued to the transport in one write. */
  flush(): void {
    const count = this.pendingCount;
    if (count === 0) return;
    const total = this.pendingBytes;
    this.scheduled = Scheduled.None;
    this.waitingOn = undefined;
    this.lastFlushAt = performance.now();
    if (this.writable) {
      const only = this.pending[0]!;
      if (count === 1 && typeof only !== 'number' && !(only instanceof Uncut)) this.transport.write(only);
      else this.writeGathered(count, total);
    }
    this.clearPending(count);
  }

  /**
   * Gathers the batch into as few buffers as it can and writes those: a write call
   * per piece was where a fan-out's time went (Node's per-write bookkeeping). While
   * the socket takes each write whole, a batch of up to `COPY_ALL_UP_TO` is copied
   * whole into the shared scratch and written in one call, with no cork, no writev
   * and none of the objects Node makes for them: a copy of bytes the kernel copies
   * anyway. Otherwise pieces up to `GATHER_UP_TO` are copied together and larger ones
   * (key frames, bodies shared with other players) are written as they are.
   */
  private writeGathered(count: number, total: number): void {
    const transport = this.transport;
    const pending = this.pending;
    // A peer with a backlog keeps what it is given for a while: that gets a buffer of its own, of the right size.
    const reusable = this.reusesScratch && transport.writableLength === 0;
    const copyUpTo = reusable && total <= COPY_ALL_UP_TO ? total : GATHER_UP_TO;
    let gathered = total;
    if (copyUpTo < total) {
      for (let i = 0; i < count; i++) {
        const piece = pending[i]!;
        if (typeof piece !== 'number') {
          const length = piece.length;
          if (length > copyUpTo) gathered -= length;
        }
      }
    }
    const shared = reusable && gathered <= SCRATCH_MAX;
    if (shared && scratch.length < gathered) scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.max(gathered, scratch.length * 2)));
    const out = shared ? scratch : Buffer.allocUnsafe(gathered);
    const arena = this.arena;
    const whole = gathered === total;
    let at = 0;
    let runStart = 0;
    let from = 0;
    if (!whole) transport.cork();
    for (let i = 0; i < count; i++) {
      const piece = pending[i]!;
      if (typeof piece === 'number') {
        if (piece <= SMALL_RANGE) {
          // A lone header: Buffer#copy of a range makes a view object per call, a loop makes none.
          for (let k = 0; k < piece; k++) out[at + k] = arena![from + k]!;
          at += piece;
        } else {
          at += arena!.copy(out, at, from, from + piece);
        }
        from += piece;
      } else if (whole || piece.length <= copyUpTo) {
        if (piece instanceof Uncut) at = writeChunked(piece.payload, piece.key, out, at, piece.bodies);
        else at += piece.copy(out, at);
      } else {
        if (at > runStart) transport.write(out.subarray(runStart, at));
        runStart = at;
        transport.write(piece instanceof Uncut ? sharedBody(piece.bodies, piece.key, piece.payload) : piece);
      }
    }
    if (at > runStart) transport.write(runStart === 0 && at === out.length ? out : out.subarray(runStart, at));
    if (!whole) transport.uncork();
    // Still queued means the socket holds on to the bytes: the next flush needs another buffer.
    if (shared && transport.writableLength > 0) scratch = Buffer.allocUnsafeSlow(FIRST_SCRATCH);
  }

  private clearPending(count: number): void {
    // The array keeps its capacity for the next batch; the buffers are let go.
    for (let i = 0; i < count; i++) this.pending[i] = 0;
    // A new player's GOP burst fills batches of a few dozen messages, a steady batch holds a
    // handful: a list grown for the burst is let go, as the arena is.
    if (this.pending.length > LIST_KEPT && count * 8 < this.pending.length) this.pending = [];
    this.pendingCount = 0;
    this.pendingBytes = 0;
    // A burst (a new player's GOP) grows the arena; a steady batch a small part of it lets it go again.
    if (this.arena !== undefined && this.arena.length > ARENA_KEPT && this.arenaUsed * 8 < this.arena.length) this.arena = undefined;
    this.arenaUsed = 0;
  }

  private arenaWithRoom(bytes: number): Buffer {
    const arena = this.arena;
    if (arena !== undefined && arena.length - this.arenaUsed >= bytes) return arena;
    const grown = Buffer.allocUnsafeSlow(Math.max(FIRST_ARENA, (arena?.length ?? 0) * 2, this.arenaUsed + bytes));
    // What is queued refers to the arena by position: it moves over whole.
    if (arena !== undefined) arena.copy(grown, 0, 0, this.arenaUsed);
    this.arena = grown;
    return grown;
  }

  /** Queues the arena's next `bytes`, joined to the piece before when that is arena too. */
  private enqueueArena(bytes: number): void {
    this.arenaUsed += bytes;
    this.pendingBytes += bytes;
    this.bytesSent += bytes;
    const last = this.pendingCount - 1;
    if (last >= 0 && typeof this.pending[last] === 'number') this.pending[last] = (this.pending[last] as number) + bytes;
    else this.pending[this.pendingCount++] = bytes;
  }

  private writeMedia(bytes: Buffer, batch: MediaBatch | undefined): boolean {
    if (!this.enqueue(bytes, 0)) return false;
    return this.mediaQueued(batch);
  }

  /** Counts a media message just queued and decides when it leaves. */
  private mediaQueued(batch: MediaBatch | undefined): boolean {
    this.messagesSent++;
    batch?.counted(1);
    if (this.pendingBytes >= FLUSH_BYTES) {
      this.flush();
    } else if (this.scheduled === Scheduled.None || (this.scheduled === Scheduled.Tick && batch !== this.waitingOn)) {
      // Decided once per batch and stream: the clock is not read for every message.
      // The first media after a quiet spell (a new player's first frame) never waits.
      const at = performance.now();
      if (batch !== undefined && this.scheduled === Scheduled.None && at - this.lastFlushAt < batch.periodMs && batch.active(at)) {
        this.scheduled = Scheduled.Tick;
        this.waitingOn = batch;
        batch.tick.add(this);
      } else {
        // Media of a stream that does not batch takes whatever waits for a tick with it.
        this.scheduled = Scheduled.Turn;
        this.waitingOn = undefined;
        this.turn.add(this);
      }
    }
    return this.belowHighWater();
  }

  private enqueue(bytes: Buffer, messages: number): boolean {
    if (!this.enqueueSized(bytes)) return false;
    this.messagesSent += messages;
    return true;
  }

  private enqueueSized(piece: Buffer | Uncut): boolean {
    if (!this.writable) return false;
    this.pending[this.pendingCount++] = piece;
    this.pendingBytes += piece.length;
    this.bytesSent += piece.length;
    return true;
  }

  private belowHighWater(): boolean {
    // Not the transport's own mark: the server gives sockets a small one for the sake of reading.
    return this.transport.writableLength + this.pendingBytes < HIGH_WATER;
  }
}

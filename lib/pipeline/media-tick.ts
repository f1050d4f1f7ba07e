import type { Readable } from 'node:stream';

/** What a flush group drives: a writer's queue. */
export interface Flushable {
  flush(): void;
  /** Called instead when `flush` throws: the transport is broken and is to be destroyed. */
  abort(error: unknown): void;
}

/**
 * The writers waiting for one flush. The list is swapped for a spare one when a flush
 * takes it (a flush may queue more: that lands in the next batch) and kept, with its
 * room, for the flush after: a fan-out flushes every player each time, and a `Set`
 * emptied with `clear()` gives its table up and grows it again, step by step, on
 * every tick. A writer can be listed twice (queued again after another flush took its
 * bytes): its second flush finds nothing to write.
 *
 * A flush may stop at a deadline and go on where it stopped at the next call: a stream
 * with hundreds of players must not hold the event loop, and with it every other
 * stream's media and every command, for the whole of its batch.
 */
class WaitingWriters {
  private writers: (Flushable | undefined)[] = [];
  private count = 0;
  private spare: (Flushable | undefined)[] = [];
  private draining: (Flushable | undefined)[] = [];
  private drainAt = 0;
  private drainCount = 0;

  add(writer: Flushable): void {
    this.writers[this.count++] = writer;
  }

  /** Writers listed and not flushed yet, those of a batch being flushed included. */
  get waiting(): number {
    return this.count + this.drainCount - this.drainAt;
  }

  /**
   * Flushes the writers listed before the call (or what an earlier call left of its
   * batch) until `deadline` (performance.now() ms) has passed; true once that batch is done.
   */
  flush(deadline = Number.POSITIVE_INFINITY): boolean {
    if (this.drainAt === this.drainCount) {
      this.draining = this.writers;
      this.drainCount = this.count;
      this.drainAt = 0;
      this.writers = this.spare;
      this.count = 0;
    }
    const writers = this.draining;
    while (this.drainAt < this.drainCount) {
      const writer = writers[this.drainAt]!;
      writers[this.drainAt++] = undefined;
      try {
        writer.flush();
      } catch (error) {
        // One broken transport must not keep the others' bytes back, nor throw out of a timer.
        writer.abort(error);
      }
      if (deadline !== Number.POSITIVE_INFINITY && this.drainAt < this.drainCount && performance.now() >= deadline) return false;
    }
    this.spare = writers;
    this.draining = [];
    this.drainAt = 0;
    this.drainCount = 0;
    return true;
  }
}

/** Writers that flush at the end of this event-loop turn: one callback for them all, not one per peer. */
export class TurnFlush {
  private readonly writers = new WaitingWriters();
  private scheduled = false;

  add(writer: Flushable): void {
    this.writers.add(writer);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushAll);
  }

  private readonly flushAll = (): void => {
    this.scheduled = false;
    this.writers.flush();
  };
}

/** A transport whose reading waits for the media tick. */
export interface HeldInput {
  resume(): void;
}

/**
 * How long one turn of a tick's flush may run (ms) before it yields to the event loop
 * and goes on in the next turn. Between its slices other streams' reads, their
 * end-of-turn flushes and commands run, so a big fan-out adds about this much to their
 * latency rather than the time its whole batch takes.
 */
export const FLUSH_SLICE_MS = 2;

/**
 * One stream's media tick: the writers of its players whose media waits for it, and
 * its publisher's transport, whose reading waits for it. When it fires, the held
 * transport reads first (what its peer sent meanwhile is processed in this turn's I/O
 * phase), then every waiting writer flushes, from the end of the same turn: media read
 * at a tick leaves at that tick, so reading late adds no latency to what batching
 * costs already. The flush runs in slices of `sliceMs`.
 */
export class MediaTick {
  private readonly writers = new WaitingWriters();
  private held: HeldInput[] = [];
  private armed = false;
  /** Between a tick that resumed reading and the flush at the end of its turn. */
  private bursting = false;
  private continuing = false;

  constructor(
    readonly periodMs: number,
    private readonly sliceMs = FLUSH_SLICE_MS,
  ) {}

  add(writer: Flushable): void {
    this.writers.add(writer);
    // Media queued during a burst leaves with that burst's flush.
    if (!this.bursting) this.arm();
  }

  hold(input: HeldInput): void {
    if (!this.held.includes(input)) this.held.push(input);
    this.arm();
  }

  /** @internal writers waiting for this tick. */
  get waiting(): number {
    return this.writers.waiting;
  }

  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    setTimeout(this.fire, this.periodMs);
  }

  private readonly fire = (): void => {
    this.armed = false;
    if (this.held.length === 0) return this.flushAll();
    const held = this.held;
    this.held = [];
    this.bursting = true;
    for (const input of held) input.resume();
    // setImmediate runs after the poll phase in which the resumed transports read.
    setImmediate(this.flushAll);
  };

  private readonly flushAll = (): void => {
    this.bursting = false;
    this.drain();
  };

  private drain(): void {
    if (this.writers.flush(performance.now() + this.sliceMs) || this.continuing) return;
    this.continuing = true;
    setImmediate(this.continueDrain);
  }

  private readonly continueDrain = (): void => {
    this.continuing = false;
    this.drain();
  };
}

export interface MediaBatchOptions {
  /** How long a player's media may wait for the media after it (ms); 0 never batches. */
  flushMs: number;
  /** Media messages a second, to the stream's players together, from which the stream batches. */
  from: number;
}

/**
 * Whether one stream batches, and the tick it batches on. Batching pays where one
 * stream sends many messages a second (a fan-out: every packet goes to every player),
 * and costs that stream, and only that stream, up to `flushMs` of latency: streams with
 * few players, rendered streams and commands never wait for another stream's tick.
 * The rate counts messages sent to the stream's players over the last second or so.
 */
export class MediaBatch {
  private count = 0;
  private since = performance.now();
  private perSecond = 0;
  private ownTick: MediaTick | undefined;

  constructor(readonly options: MediaBatchOptions) {}

  get periodMs(): number {
    return this.options.flushMs;
  }

  /** Media messages just sent to one of the stream's players. */
  counted(messages: number): void {
    this.count += messages;
  }

  /** Whether the stream's media waits for its tick now. */
  active(now: number = performance.now()): boolean {
    if (this.options.flushMs <= 0) return false;
    const elapsed = now - this.since;
    if (elapsed >= 1_000) {
      // Over however long it was since the last reading: a busy event loop reads late, a quiet stream reads low.
      this.perSecond = (this.count * 1_000) / elapsed;
      this.count = 0;
      this.since = now;
    }
    return this.perSecond >= this.options.from;
  }

  /** Media messages a second to the stream's players, as of the last whole second measured. */
  get messagesPerSecond(): number {
    return this.perSecond;
  }

  get tick(): MediaTick {
    this.ownTick ??= new MediaTick(this.options.flushMs);
    return this.ownTick;
  }
}

/**
 * A tick's burst of this many bytes or more means the peer sends faster than the
 * kernel's receive window comfortably holds between ticks (128 KiB by default on
 * Linux): such a publisher is read as its bytes come.
 */
export const PACED_BURST_LIMIT = 96 * 1024;

/** How long a publisher that sent a burst over the limit is read freely before pacing is tried again (ms). */
const UNPACED_FOR_MS = 2_000;

/**
 * Reads a publisher's transport once per tick of the stream it feeds while that stream
 * batches (a fan-out). Each read wakes the event loop and costs more in Node's stream
 * machinery than the few kilobytes it brings (a publisher at 2.6 Mbit/s is read about
 * 110 times a second); left in the kernel until the tick, the same bytes come in two or
 * three reads and leave with that tick's flush. A publisher whose stream does not
 * batch, and a fast publisher, are read as their bytes come.
 */
export class PacedInput implements HeldInput {
  private burstBytes = 0;
  private settling = false;
  private unpacedUntil = 0;

  constructor(
    private readonly transport: Readable,
    /** The batch of the stream this transport feeds, if it feeds one. */
    private readonly batchOf: () => MediaBatch | undefined,
  ) {}

  /** Every read from the transport: at the end of its turn the transport may be held until the tick. */
  read(bytes: number): void {
    this.burstBytes += bytes;
    if (this.settling) return;
    // A stream that does not batch costs its publisher's reads nothing more.
    if (!(this.batchOf()?.active() ?? false)) {
      this.burstBytes = 0;
      return;
    }
    this.settling = true;
    setImmediate(this.settle);
  }

  resume(): void {
    if (!this.transport.destroyed) this.transport.resume();
  }

  private readonly settle = (): void => {
    this.settling = false;
    const burst = this.burstBytes;
    this.burstBytes = 0;
    const now = performance.now();
    if (burst >= PACED_BURST_LIMIT) this.unpacedUntil = now + UNPACED_FOR_MS;
    if (this.transport.destroyed || now < this.unpacedUntil) return;
    const batch = this.batchOf();
    if (batch === undefined || !batch.active(now)) return;
    this.transport.pause();
    batch.tick.hold(this);
  };
}

import type { Readable } from 'node:stream';

/** What a flush group drives: a writer's queue. */
export interface Flushable {
  flush(): void;
  /** Called instead when `flush` throws: the transport is broken and is to be destroyed. */
  abort(error: unknown): void;
}

/**
 * The writers waiting for one flush. The list is swapped for a spare one while it
 * flushes (a flush may queue more: that lands in the next batch) and kept, with its
 * room, for the flush after: a fan-out flushes every player each time, and a `Set`
 * emptied with `clear()` gives its table up and grows it again, step by step, on
 * every tick. A writer can be listed twice (queued again after another flush took its
 * bytes): its second flush finds nothing to write.
 */
class WaitingWriters {
  private writers: (Flushable | undefined)[] = [];
  private count = 0;
  private spare: (Flushable | undefined)[] = [];

  add(writer: Flushable): void {
    this.writers[this.count++] = writer;
  }

  flush(): void {
    const writers = this.writers;
    const count = this.count;
    this.writers = this.spare;
    this.count = 0;
    for (let i = 0; i < count; i++) {
      const writer = writers[i]!;
      writers[i] = undefined;
      try {
        writer.flush();
      } catch (error) {
        // One broken transport must not keep the others' bytes back, nor throw out of a timer.
        writer.abort(error);
      }
    }
    this.spare = writers;
  }
}

/**
 * Media messages this process sends per second, over the last second or so. Batching
 * pays only when there are many (a fan-out); a handful of players keep per-turn
 * writes and their latency. Counting messages, not writes, keeps batching from
 * switching itself off.
 */
const mediaRate = { count: 0, since: 0, perSecond: 0 };

export function countMedia(messages: number): void {
  mediaRate.count += messages;
}

export function mediaPerSecond(now: number = performance.now()): number {
  const elapsed = now - mediaRate.since;
  if (elapsed >= 1_000) {
    mediaRate.perSecond = elapsed < 2_000 ? (mediaRate.count * 1_000) / elapsed : 0;
    mediaRate.count = 0;
    mediaRate.since = now;
  }
  return mediaRate.perSecond;
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
 * The media tick: writers whose media waits for it, and publishers' transports whose
 * reading waits for it. When it fires, the held transports read first (what their
 * peers sent meanwhile is processed in this turn's I/O phase), then every waiting
 * writer flushes, at the end of the same turn: media read at a tick leaves at that
 * tick, so reading late adds no latency to what batching costs already.
 */
export class MediaTick {
  private readonly writers = new WaitingWriters();
  private held = new Set<HeldInput>();
  private armed = false;
  /** Between a tick that resumed reading and the flush at the end of its turn. */
  private bursting = false;

  constructor(readonly periodMs: number) {}

  add(writer: Flushable): void {
    this.writers.add(writer);
    // Media queued during a burst leaves with that burst's flush.
    if (!this.bursting) this.arm();
  }

  hold(input: HeldInput): void {
    this.held.add(input);
    this.arm();
  }

  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    setTimeout(this.fire, this.periodMs);
  }

  private readonly fire = (): void => {
    this.armed = false;
    if (this.held.size === 0) return this.flushAll();
    const held = this.held;
    this.held = new Set();
    this.bursting = true;
    for (const input of held) input.resume();
    // setImmediate runs after the poll phase in which the resumed transports read.
    setImmediate(this.flushAll);
  };

  private readonly flushAll = (): void => {
    this.bursting = false;
    this.writers.flush();
  };
}

const ticks = new Map<number, MediaTick>();

/** The process's media tick of this period: writers and inputs with one period share one timer. */
export function mediaTick(periodMs: number): MediaTick {
  let tick = ticks.get(periodMs);
  if (tick === undefined) {
    tick = new MediaTick(periodMs);
    ticks.set(periodMs, tick);
  }
  return tick;
}

/**
 * A tick's burst of this many bytes or more means the peer sends faster than the
 * kernel's receive window comfortably holds between ticks (128 KiB by default on
 * Linux): such a publisher is read as its bytes come.
 */
export const PACED_BURST_LIMIT = 96 * 1024;

/** How long a publisher that sent a burst over the limit is read freely before pacing is tried again (ms). */
const UNPACED_FOR_MS = 2_000;

export interface PacedInputOptions {
  /** The media tick's period (ms); 0 turns pacing off. */
  periodMs: number;
  /** Media messages per second, process-wide, from which reading is paced (as `mediaBatchFrom`). */
  from: number;
}

/**
 * Reads a publisher's transport once per media tick while the process fans media out.
 * Each read wakes the event loop and costs more in Node's stream machinery than the
 * few kilobytes it brings (a publisher at 2.6 Mbit/s is read about 110 times a
 * second); left in the kernel until the tick, the same bytes come in two or three
 * reads. Below the fan-out threshold, and for fast publishers, reading is not held.
 */
export class PacedInput implements HeldInput {
  private burstBytes = 0;
  private settling = false;
  private unpacedUntil = 0;
  private readonly tick: MediaTick | undefined;

  constructor(
    private readonly transport: Readable,
    private readonly options: PacedInputOptions,
  ) {
    this.tick = options.periodMs > 0 ? mediaTick(options.periodMs) : undefined;
  }

  /** Every read from the transport: at the end of its turn the transport may be held until the tick. */
  read(bytes: number): void {
    if (this.tick === undefined) return;
    this.burstBytes += bytes;
    if (this.settling) return;
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
    if (this.transport.destroyed || now < this.unpacedUntil || mediaPerSecond(now) < this.options.from) return;
    this.transport.pause();
    this.tick!.hold(this);
  };
}

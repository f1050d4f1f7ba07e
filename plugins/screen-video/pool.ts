/**
 * The deflate worker pool every Screen Video encoder of the process shares.
 *
 * zlib is nearly all the cost of this codec and blocks compress independently, so the
 * blocks of a frame are spread over one worker per core. The pool starts on first
 * use, and its workers are unref'd whenever they are idle: an idle pool never keeps
 * the process alive, while a batch in flight does (otherwise a script awaiting its
 * last frame could exit under it). After POOL_IDLE_MS with nothing in flight the
 * shared pool stops its workers (threads, their event loops and pipes), so a server
 * whose rendered streams have all stopped holds nothing for them; the next encode
 * starts a new pool. Workers read the picture from a SharedArrayBuffer
 * (no copy) and cut the blocks out themselves; compressed bytes come back in one
 * transferred ArrayBuffer a batch.
 * If a worker cannot start or dies, the pool is switched off for the process and
 * callers compress in their own thread instead.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

const WORKER_FILE = join(__dirname, 'deflate-worker.js');

/**
 * Blocks of one picture to cut out and compress: `frame` is the encoder's reference
 * picture, read in place by the worker and left untouched until the batch is done.
 */
export interface DeflateBatch {
  readonly frame: SharedArrayBuffer;
  readonly format: 'bgr24' | 'rgba';
  readonly width: number;
  readonly height: number;
  readonly blockWidth: number;
  readonly blockHeight: number;
  /** Block indices in wire order. */
  readonly blocks: readonly number[];
  readonly level: number;
  /** Raw BGR bytes the blocks hold: how the pool balances its workers. */
  readonly bytes: number;
}

type Reply = { id: number; output: ArrayBuffer; sizes: number[] } | { id: number; error: string };

interface Pending {
  resolve(parts: Buffer[]): void;
  reject(error: Error): void;
  bytes: number;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Raw bytes queued on this worker: the next batch goes to the least loaded one. */
  load: number;
}

export interface PoolStats {
  readonly workers: number;
  /** Batches compressed on workers since the process started. */
  readonly batches: number;
  readonly disabled: boolean;
}

/** How long the shared pool waits with nothing in flight before it stops its workers. */
export const POOL_IDLE_MS = 30_000;

export class DeflatePool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private failed: Error | undefined;
  private inFlight = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  batches = 0;

  /** `onIdle` is called once the pool has had nothing in flight for `idleMs`. */
  constructor(
    size: number,
    private readonly onIdle?: () => void,
    private readonly idleMs = POOL_IDLE_MS,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  get size(): number {
    return this.slots.length;
  }

  get usable(): boolean {
    return this.failed === undefined;
  }

  /** Compresses a batch on the least loaded worker; resolves one zlib stream per block. */
  run(batch: DeflateBatch): Promise<Buffer[]> {
    if (this.failed) return Promise.reject(this.failed);
    const slot = this.slots.reduce((best, s) => (s.load < best.load ? s : best));
    const id = this.nextId++;
    const { bytes, ...task } = batch;
    this.inFlight++;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    return new Promise<Buffer[]>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve, reject, bytes });
      slot.load += bytes;
      slot.worker.postMessage({ id, ...task });
    });
  }

  async terminate(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.fail(new Error('screen-video: the deflate pool was shut down'), false);
    // Referenced again while they stop: an unref'd worker's exit would not keep the
    // event loop alive, and this promise would be left hanging.
    await Promise.all(
      this.slots.map((s) => {
        s.worker.ref();
        return s.worker.terminate();
      }),
    );
  }

  private spawn(): Slot {
    // execArgv [] so a worker does not load ts-node or inspector flags it has no use for.
    const worker = new Worker(WORKER_FILE, { execArgv: [] });
    const slot: Slot = { worker, pending: new Map(), load: 0 };
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const pending = slot.pending.get(reply.id);
      if (!pending) return;
      slot.pending.delete(reply.id);
      slot.load -= pending.bytes;
      if (slot.pending.size === 0) worker.unref();
      if (--this.inFlight === 0 && this.onIdle) {
        this.idleTimer = setTimeout(this.onIdle, this.idleMs);
        this.idleTimer.unref();
      }
      if ('error' in reply) {
        pending.reject(new Error(`screen-video: deflate failed in a worker: ${reply.error}`));
        return;
      }
      this.batches++;
      const parts: Buffer[] = [];
      let at = 0;
      for (const size of reply.sizes) {
        parts.push(Buffer.from(reply.output, at, size));
        at += size;
      }
      pending.resolve(parts);
    });
    worker.on('error', (error: Error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`screen-video: a deflate worker exited with code ${code}`)));
    return slot;
  }

  /** A broken worker switches the whole pool off: its batches fail over to the caller's thread. */
  private fail(error: Error, stopWorkers = true): void {
    // Only the first failure counts; later ones are the other workers exiting, and
    // must not unref workers that terminate() is waiting for.
    if (this.failed) return;
    this.failed = error;
    for (const slot of this.slots) {
      for (const pending of slot.pending.values()) pending.reject(error);
      slot.pending.clear();
      slot.load = 0;
      slot.worker.unref();
      // A disabled pool's surviving workers would only sit idle: stop them.
      if (stopWorkers) void slot.worker.terminate().catch(() => undefined);
    }
  }
}

let shared: DeflatePool | undefined;
let startError: Error | undefined;
/** Batches of pools that have since stopped, so that the count runs since the process started. */
let retiredBatches = 0;

function retire(pool: DeflatePool): void {
  if (shared !== pool) return;
  shared = undefined;
  retiredBatches += pool.batches;
  void pool.terminate().catch(() => undefined);
}

/** The process-wide pool, started on first call; undefined when workers are unavailable. */
export function sharedPool(): DeflatePool | undefined {
  if (shared) return shared.usable ? shared : undefined;
  if (startError) return undefined;
  try {
    if (!existsSync(WORKER_FILE)) throw new Error(`screen-video: ${WORKER_FILE} is missing`);
    const pool: DeflatePool = new DeflatePool(Math.max(1, availableParallelism()), () => retire(pool));
    shared = pool;
    return pool;
  } catch (error) {
    startError = error instanceof Error ? error : new Error(String(error));
    return undefined;
  }
}

export function poolStats(): PoolStats {
  return { workers: shared?.size ?? 0, batches: retiredBatches + (shared?.batches ?? 0), disabled: startError !== undefined || (shared !== undefined && !shared.usable) };
}

/** Stops the shared pool (the plugin's exit); a later encode starts a new one. */
export async function shutdownPool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  startError = undefined;
  retiredBatches += pool?.batches ?? 0;
  await pool?.terminate();
}

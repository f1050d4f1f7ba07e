/**
 * The Screen Video encoder: lossless, block-based, zlib per block.
 *
 * Cost model: zlib is nearly all the work, so (1) each block is first compared
 * with the previous picture and an unchanged block in an inter frame is written as
 * size 0 without touching zlib, and (2) the changed blocks are cut out and
 * compressed on the shared worker pool (pool.ts), several blocks to a message,
 * unless the frame has so little to compress that a round trip costs more than it
 * saves. Since the codec is lossless, the picture the decoder holds is exactly the
 * previous input: that is our reference, kept in a SharedArrayBuffer so the
 * workers read the new picture from it in place once the changed blocks are
 * copied in. The main thread's share of a frame is thus one compare pass and the
 * copy of what changed.
 */
import { deflateSync } from 'node:zlib';
import { EncodedVideo, Frame, ParameterError, ParameterValue, PixelFormat, VideoEncoder, bytesPerPixel } from '../../lib/plugins/contract';
import { BlockRect, HEADER_BYTES, MAX_BLOCK, MAX_BLOCK_BYTES, MAX_SIDE, MIN_BLOCK, Grid, blockRect, extractBlock, makeGrid, writeHeader } from './blocks';
import { DeflatePool, sharedPool } from './pool';

/** `auto`: workers unless the changed pixels are tiny; `always`: workers whenever they run; `never`: this thread. */
export type WorkerMode = 'auto' | 'always' | 'never';

interface Settings {
  blockWidth: number;
  blockHeight: number;
  keyFrameInterval: number;
  compressionLevel: number;
  workers: WorkerMode;
}

const DEFAULTS: Settings = { blockWidth: 64, blockHeight: 64, keyFrameInterval: 60, compressionLevel: 9, workers: 'auto' };
const PARAMETERS = Object.keys(DEFAULTS) as ReadonlyArray<keyof Settings>;

/**
 * Below this many changed raw bytes (about five 64×64 blocks, some 0.5 ms of zlib)
 * a worker round trip (about 0.1 ms, more on a busy machine) is not worth it, and
 * blocking the event loop that briefly is harmless.
 */
const IN_THREAD_BYTES = 64 * 1024;
/** Smallest share of a frame worth its own worker message. */
const MIN_BATCH_BYTES = 32 * 1024;

/** The picture the decoder has. `readers`: worker batches reading it; while any do, it is replaced, not written. */
interface Reference {
  readonly format: PixelFormat;
  readonly shared: SharedArrayBuffer;
  readonly data: Buffer;
  readers: number;
}

function newReference(format: PixelFormat, source: Buffer): Reference {
  const shared = new SharedArrayBuffer(source.length);
  const data = Buffer.from(shared);
  data.set(source);
  return { format, shared, data, readers: 0 };
}

function integerIn(name: string, value: ParameterValue, min: number, max: number, step = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max || value % step !== 0) {
    const multiple = step > 1 ? `, a multiple of ${step}` : '';
    throw new ParameterError(`screen-video: ${name} must be an integer from ${min} to ${max}${multiple}, not ${String(value)}`);
  }
  return value;
}

export class ScreenVideoEncoder implements VideoEncoder {
  readonly codec = 'screen-video';
  readonly pixelFormats: readonly PixelFormat[] = ['bgr24', 'rgba'];
  readonly parameters: readonly string[] = PARAMETERS;

  private readonly settings: Settings = { ...DEFAULTS };
  private width = 0;
  private height = 0;
  private reference: Reference | undefined;
  private framesSinceKey = 0;
  private needKey = true;
  private closed = false;

  async init(width: number, height: number): Promise<Buffer | undefined> {
    if (this.closed) throw new Error('screen-video: the encoder is closed');
    for (const [name, side] of [['width', width], ['height', height]] as const) {
      if (!Number.isInteger(side) || side < 1 || side > MAX_SIDE) throw new RangeError(`screen-video: picture ${name} must be 1..${MAX_SIDE}, not ${side}`);
    }
    this.width = width;
    this.height = height;
    this.reference = undefined;
    this.needKey = true;
    // Screen Video has no sequence header: every key frame is self-contained.
    return undefined;
  }

  set(name: string, value: ParameterValue): void {
    switch (name) {
      case 'blockWidth':
      case 'blockHeight': {
        const size = integerIn(name, value, MIN_BLOCK, MAX_BLOCK, 16);
        // A new block grid: restart from a key frame so no decoder mixes two grids.
        if (size !== this.settings[name]) this.needKey = true;
        this.settings[name] = size;
        return;
      }
      case 'keyFrameInterval':
        this.settings.keyFrameInterval = integerIn(name, value, 0, 0x7fffffff);
        return;
      case 'compressionLevel':
        this.settings.compressionLevel = integerIn(name, value, 0, 9);
        return;
      case 'workers':
        if (value !== 'auto' && value !== 'always' && value !== 'never') throw new ParameterError(`screen-video: workers must be auto, always or never, not ${String(value)}`);
        this.settings.workers = value;
        return;
      default:
        throw new ParameterError(`screen-video: unknown parameter ${name} (known: ${PARAMETERS.join(', ')})`);
    }
  }

  get(name: string): ParameterValue {
    if (!(PARAMETERS as readonly string[]).includes(name)) throw new ParameterError(`screen-video: unknown parameter ${name} (known: ${PARAMETERS.join(', ')})`);
    return this.settings[name as keyof Settings];
  }

  /**
   * Everything up to compression happens synchronously, before the first await: the
   * comparison and the update of the reference picture. So overlapping calls still
   * code each picture against the one passed before it.
   */
  async encode(frame: Frame, options: { keyFrame?: boolean } = {}): Promise<EncodedVideo> {
    this.check(frame);
    const { blockWidth, blockHeight, keyFrameInterval, compressionLevel: level } = this.settings;
    const grid = makeGrid(this.width, this.height, blockWidth, blockHeight);
    const source = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
    let reference = this.reference?.format === frame.format ? this.reference : undefined;
    const keyFrame = this.needKey || reference === undefined || options.keyFrame === true || (keyFrameInterval > 0 && this.framesSinceKey >= keyFrameInterval);

    const changed = keyFrame ? allBlocks(grid) : changedBlocks(grid, frame.format, source, reference!.data);
    const lengths = changed.map((index) => rectBytes(grid, index));
    const total = lengths.reduce((sum, n) => sum + n, 0);

    // Outside the changed blocks the reference already equals this picture.
    if (!reference || reference.readers > 0) reference = this.reference = newReference(frame.format, source);
    else if (keyFrame) reference.data.set(source);
    else for (const index of changed) copyBlock(grid, bytesPerPixel(frame.format), blockRect(grid, index), source, reference.data);
    this.framesSinceKey = keyFrame ? 1 : this.framesSinceKey + 1;
    this.needKey = false;

    const pool = this.chooseWorkers(total);
    // Cut out here only what this thread compresses; workers cut out their own blocks.
    const here = (from: Buffer): Buffer[] => deflateHere(extractAll(grid, frame.format, from, changed, total), lengths, level);
    try {
      let parts: Buffer[];
      if (pool) {
        const pinned = reference;
        pinned.readers++;
        // A pool that fails mid-batch (a worker died, the plugin exited) costs speed, not the frame.
        parts = await deflateOnPool(pool, pinned, grid, changed, lengths, level)
          .catch(() => here(pinned.data))
          .finally(() => pinned.readers--);
      } else {
        parts = here(source);
      }
      return { data: assemble(grid, keyFrame, changed, parts), keyFrame };
    } catch (error) {
      // This picture is already our reference but no decoder will see it: restart from a key frame.
      this.needKey = true;
      throw error;
    }
  }

  async close(): Promise<EncodedVideo[]> {
    this.closed = true;
    this.reference = undefined;
    return [];
  }

  private check(frame: Frame): void {
    if (this.closed) throw new Error('screen-video: the encoder is closed');
    if (this.width === 0) throw new Error('screen-video: init(width, height) must come before encode');
    if (frame.width !== this.width || frame.height !== this.height) {
      throw new RangeError(`screen-video: a ${frame.width}x${frame.height} frame for an encoder set up for ${this.width}x${this.height}`);
    }
    if (!this.pixelFormats.includes(frame.format)) throw new RangeError(`screen-video: pixel format ${String(frame.format)} is not bgr24 or rgba`);
    const expected = frame.width * frame.height * bytesPerPixel(frame.format);
    if (frame.data.byteLength !== expected) throw new RangeError(`screen-video: ${frame.format} frame holds ${frame.data.byteLength} bytes, not ${expected}`);
  }

  private chooseWorkers(bytes: number): DeflatePool | undefined {
    const mode = this.settings.workers;
    if (mode === 'never' || bytes === 0 || (mode === 'auto' && bytes < IN_THREAD_BYTES)) return undefined;
    return sharedPool();
  }
}

function allBlocks(grid: Grid): number[] {
  return Array.from({ length: grid.columns * grid.rows }, (_, i) => i);
}

function rectBytes(grid: Grid, index: number): number {
  const rect = blockRect(grid, index);
  return rect.width * rect.height * 3;
}

/**
 * Blocks that differ from the previous picture, found with as few memcmp calls as
 * possible (each Buffer.compare costs far more to call than to run on a row).
 * Within a block row, every picture row is compared over the runs of block columns
 * not yet known to have changed: one call per run when they are equal, which is
 * the usual case, and a bisection down to the columns when not. A static screen
 * costs one call per picture row; a moving element a few more per row it covers.
 */
function changedBlocks(grid: Grid, format: PixelFormat, current: Buffer, previous: Buffer): number[] {
  const bpp = bytesPerPixel(format);
  const stride = grid.width * bpp;
  const columnBytes = grid.blockWidth * bpp;
  const marked = new Uint8Array(grid.columns);
  const changed: number[] = [];

  const bisect = (rowStart: number, lo: number, hi: number): void => {
    const start = rowStart + lo * columnBytes;
    const end = rowStart + Math.min(hi * columnBytes, stride);
    if (current.compare(previous, start, end, start, end) === 0) return;
    if (hi - lo === 1) {
      marked[lo] = 1;
      return;
    }
    const mid = (lo + hi) >> 1;
    bisect(rowStart, lo, mid);
    bisect(rowStart, mid, hi);
  };

  for (let row = 0; row < grid.rows; row++) {
    marked.fill(0);
    let unmarked = grid.columns;
    const first = row * grid.blockHeight;
    const last = Math.min(first + grid.blockHeight, grid.height);
    for (let fromBottom = first; fromBottom < last && unmarked > 0; fromBottom++) {
      const rowStart = (grid.height - 1 - fromBottom) * stride;
      for (let lo = 0; lo < grid.columns; ) {
        if (marked[lo]) {
          lo++;
          continue;
        }
        let hi = lo + 1;
        while (hi < grid.columns && !marked[hi]) hi++;
        bisect(rowStart, lo, hi);
        lo = hi;
      }
      unmarked = grid.columns - marked.reduce((sum, m) => sum + m, 0);
    }
    for (let column = 0; column < grid.columns; column++) if (marked[column]) changed.push(row * grid.columns + column);
  }
  return changed;
}

function copyBlock(grid: Grid, bpp: number, rect: BlockRect, from: Buffer, to: Buffer): void {
  const stride = grid.width * bpp;
  for (let k = 0; k < rect.height; k++) {
    const start = (grid.height - 1 - rect.fromBottom - k) * stride + rect.x * bpp;
    from.copy(to, start, start, start + rect.width * bpp);
  }
}

function extractAll(grid: Grid, format: PixelFormat, source: Buffer, blocks: readonly number[], total: number): Uint8Array {
  const raw = new Uint8Array(total);
  let at = 0;
  for (const index of blocks) at += extractBlock(source, format, grid, blockRect(grid, index), raw, at);
  return raw;
}

function deflateHere(raw: Uint8Array, lengths: readonly number[], level: number): Buffer[] {
  const parts: Buffer[] = [];
  let at = 0;
  for (const length of lengths) {
    parts.push(deflateSync(raw.subarray(at, at + length), { level }));
    at += length;
  }
  return parts;
}

/** Splits the blocks into runs of about equal bytes, one message per worker at most. */
async function deflateOnPool(pool: DeflatePool, reference: Reference, grid: Grid, blocks: readonly number[], lengths: readonly number[], level: number): Promise<Buffer[]> {
  const total = lengths.reduce((sum, n) => sum + n, 0);
  const batchCount = Math.max(1, Math.min(pool.size, lengths.length, Math.ceil(total / MIN_BATCH_BYTES)));
  const target = total / batchCount;
  const { width, height, blockWidth, blockHeight } = grid;
  const runs: Array<Promise<Buffer[]>> = [];
  let first = 0;
  let bytes = 0;
  let sent = 0;
  for (let i = 0; i < lengths.length; i++) {
    bytes += lengths[i]!;
    if (bytes >= target * (runs.length + 1) || i === lengths.length - 1) {
      const batch = { frame: reference.shared, format: reference.format, width, height, blockWidth, blockHeight, level };
      runs.push(pool.run({ ...batch, blocks: blocks.slice(first, i + 1), bytes: bytes - sent }));
      sent = bytes;
      first = i + 1;
    }
  }
  return (await Promise.all(runs)).flat();
}

/** The tag body: header, then every block in wire order, size 0 for those not in `changed`. */
function assemble(grid: Grid, keyFrame: boolean, changed: readonly number[], parts: readonly Buffer[]): Buffer {
  const blockCount = grid.columns * grid.rows;
  let size = HEADER_BYTES + 2 * blockCount;
  for (const part of parts) {
    if (part.length > MAX_BLOCK_BYTES) {
      throw new RangeError(`screen-video: a block compressed to ${part.length} bytes, more than the ${MAX_BLOCK_BYTES} a block can carry; use smaller blocks`);
    }
    size += part.length;
  }
  const out = Buffer.allocUnsafe(size);
  writeHeader(out, grid, keyFrame);
  let at = HEADER_BYTES;
  let next = 0;
  for (let index = 0; index < blockCount; index++) {
    const part = changed[next] === index ? parts[next++] : undefined;
    out.writeUInt16BE(part?.length ?? 0, at);
    at += 2;
    if (part) at += part.copy(out, at);
  }
  return out;
}

/**
 * Screen Video encoding speed and size: our encoder (worker pool, and one thread)
 * against ffmpeg's `flashsv` on the same raw frames.
 *
 * Input: 120 deterministic 1280×720 screen-like frames (plugins/screen-video/synthetic.ts:
 * static desktop and window, typed text, a clock, a moving box), written once to a
 * temporary raw BGR24 file that ffmpeg reads; we encode the same frames from memory.
 * Both sides use 64×64 blocks (ffmpeg's flashsv has no block size option and always
 * uses 64×64) and a key frame every 60 frames (`-g 60`). ffmpeg compresses at zlib
 * level 9, as our default does; level 6 is shown too (faster, about 8–15% larger).
 * ffmpeg's encode time is its wall time minus that of a 1-frame run (process start,
 * probing, muxer setup), reported separately. Every figure is the median of 3 runs.
 * "max stall" is the longest one encode() call kept the event loop busy: with the
 * pool it is the comparison and copying only; in one thread it includes all zlib.
 *
 * Run: npx ts-node --transpile-only scripts/bench-screen-video.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlv } from '../lib/protocol/flv';
import { ScreenVideoEncoder, WorkerMode } from '../plugins/screen-video';
import { screenFrame } from '../plugins/screen-video/synthetic';

const WIDTH = 1280;
const HEIGHT = 720;
const FRAMES = 120;
const KEY_INTERVAL = 60;
const RUNS = 3;

interface Result {
  name: string;
  seconds: number;
  bytes: number;
  keyFrames: number;
  /** Longest time one encode() call held the event loop (its synchronous part), in ms. */
  stallMs?: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function encodeOurs(frames: Uint8Array[], workers: WorkerMode, level: number): Promise<{ seconds: number; bytes: number; keyFrames: number; stallMs: number }> {
  const encoder = new ScreenVideoEncoder();
  encoder.set('workers', workers);
  encoder.set('compressionLevel', level);
  encoder.set('keyFrameInterval', KEY_INTERVAL);
  await encoder.init(WIDTH, HEIGHT);
  let bytes = 0;
  let keyFrames = 0;
  let stall = 0n;
  const start = process.hrtime.bigint();
  // One frame after the other, as a live stream is fed.
  for (const data of frames) {
    // What a server cares about besides speed: how long the call blocks its event loop.
    const called = process.hrtime.bigint();
    const pending = encoder.encode({ width: WIDTH, height: HEIGHT, format: 'bgr24', data });
    const blocked = process.hrtime.bigint() - called;
    if (blocked > stall) stall = blocked;
    const encoded = await pending;
    bytes += encoded.data.length;
    if (encoded.keyFrame) keyFrames++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await encoder.close();
  return { seconds, bytes, keyFrames, stallMs: Number(stall) / 1e6 };
}

function runFfmpeg(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Number(process.hrtime.bigint() - start) / 1e9);
      else reject(new Error(`ffmpeg ${args.join(' ')} exited with ${code}: ${stderr}`));
    });
  });
}

/** Video tag body bytes of an FLV file: what our side's byte count means too. */
function videoBytes(file: string): { bytes: number; frames: number; keyFrames: number } {
  const tags = parseFlv(readFileSync(file)).tags.filter((tag) => tag.typeId === 9);
  return { bytes: tags.reduce((sum, tag) => sum + tag.data.length, 0), frames: tags.length, keyFrames: tags.filter((tag) => tag.data[0] === 0x13).length };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-screen-video-'));
  try {
    const frames = Array.from({ length: FRAMES }, (_, i) => screenFrame(WIDTH, HEIGHT, i));
    const raw = join(dir, 'frames.bgr');
    writeFileSync(raw, Buffer.concat(frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength))));
    const out = join(dir, 'ffmpeg.flv');
    const input = ['-f', 'rawvideo', '-pix_fmt', 'bgr24', '-s', `${WIDTH}x${HEIGHT}`, '-r', '30', '-i', raw];
    const output = ['-c:v', 'flashsv', '-g', String(KEY_INTERVAL), '-f', 'flv', out];

    const results: Result[] = [];
    // A warm-up: starts the worker pool and lets the JIT settle, like a running server.
    await encodeOurs(frames.slice(0, 10), 'auto', 9);
    const ours: Array<[string, WorkerMode, number]> = [
      ['ours, workers, level 9 (default)', 'auto', 9],
      ['ours, 1 thread, level 9', 'never', 9],
      ['ours, workers, level 6', 'auto', 6],
      ['ours, 1 thread, level 6', 'never', 6],
    ];
    for (const [name, workers, level] of ours) {
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await encodeOurs(frames, workers, level));
      results.push({ name, seconds: median(runs.map((r) => r.seconds)), bytes: runs[0]!.bytes, keyFrames: runs[0]!.keyFrames, stallMs: median(runs.map((r) => r.stallMs)) });
    }

    const startup: number[] = [];
    const full: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      startup.push(await runFfmpeg([...input, '-frames:v', '1', ...output]));
      full.push(await runFfmpeg([...input, ...output]));
    }
    const theirs = videoBytes(out);
    if (theirs.frames !== FRAMES) throw new Error(`ffmpeg wrote ${theirs.frames} frames, not ${FRAMES}`);
    const ffmpegStartup = median(startup);
    const ffmpegWall = median(full);
    results.push({ name: 'ffmpeg flashsv (level 9)', seconds: ffmpegWall - ffmpegStartup, bytes: theirs.bytes, keyFrames: theirs.keyFrames });

    const ffmpegResult = results[results.length - 1]!;
    console.log(`Screen Video, ${FRAMES} frames ${WIDTH}x${HEIGHT}, 64x64 blocks, key frame every ${KEY_INTERVAL}; ${availableParallelism()} cores; medians of ${RUNS}`);
    console.log(`ffmpeg wall ${(ffmpegWall * 1000).toFixed(0)} ms, of which 1-frame run (startup) ${(ffmpegStartup * 1000).toFixed(0)} ms\n`);
    console.log(`${'encoder'.padEnd(28)}${'fps'.padStart(9)}${'ms'.padStart(9)}${'bytes'.padStart(11)}${'keys'.padStart(6)}${'speed/ffmpeg'.padStart(14)}${'size/ffmpeg'.padStart(13)}${'max stall ms'.padStart(14)}`);
    for (const r of results) {
      const fps = FRAMES / r.seconds;
      console.log(
        `${r.name.padEnd(28)}${fps.toFixed(1).padStart(9)}${(r.seconds * 1000).toFixed(0).padStart(9)}${String(r.bytes).padStart(11)}${String(r.keyFrames).padStart(6)}` +
          `${(ffmpegResult.seconds / r.seconds).toFixed(2).padStart(13)}x${(r.bytes / ffmpegResult.bytes).toFixed(3).padStart(13)}${(r.stallMs === undefined ? '-' : r.stallMs.toFixed(1)).padStart(14)}`,
      );
    }
    console.log(
      JSON.stringify({
        bench: 'screen-video',
        frames: FRAMES,
        width: WIDTH,
        height: HEIGHT,
        cores: availableParallelism(),
        ffmpegStartupMs: Math.round(ffmpegStartup * 1000),
        ffmpegWallMs: Math.round(ffmpegWall * 1000),
        results: results.map((r) => ({ name: r.name, fps: Number((FRAMES / r.seconds).toFixed(1)), ms: Math.round(r.seconds * 1000), bytes: r.bytes, keyFrames: r.keyFrames, maxStallMs: r.stallMs === undefined ? null : Number(r.stallMs.toFixed(2)) })),
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

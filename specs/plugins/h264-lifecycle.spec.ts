import test from 'ava';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Frame } from '../../lib/plugins/contract';
import { createFfmpegVideoPlugin, FfmpegVideoEncoder, plugin } from '../../plugins/h264';
import { isAlive } from '../helpers/process';

const encoderFor = (codec: string): FfmpegVideoEncoder => plugin.createEncoder(codec) as FfmpegVideoEncoder;

const grey = (width: number, height: number, level = 90): Frame => ({ width, height, format: 'rgba', data: new Uint8Array(width * height * 4).fill(level) });

/** Child processes and pipes this worker holds: what must return to where it was. */
const handles = (): string => {
  const kinds = process.getActiveResourcesInfo().filter((kind) => kind === 'ProcessWrap' || kind === 'PipeWrap');
  return `${kinds.filter((k) => k === 'ProcessWrap').length} processes, ${kinds.filter((k) => k === 'PipeWrap').length} pipes`;
};

/** A stand-in ffmpeg that complains on stderr and fails: how a broken build or bad option looks. */
function failingFfmpeg(): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-broken-ffmpeg-'));
  const path = join(dir, 'ffmpeg');
  writeFileSync(path, '#!/bin/sh\necho "[libx264 @ 0x1] something is very wrong" >&2\nexit 3\n');
  chmodSync(path, 0o755);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// Serial, and so before the concurrent tests: resource counts are only meaningful alone.
test.serial('a whole encoder life (init, restarts, close) leaves no process, pipe or listener behind', async (t) => {
  const before = handles();
  const exitListeners = process.listenerCount('exit');
  const encoder = encoderFor('h264');
  encoder.set('keyFrameInterval', 3);
  await encoder.init(64, 48);
  for (let i = 0; i < 5; i++) await encoder.encode(grey(64, 48, i * 20), { keyFrame: i === 2 });
  const pid = encoder.pid!;
  t.true(isAlive(pid), 'one ffmpeg stays open for the stream');
  await encoder.close();
  t.false(isAlive(pid));
  // libuv closes a process handle a loop turn after the exit it reported; a leak stays for good.
  for (let turn = 0; turn < 50 && handles() !== before; turn++) await new Promise((resolve) => setImmediate(resolve));
  t.is(handles(), before);
  t.is(process.listenerCount('exit'), exitListeners);
});

test('close() flushes pending encodes, leaves no child, and later encodes reject', async (t) => {
  const encoder = encoderFor('h264');
  await encoder.init(128, 96);
  // Not awaited: close() must let these finish before it ends ffmpeg's input.
  const pending = [0, 1, 2, 3].map((i) => encoder.encode(grey(128, 96, 40 + i)));
  const pid = encoder.pid!;
  t.true(isAlive(pid));
  t.deepEqual(await encoder.close(), [], 'with zerolatency every packet went to its encode');
  t.is((await Promise.all(pending)).length, 4);
  t.false(isAlive(pid), 'ffmpeg has exited and been reaped');
  await t.throwsAsync(encoder.encode(grey(128, 96)), { message: /the encoder is closed/ });
  t.deepEqual(await encoder.close(), [], 'close twice is harmless');
});

test('close() right after init (no frame ever) ends ffmpeg too, for both codecs', async (t) => {
  for (const codec of ['h264', 'h263']) {
    const encoder = encoderFor(codec);
    await encoder.init(64, 48);
    const pid = encoder.pid!;
    t.true(isAlive(pid));
    t.deepEqual(await encoder.close(), []);
    t.false(isAlive(pid), codec);
  }
});

test('close() before init and during init is safe', async (t) => {
  t.deepEqual(await encoderFor('h264').close(), []);
  const encoder = encoderFor('h264');
  const header = encoder.init(64, 48);
  const closed = encoder.close();
  t.truthy(await header);
  t.deepEqual(await closed, []);
  t.false(isAlive(encoder.pid!));
  await t.throwsAsync(encoder.encode(grey(64, 48)), { message: /closed/ });
});

test('a killed ffmpeg rejects the pending encode with a clear error, and close() still cleans up', async (t) => {
  const encoder = encoderFor('h264');
  await encoder.init(320, 240);
  await encoder.encode(grey(320, 240));
  const pid = encoder.pid!;
  const pending = encoder.encode(grey(320, 240, 120));
  process.kill(pid, 'SIGKILL');
  await t.throwsAsync(pending, { message: /^ffmpeg was killed by SIGKILL/ });
  await t.throwsAsync(encoder.encode(grey(320, 240)), { message: /ffmpeg was killed by SIGKILL/ }, 'the encoder stays failed');
  await t.notThrowsAsync(encoder.close());
  t.false(isAlive(pid));
});

test('an ffmpeg that fails reports its exit code and stderr tail', async (t) => {
  const broken = failingFfmpeg();
  try {
    for (const codec of ['h264', 'h263']) {
      const encoder = createFfmpegVideoPlugin({ ffmpegPath: broken.path }).createEncoder(codec);
      await t.throwsAsync(encoder.init(64, 48), { message: /^ffmpeg exited with code 3: \[libx264 @ 0x1\] something is very wrong$/ });
      await t.throwsAsync(encoder.encode(grey(64, 48)), { message: /closed/ }, 'a failed init leaves a closed encoder');
    }
    const missing = createFfmpegVideoPlugin({ ffmpegPath: '/nonexistent/ffmpeg' }).createEncoder('h263');
    await t.throwsAsync(missing.init(64, 48), { message: /could not run \/nonexistent\/ffmpeg: .*ENOENT/ });
  } finally {
    broken.cleanup();
  }
});

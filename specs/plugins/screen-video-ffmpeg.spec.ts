/**
 * Screen Video against ffmpeg, both ways: ffmpeg decodes what we encode, and we
 * decode what ffmpeg encodes (the recorded corpus session and fresh files), always
 * pixel for pixel. ffmpeg (5.1, as Debian ships it) must be on the PATH.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flvHeader, flvTag, parseFlv } from '../../lib/protocol/flv';
import { MessageType } from '../../lib/protocol/message';
import plugin, { ScreenVideoDecoder, ScreenVideoEncoder } from '../../plugins/screen-video';
import { screenFrame, toRgba } from '../../plugins/screen-video/synthetic';
import { chunkBytes, decodeInPieces } from '../helpers/fixtures';

function ffmpeg(args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], { encoding: 'buffer', maxBuffer: 1 << 28, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ffmpeg ${args.join(' ')}: ${error.message}\n${stderr.toString()}`));
      else resolve(stdout);
    });
  });
}

/** ffmpeg's own decoding of a file, every frame as it is coded (no frame rate conversion). */
function ffmpegDecode(file: string): Promise<Buffer> {
  return ffmpeg(['-i', file, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-']);
}

/** The first frame that differs, or -1. */
function firstMismatch(frames: readonly Uint8Array[], raw: Buffer, frameBytes: number): number {
  if (raw.length !== frames.length * frameBytes) return raw.length / frameBytes;
  return frames.findIndex((frame, i) => !raw.subarray(i * frameBytes, (i + 1) * frameBytes).equals(frame));
}

/** The u16 size of every block in a tag body, in wire order. */
function blockSizes(body: Buffer): number[] {
  const sizes: number[] = [];
  for (let at = 5; at < body.length; at += 2 + body.readUInt16BE(at)) sizes.push(body.readUInt16BE(at));
  return sizes;
}

const work = mkdtempSync(join(tmpdir(), 'rxrtmp-screen-video-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

const layouts = [
  { width: 160, height: 120, blockWidth: 64, blockHeight: 64, keyFrameInterval: 4, format: 'bgr24', workers: 'never' },
  { width: 100, height: 75, blockWidth: 32, blockHeight: 32, keyFrameInterval: 0, format: 'rgba', workers: 'never' },
  { width: 203, height: 97, blockWidth: 48, blockHeight: 16, keyFrameInterval: 3, format: 'bgr24', workers: 'always' },
  { width: 250, height: 130, blockWidth: 80, blockHeight: 32, keyFrameInterval: 0, format: 'rgba', workers: 'always' },
] as const;

for (const layout of layouts) {
  const { width, height, blockWidth, blockHeight, keyFrameInterval, format, workers } = layout;
  test(`ffmpeg decodes our ${width}x${height} stream (${blockWidth}x${blockHeight} blocks, ${format} in, workers ${workers}) pixel-exactly`, async (t) => {
    const encoder = plugin.createEncoder('screen-video');
    encoder.set('blockWidth', blockWidth);
    encoder.set('blockHeight', blockHeight);
    encoder.set('keyFrameInterval', keyFrameInterval);
    encoder.set('workers', workers);
    await encoder.init(width, height);
    const frames: Uint8Array[] = [];
    const parts: Buffer[] = [flvHeader(false, true)];
    let inter = 0;
    for (let i = 0; i < 10; i++) {
      const pixels = screenFrame(width, height, i);
      frames.push(pixels);
      const data = format === 'rgba' ? toRgba(pixels) : pixels;
      const encoded = await encoder.encode({ width, height, format, data });
      if (!encoded.keyFrame) inter++;
      parts.push(...flvTag(MessageType.Video, i * 100, encoded.data));
    }
    t.true(inter >= 5, 'the stream has inter frames to check');
    const file = join(work, `ours-${width}x${height}.flv`);
    writeFileSync(file, Buffer.concat(parts));
    const raw = await ffmpegDecode(file);
    t.is(raw.length, frames.length * width * height * 3, 'ffmpeg gave back every frame');
    t.is(firstMismatch(frames, raw, width * height * 3), -1);
  });
}

test('the corpus session (ffmpeg flashsv, 320x240, 64x64 blocks) decodes to the 30 testsrc2 frames exactly', async (t) => {
  const videos = decodeInPieces(chunkBytes('ffmpeg-publish-flashsv.c2s')).filter((m) => m.typeId === MessageType.Video);
  t.is(videos.length, 30);
  t.is(videos[0]!.payload.readUInt16BE(1), (3 << 12) | 320, '64-pixel blocks');
  const decoder = new ScreenVideoDecoder();
  const frames: Uint8Array[] = [];
  for (const video of videos) {
    const frame = await decoder.decode(video.payload);
    t.like(frame, { width: 320, height: 240, format: 'bgr24' });
    frames.push(frame!.data);
  }
  const skipped = videos.filter((v) => v.payload[0] === 0x23).map((v) => blockSizes(v.payload).filter((size) => size === 0).length);
  t.true(skipped.length > 0 && skipped.some((n) => n > 0), 'inter frames with skipped blocks');
  const expected = await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-t', '3', '-pix_fmt', 'bgr24', '-f', 'rawvideo', '-']);
  t.is(firstMismatch(frames, expected, 320 * 240 * 3), -1);
});

test('a fresh ffmpeg flashsv file with partial blocks decodes exactly as ffmpeg decodes it', async (t) => {
  const file = join(work, 'theirs.flv');
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=200x150:rate=10', '-t', '2', '-c:v', 'flashsv', '-g', '5', '-an', '-y', file]);
  const tags = parseFlv(readFileSync(file)).tags.filter((tag) => tag.typeId === MessageType.Video);
  t.is(tags.length, 20);
  t.deepEqual(tags.map((tag) => tag.data[0] === 0x13), Array.from({ length: 20 }, (_, i) => i % 5 === 0), 'ffmpeg honoured -g 5');
  const decoder = new ScreenVideoDecoder();
  const frames: Uint8Array[] = [];
  for (const tag of tags) frames.push((await decoder.decode(tag.data))!.data);
  t.is(firstMismatch(frames, await ffmpegDecode(file), 200 * 150 * 3), -1);
});

test('ffmpeg and we agree on a stream where keyFrameInterval and forced key frames mix', async (t) => {
  const encoder = new ScreenVideoEncoder();
  encoder.set('keyFrameInterval', 6);
  encoder.set('workers', 'always');
  await encoder.init(320, 180);
  const parts: Buffer[] = [flvHeader(false, true)];
  const frames: Uint8Array[] = [];
  const keys: boolean[] = [];
  for (let i = 0; i < 14; i++) {
    frames.push(screenFrame(320, 180, i * 5));
    const encoded = await encoder.encode({ width: 320, height: 180, format: 'bgr24', data: frames[i]! }, { keyFrame: i === 8 });
    keys.push(encoded.keyFrame);
    parts.push(...flvTag(MessageType.Video, i * 33, encoded.data));
  }
  t.deepEqual(keys.map((k, i) => (k ? i : -1)).filter((i) => i >= 0), [0, 6, 8]);
  const file = join(work, 'keys.flv');
  writeFileSync(file, Buffer.concat(parts));
  t.is(firstMismatch(frames, await ffmpegDecode(file), 320 * 180 * 3), -1);
});

test('with default settings our stream is at most 5% larger than ffmpeg flashsv for the same frames', async (t) => {
  const [width, height, count] = [640, 360, 30];
  const encoder = plugin.createEncoder('screen-video');
  await encoder.init(width, height);
  const frames: Buffer[] = [];
  let ours = 0;
  for (let i = 0; i < count; i++) {
    const pixels = screenFrame(width, height, i);
    frames.push(Buffer.from(pixels));
    ours += (await encoder.encode({ width, height, format: 'bgr24', data: pixels })).data.length;
  }
  const raw = join(work, 'size.bgr');
  writeFileSync(raw, Buffer.concat(frames));
  const file = join(work, 'size-ffmpeg.flv');
  // Same GOP as our default keyFrameInterval (60): one key frame, then inter frames.
  await ffmpeg(['-f', 'rawvideo', '-pix_fmt', 'bgr24', '-s', `${width}x${height}`, '-r', '30', '-i', raw, '-c:v', 'flashsv', '-g', '60', '-an', '-y', file]);
  const theirs = parseFlv(readFileSync(file)).tags.filter((tag) => tag.typeId === MessageType.Video).reduce((sum, tag) => sum + tag.data.length, 0);
  t.true(theirs > 0);
  t.true(ours <= theirs * 1.05, `ours ${ours} bytes, ffmpeg ${theirs} bytes (${(ours / theirs).toFixed(3)}×)`);
});

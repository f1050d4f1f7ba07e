import test from 'ava';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParameterError, VIDEO_PLUGIN_API_VERSION, VIDEO_PLUGIN_TYPE, type EncodedVideo, type Frame, type PixelFormat } from '../../lib/plugins/contract';
import { parseAvcDecoderConfiguration } from '../../lib/protocol/avc';
import { flvHeader, flvTag } from '../../lib/protocol/flv';
import { MessageType } from '../../lib/protocol/message';
import h264Plugin, { createFfmpegVideoPlugin, FfmpegVideoEncoder, plugin } from '../../plugins/h264';
import { isAlive } from '../helpers/process';

const encoderFor = (codec: string): FfmpegVideoEncoder => plugin.createEncoder(codec) as FfmpegVideoEncoder;

/** A dark grey picture with a bright square that moves right and down by `index`: real motion for inter frames. */
function movingSquare(width: number, height: number, index: number, format: PixelFormat = 'rgba'): Frame {
  const size = format === 'rgba' ? 4 : 3;
  const data = new Uint8Array(width * height * size).fill(40);
  for (let y = 0; y < 48; y++) {
    for (let x = 0; x < 48; x++) {
      const at = (((y + index * 2) % height) * width + ((x + index * 5) % width)) * size;
      data.set(format === 'rgba' ? [250, 200, 30, 255] : [30, 200, 250], at);
    }
  }
  return { width, height, format, data };
}

interface Probe {
  codec: string;
  width: number;
  height: number;
  frames: number;
  /** ffprobe's complaints while decoding every frame; empty for a clean stream. */
  complaints: string;
}

/** Writes the tags into an FLV file (30 fps timestamps) and has ffprobe decode every frame. */
async function probeFlv(sequenceHeader: Buffer | undefined, videos: readonly EncodedVideo[]): Promise<Probe> {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-h264-'));
  try {
    const file = join(dir, 'out.flv');
    const parts = [flvHeader(false, true)];
    if (sequenceHeader) parts.push(...flvTag(MessageType.Video, 0, sequenceHeader));
    videos.forEach((video, index) => parts.push(...flvTag(MessageType.Video, Math.round((index * 1000) / 30), video.data)));
    writeFileSync(file, Buffer.concat(parts));
    const args = ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', file];
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile('ffprobe', args, (error, out, err) => (error ? reject(new Error(err)) : resolve({ stdout: out, stderr: err }))),
    );
    const stream = (JSON.parse(stdout) as { streams: Array<{ codec_name: string; width: number; height: number; nb_read_frames: string }> }).streams[0]!;
    return { codec: stream.codec_name, width: stream.width, height: stream.height, frames: Number(stream.nb_read_frames), complaints: stderr.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const indexesOfKeyFrames = (videos: readonly EncodedVideo[]): number[] => videos.flatMap((video, index) => (video.keyFrame ? [index] : []));

test('the module exports one video plugin, as default and as `plugin`, with both codecs and no decoder', (t) => {
  t.is(h264Plugin, plugin);
  t.is(plugin.type, VIDEO_PLUGIN_TYPE);
  t.is(plugin.apiVersion, VIDEO_PLUGIN_API_VERSION);
  t.is(plugin.name, 'ffmpeg-video');
  t.is(plugin.version, '1.0.0');
  t.deepEqual(plugin.codecs, [
    { name: 'h264', flvCodecId: 7 },
    { name: 'h263', flvCodecId: 2 },
  ]);
  t.is(plugin.createDecoder, undefined);
  t.throws(() => plugin.createEncoder('vp6'), { message: /no "vp6" encoder/ });
  const encoder = plugin.createEncoder('h264');
  t.is(encoder.codec, 'h264');
  t.deepEqual(encoder.pixelFormats, ['rgba', 'bgr24']);
});

test('init() accepts the ffmpeg here and refuses a missing one, or one without libx264, with a clear message', async (t) => {
  await t.notThrowsAsync(async () => plugin.init!());
  const missing = createFfmpegVideoPlugin({ ffmpegPath: '/nonexistent/bin/ffmpeg' });
  await t.throwsAsync(async () => missing.init!(), { message: /^the h264 plugin needs ffmpeg with libx264 on the PATH: running \/nonexistent\/bin\/ffmpeg failed .*ENOENT/ });
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-fake-ffmpeg-'));
  try {
    // An ffmpeg built without x264: it lists the flv encoder only.
    const fake = join(dir, 'ffmpeg');
    writeFileSync(fake, '#!/bin/sh\necho " V..... flv                  FLV / Sorenson Spark / Sorenson H.263 (Flash Video) (codec flv1)"\n');
    chmodSync(fake, 0o755);
    await t.throwsAsync(async () => createFfmpegVideoPlugin({ ffmpegPath: fake }).init!(), { message: /needs ffmpeg with libx264 on the PATH: .* has no libx264 encoder$/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Serial: the environment is shared by every test in this worker.
test.serial('the ffmpeg path can come from RXRTMP_FFMPEG, read when used', async (t) => {
  const before = process.env['RXRTMP_FFMPEG'];
  process.env['RXRTMP_FFMPEG'] = '/nonexistent/from-env/ffmpeg';
  try {
    await t.throwsAsync(async () => createFfmpegVideoPlugin().init!(), { message: /\/nonexistent\/from-env\/ffmpeg/ });
  } finally {
    if (before === undefined) delete process.env['RXRTMP_FFMPEG'];
    else process.env['RXRTMP_FFMPEG'] = before;
  }
});

test('H.264: init returns a sequence header for the size; 30 frames give 30 tags with key frames on the interval; ffprobe decodes them all', async (t) => {
  const encoder = encoderFor('h264');
  encoder.set('keyFrameInterval', 10);
  const header = await encoder.init(320, 240);
  t.truthy(header);
  t.is(header![0], 0x17, 'key frame, AVC');
  t.is(header![1], 0, 'AVC sequence header');
  t.like(parseAvcDecoderConfiguration(header!.subarray(5)), { width: 320, height: 240 });

  const videos: EncodedVideo[] = [];
  for (let i = 0; i < 30; i++) videos.push(await encoder.encode(movingSquare(320, 240, i)));
  t.is(videos.length, 30);
  t.deepEqual(indexesOfKeyFrames(videos), [0, 10, 20]);
  for (const video of videos) {
    t.is(video.data[0], video.keyFrame ? 0x17 : 0x27, 'frame type and codec id agree with keyFrame');
    t.is(video.data[1], 1, 'AVC NALU packet');
    t.is(video.data.readUIntBE(2, 3), 0, 'no B-frames, so no composition time offset');
  }
  // The header init() got from its probe run is the one the long-lived ffmpeg wrote itself.
  t.deepEqual(encoder.emittedSequenceHeader, header);
  t.deepEqual(await encoder.close(), []);

  const probe = await probeFlv(header, videos);
  t.deepEqual(probe, { codec: 'h264', width: 320, height: 240, frames: 30, complaints: '' });
});

test('H.264: concurrent encodes come back in call order, one packet per frame', async (t) => {
  const encoder = encoderFor('h264');
  encoder.set('keyFrameInterval', 8);
  const header = await encoder.init(160, 120);
  const videos = await Promise.all(Array.from({ length: 20 }, (_, i) => encoder.encode(movingSquare(160, 120, i))));
  t.deepEqual(indexesOfKeyFrames(videos), [0, 8, 16]);
  t.deepEqual(await encoder.close(), []);
  t.deepEqual(await probeFlv(header, videos), { codec: 'h264', width: 160, height: 120, frames: 20, complaints: '' });
});

test('H.264: a forced key frame restarts ffmpeg with the same header; a natural one does not; bgr24 frames work too', async (t) => {
  const encoder = encoderFor('h264');
  encoder.set('keyFrameInterval', 10);
  const header = await encoder.init(320, 240);
  const videos: EncodedVideo[] = [];
  for (let i = 0; i < 4; i++) videos.push(await encoder.encode(movingSquare(320, 240, i)));
  const firstPid = encoder.pid!;
  videos.push(await encoder.encode(movingSquare(320, 240, 4), { keyFrame: true }));
  t.true(videos[4]!.keyFrame);
  t.not(encoder.pid, firstPid, 'x264 takes no key frame request through the pipe: a new process starts with one');
  t.false(isAlive(firstPid));
  t.deepEqual(encoder.emittedSequenceHeader, header);
  const secondPid = encoder.pid!;
  for (let i = 5; i < 14; i++) videos.push(await encoder.encode(movingSquare(320, 240, i)));
  // Frame 14 is the new process's tenth: a key frame anyway, so no restart.
  videos.push(await encoder.encode(movingSquare(320, 240, 14), { keyFrame: true }));
  t.is(encoder.pid, secondPid);
  // The input format is a command-line option: switching it restarts ffmpeg (with a key frame).
  for (let i = 15; i < 20; i++) videos.push(await encoder.encode(movingSquare(320, 240, i, 'bgr24')));
  t.not(encoder.pid, secondPid);
  t.deepEqual(encoder.emittedSequenceHeader, header, 'rgba and bgr24 input give the same SPS/PPS');
  t.deepEqual(indexesOfKeyFrames(videos), [0, 4, 14, 15]);
  await encoder.close();
  t.deepEqual(await probeFlv(header, videos), { codec: 'h264', width: 320, height: 240, frames: 20, complaints: '' });
});

test('H.263: init returns no header; 30 frames are Sorenson (flv1) tags that ffprobe decodes', async (t) => {
  const encoder = encoderFor('h263');
  encoder.set('keyFrameInterval', 12);
  encoder.set('quality', 5);
  t.is(await encoder.init(320, 240), undefined);
  const videos: EncodedVideo[] = [];
  for (let i = 0; i < 30; i++) videos.push(await encoder.encode(movingSquare(320, 240, i)));
  t.deepEqual(indexesOfKeyFrames(videos), [0, 12, 24]);
  for (const video of videos) t.is(video.data[0], video.keyFrame ? 0x12 : 0x22);
  t.deepEqual(await encoder.close(), []);
  t.deepEqual(await probeFlv(undefined, videos), { codec: 'flv1', width: 320, height: 240, frames: 30, complaints: '' });
});

test('H.263 by bitrate takes odd sizes and bgr24', async (t) => {
  const encoder = encoderFor('h263');
  encoder.set('bitrate', 300_000);
  await encoder.init(177, 143);
  const videos: EncodedVideo[] = [];
  for (let i = 0; i < 10; i++) videos.push(await encoder.encode(movingSquare(177, 143, i, 'bgr24')));
  await encoder.close();
  t.deepEqual(await probeFlv(undefined, videos), { codec: 'flv1', width: 177, height: 143, frames: 10, complaints: '' });
});

test('parameters: names per codec, defaults, range checks, and no changes after init', async (t) => {
  const h264 = encoderFor('h264');
  const h263 = encoderFor('h263');
  t.deepEqual(h264.parameters, ['bitrate', 'frameRate', 'keyFrameInterval', 'preset']);
  t.deepEqual(h263.parameters, ['bitrate', 'frameRate', 'keyFrameInterval', 'quality']);
  t.deepEqual([h264.get('bitrate'), h264.get('frameRate'), h264.get('keyFrameInterval'), h264.get('preset')], [1_000_000, 30, 60, 'veryfast']);
  t.is(h263.get('quality'), 0);

  for (const name of ['blockSize', 'Bitrate', '']) {
    t.throws(() => h264.set(name, 1), { instanceOf: ParameterError, message: /unknown h264 parameter/ });
    t.throws(() => h264.get(name), { instanceOf: ParameterError });
  }
  t.throws(() => h264.set('quality', 5), { instanceOf: ParameterError }, 'quality is an H.263 parameter');
  t.throws(() => h263.set('preset', 'fast'), { instanceOf: ParameterError }, 'preset is an x264 parameter');

  const bad: Array<[FfmpegVideoEncoder, string, number | string | boolean]> = [
    [h264, 'bitrate', 0],
    [h264, 'bitrate', 1500.5],
    [h264, 'bitrate', '1M'],
    [h264, 'frameRate', 0],
    [h264, 'frameRate', Number.NaN],
    [h264, 'frameRate', true],
    [h264, 'keyFrameInterval', 0],
    [h264, 'keyFrameInterval', 2.5],
    [h264, 'preset', 'warp-speed'],
    [h264, 'preset', 3],
    [h263, 'quality', 1],
    [h263, 'quality', 32],
  ];
  for (const [encoder, name, value] of bad) t.throws(() => encoder.set(name, value), { instanceOf: ParameterError }, `${name} = ${String(value)}`);
  t.is(h264.get('bitrate'), 1_000_000, 'a refused value changes nothing');

  h264.set('bitrate', 250_000);
  h264.set('frameRate', 29.97);
  h264.set('keyFrameInterval', 5);
  h264.set('preset', 'ultrafast');
  h263.set('quality', 31);
  t.deepEqual([h264.get('bitrate'), h264.get('frameRate'), h264.get('keyFrameInterval'), h264.get('preset'), h263.get('quality')], [250_000, 29.97, 5, 'ultrafast', 31]);

  // The settings take effect: ultrafast x264 writes Constrained Baseline (profile 66).
  const header = await h264.init(64, 48);
  t.is(parseAvcDecoderConfiguration(header!.subarray(5)).profile, 66);
  t.throws(() => h264.set('bitrate', 500_000), { instanceOf: ParameterError, message: /applies before init/ });
  t.is(h264.get('bitrate'), 250_000);
  const videos = [];
  for (let i = 0; i < 6; i++) videos.push(await h264.encode(movingSquare(64, 48, i)));
  t.deepEqual(indexesOfKeyFrames(videos), [0, 5]);
  await h264.close();
});

test('init and encode refuse sizes and frames that do not fit', async (t) => {
  await t.throwsAsync(encoderFor('h264').init(321, 240), { instanceOf: ParameterError, message: /even width/ });
  await t.throwsAsync(encoderFor('h263').init(0, 240), { instanceOf: ParameterError });
  const encoder = encoderFor('h264');
  await t.throwsAsync(encoder.encode(movingSquare(64, 48, 0)), { message: /before init/ });
  await encoder.init(64, 48);
  await t.throwsAsync(encoder.init(64, 48), { message: /already called/ });
  await t.throwsAsync(encoder.encode(movingSquare(32, 48, 0)), { message: /32x48 but the encoder was initialised for 64x48/ });
  await t.throwsAsync(encoder.encode({ ...movingSquare(64, 48, 0), data: new Uint8Array(10) }), { message: /has 12288 bytes, not 10/ });
  t.true((await encoder.encode(movingSquare(64, 48, 0))).keyFrame, 'refused frames did not reach ffmpeg');
  await encoder.close();
});

import test from 'ava';
import { deflateSync } from 'node:zlib';
import { Frame, ParameterError, VIDEO_PLUGIN_API_VERSION, VIDEO_PLUGIN_TYPE } from '../../lib/plugins/contract';
import plugin, { ScreenVideoDecodeError, ScreenVideoDecoder, ScreenVideoEncoder, poolStats } from '../../plugins/screen-video';
import { DeflatePool, shutdownPool } from '../../plugins/screen-video/pool';
import { screenFrame, toRgba } from '../../plugins/screen-video/synthetic';

const bgr = (width: number, height: number, index: number): Frame => ({ width, height, format: 'bgr24', data: screenFrame(width, height, index) });

async function encoder(width: number, height: number, settings: Record<string, number | string> = {}): Promise<ScreenVideoEncoder> {
  const e = plugin.createEncoder('screen-video') as ScreenVideoEncoder;
  for (const [name, value] of Object.entries(settings)) e.set(name, value);
  await e.init(width, height);
  return e;
}

/** The u16 size of every block in a tag body, in wire order. */
function blockSizes(body: Buffer): number[] {
  const sizes: number[] = [];
  for (let at = 5; at < body.length; ) {
    const size = body.readUInt16BE(at);
    sizes.push(size);
    at += 2 + size;
  }
  return sizes;
}

function samePixels(actual: Uint8Array, expected: Uint8Array): boolean {
  return Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength));
}

test('the plugin describes itself by the contract and refuses codecs it does not have', (t) => {
  t.is(plugin.type, VIDEO_PLUGIN_TYPE);
  t.is(plugin.apiVersion, VIDEO_PLUGIN_API_VERSION);
  t.like(plugin, { name: 'screen-video', version: '1.0.0' });
  t.deepEqual(plugin.codecs, [{ name: 'screen-video', flvCodecId: 3 }]);
  t.true(plugin.createEncoder('screen-video') instanceof ScreenVideoEncoder);
  t.true(plugin.createDecoder!('screen-video') instanceof ScreenVideoDecoder);
  t.throws(() => plugin.createEncoder('h264'), { message: /unknown codec "h264"/ });
  t.throws(() => plugin.createDecoder!('flashsv2'), { message: /unknown codec/ });
});

test('key and inter frames of a size that is not a multiple of the block size decode pixel-exactly', async (t) => {
  const e = await encoder(100, 75, { blockWidth: 32, blockHeight: 32 });
  const d = new ScreenVideoDecoder();
  t.is(await e.init(100, 75), undefined, 'no sequence header');
  for (let i = 0; i < 8; i++) {
    const frame = bgr(100, 75, i);
    const encoded = await e.encode(frame);
    t.is(encoded.keyFrame, i === 0);
    t.is(encoded.data[0], i === 0 ? 0x13 : 0x23);
    // Block fields: (32 / 16 - 1) = 1 in the top 4 bits; sizes in the low 12.
    t.is(encoded.data.readUInt16BE(1), (1 << 12) | 100);
    t.is(encoded.data.readUInt16BE(3), (1 << 12) | 75);
    t.is(blockSizes(encoded.data).length, 4 * 3);
    const decoded = await d.decode(encoded.data);
    t.like(decoded, { width: 100, height: 75, format: 'bgr24' });
    t.true(samePixels(decoded!.data, frame.data), `frame ${i}`);
  }
});

test('rgba input codes to the same bytes as the same picture in bgr24', async (t) => {
  const fromBgr = await encoder(130, 70, { blockWidth: 48, blockHeight: 16 });
  const fromRgba = await encoder(130, 70, { blockWidth: 48, blockHeight: 16 });
  const d = new ScreenVideoDecoder();
  for (let i = 0; i < 5; i++) {
    const frame = bgr(130, 70, i);
    const a = await fromBgr.encode(frame);
    const b = await fromRgba.encode({ width: 130, height: 70, format: 'rgba', data: toRgba(frame.data) });
    t.true(a.data.equals(b.data), `frame ${i}`);
    t.true(samePixels((await d.decode(b.data))!.data, frame.data));
  }
});

test('unchanged blocks are coded as size 0 in inter frames, counted from the bottom-left', async (t) => {
  const e = await encoder(100, 75, { blockWidth: 32, blockHeight: 32 });
  const d = new ScreenVideoDecoder();
  const first = bgr(100, 75, 0);
  const key = await e.encode(first);
  t.true(blockSizes(key.data).every((size) => size > 0), 'a key frame carries every block');
  (await d.decode(key.data))!.data.fill(0); // the caller's copy: scribbling on it must not matter

  const same = await e.encode({ ...first, data: Uint8Array.from(first.data) });
  t.false(same.keyFrame);
  t.is(same.data.length, 5 + 2 * 12, 'nothing but the header and twelve zero sizes');
  t.deepEqual(blockSizes(same.data), new Array<number>(12).fill(0));

  // The top-left pixel lies in the top block row, which is row 2 from the bottom: block 2 * 4 + 0.
  // The bottom-right pixel lies in block 3 (bottom row, last column).
  const changed = Uint8Array.from(first.data);
  changed[0] ^= 0xff;
  changed[changed.length - 1] ^= 0xff;
  const inter = await e.encode({ ...first, data: changed });
  const sizes = blockSizes(inter.data);
  t.deepEqual(sizes.map((size, i) => (size > 0 ? i : -1)).filter((i) => i >= 0), [3, 8]);
  t.true(samePixels((await d.decode(same.data))!.data, first.data));
  t.true(samePixels((await d.decode(inter.data))!.data, changed));
});

test('a key frame comes every keyFrameInterval frames; 0 means only the first', async (t) => {
  const every3 = await encoder(64, 48, { keyFrameInterval: 3 });
  const keys: boolean[] = [];
  for (let i = 0; i < 10; i++) keys.push((await every3.encode(bgr(64, 48, i))).keyFrame);
  t.deepEqual(keys, [true, false, false, true, false, false, true, false, false, true]);

  const never = await encoder(64, 48, { keyFrameInterval: 0 });
  const flags: boolean[] = [];
  for (let i = 0; i < 100; i++) flags.push((await never.encode(bgr(64, 48, i % 7))).keyFrame);
  t.deepEqual(flags.map((k, i) => (k ? i : -1)).filter((i) => i >= 0), [0]);
});

test('a forced key frame carries every block and restarts the interval; init and new block sizes force one', async (t) => {
  const e = await encoder(64, 48, { keyFrameInterval: 4 });
  const frame = bgr(64, 48, 0);
  const keys: boolean[] = [];
  for (let i = 0; i < 8; i++) {
    const encoded = await e.encode(frame, { keyFrame: i === 2 });
    keys.push(encoded.keyFrame);
    t.is(encoded.data[0], encoded.keyFrame ? 0x13 : 0x23);
    if (i === 2) t.true(blockSizes(encoded.data).every((size) => size > 0));
  }
  t.deepEqual(keys, [true, false, true, false, false, false, true, false]);
  await e.init(64, 48);
  t.true((await e.encode(frame)).keyFrame, 'init starts over');
  e.set('blockWidth', 32);
  const regridded = await e.encode(frame);
  t.true(regridded.keyFrame, 'a new block grid starts with a key frame');
  t.is(regridded.data.readUInt16BE(1) >> 12, 1);
});

test('parameters have their defaults and refuse unknown names and bad values with ParameterError', (t) => {
  const e = new ScreenVideoEncoder();
  t.deepEqual(e.parameters, ['blockWidth', 'blockHeight', 'keyFrameInterval', 'compressionLevel', 'workers']);
  t.deepEqual(e.parameters.map((name) => e.get(name)), [64, 64, 60, 9, 'auto']);
  t.deepEqual(e.pixelFormats, ['bgr24', 'rgba']);
  t.throws(() => e.set('bitrate', 1000), { instanceOf: ParameterError, message: /unknown parameter bitrate/ });
  t.throws(() => e.get('quality'), { instanceOf: ParameterError });
  const bad: Array<[string, number | string | boolean]> = [
    ['blockWidth', 40], ['blockWidth', 0], ['blockWidth', 272], ['blockHeight', 8], ['blockHeight', '64'],
    ['compressionLevel', 10], ['compressionLevel', -1], ['compressionLevel', 1.5],
    ['keyFrameInterval', -1], ['keyFrameInterval', 2.5], ['keyFrameInterval', true], ['workers', 'maybe'],
  ];
  for (const [name, value] of bad) t.throws(() => e.set(name, value), { instanceOf: ParameterError }, `${name} = ${String(value)}`);
  t.deepEqual(e.parameters.map((name) => e.get(name)), [64, 64, 60, 9, 'auto'], 'refused values change nothing');
  e.set('blockWidth', 256);
  e.set('blockHeight', 16);
  e.set('compressionLevel', 0);
  t.deepEqual([e.get('blockWidth'), e.get('blockHeight'), e.get('compressionLevel')], [256, 16, 0]);
});

test('init checks the picture size and encode checks the frame', async (t) => {
  const e = new ScreenVideoEncoder();
  await t.throwsAsync(e.encode(bgr(16, 16, 0)), { message: /init/ });
  await t.throwsAsync(e.init(0, 10), { instanceOf: RangeError });
  await t.throwsAsync(e.init(4096, 10), { instanceOf: RangeError });
  await t.throwsAsync(e.init(10.5, 10), { instanceOf: RangeError });
  t.is(await e.init(4095, 1), undefined);
  await e.init(32, 32);
  await t.throwsAsync(e.encode(bgr(32, 16, 0)), { instanceOf: RangeError, message: /32x16/ });
  await t.throwsAsync(e.encode({ width: 32, height: 32, format: 'bgr24', data: new Uint8Array(100) }), { instanceOf: RangeError });
  t.deepEqual(await e.close(), []);
  await t.throwsAsync(e.encode(bgr(32, 32, 0)), { message: /closed/ });
});

test('a block that compresses past 65535 bytes is refused with a hint to use smaller blocks, and a key frame follows', async (t) => {
  const e = await encoder(256, 256, { blockWidth: 256, blockHeight: 256, workers: 'never' });
  const noise = new Uint8Array(256 * 256 * 3);
  let x = 1;
  for (let i = 0; i < noise.length; i++) noise[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  await t.throwsAsync(e.encode({ width: 256, height: 256, format: 'bgr24', data: noise }), { instanceOf: RangeError, message: /smaller blocks/ });
  // The decoder never got that picture, so the next one must not be coded against it.
  const next = await e.encode(bgr(256, 256, 0));
  t.true(next.keyFrame);
  t.true(samePixels((await new ScreenVideoDecoder().decode(next.data))!.data, screenFrame(256, 256, 0)));
});

test('the worker pool and the in-thread path produce identical bytes, from bgr24 and rgba, with partial blocks', async (t) => {
  const before = poolStats().batches;
  for (const level of [1, 6, 9]) {
    const settings = { compressionLevel: level, blockWidth: 32, blockHeight: 48, keyFrameInterval: 5 };
    const pooled = await encoder(330, 250, { ...settings, workers: 'always' });
    const pooledRgba = await encoder(330, 250, { ...settings, workers: 'always' });
    const local = await encoder(330, 250, { ...settings, workers: 'never' });
    for (let i = 0; i < 8; i++) {
      const frame = bgr(330, 250, i * 3);
      const rgba: Frame = { width: 330, height: 250, format: 'rgba', data: toRgba(frame.data) };
      const [a, b, c] = await Promise.all([pooled.encode(frame), pooledRgba.encode(rgba), local.encode(frame)]);
      t.true(a.data.equals(c.data), `bgr24, level ${level}, frame ${i}`);
      t.true(b.data.equals(c.data), `rgba, level ${level}, frame ${i}`);
    }
  }
  const stats = poolStats();
  t.true(stats.workers >= 1 && !stats.disabled, JSON.stringify(stats));
  t.true(stats.batches > before, 'the pooled encoders really used the workers');
});

// Serial (ava runs these before the concurrent tests), since it stops the shared pool.
test.serial('a pool that stops while a frame is on it falls back to this thread with the same bytes', async (t) => {
  const pooled = await encoder(640, 480, { workers: 'always' });
  const local = await encoder(640, 480, { workers: 'never' });
  const frame = bgr(640, 480, 0);
  const inFlight = pooled.encode(frame);
  t.true(poolStats().workers > 0, 'the frame went to the pool');
  await shutdownPool();
  t.true((await inFlight).data.equals((await local.encode(frame)).data));
  const next = bgr(640, 480, 9);
  t.true((await pooled.encode(next, { keyFrame: true })).data.equals((await local.encode(next, { keyFrame: true })).data), 'a new pool starts on demand');
  t.false(poolStats().disabled);
});

test('overlapping encode calls still code each picture against the one before it', async (t) => {
  const e = await encoder(200, 120, { workers: 'always', blockWidth: 32, blockHeight: 32 });
  const frames = Array.from({ length: 6 }, (_, i) => bgr(200, 120, i));
  const encoded = await Promise.all(frames.map((frame) => e.encode(frame)));
  const d = new ScreenVideoDecoder();
  for (const [i, packet] of encoded.entries()) t.true(samePixels((await d.decode(packet.data))!.data, frames[i]!.data), `frame ${i}`);
});

/** A hand-built tag body: 32×16 picture, 16×16 blocks (two blocks), each block's bytes given. */
function packet(type: number, blocks: Buffer[], width = 32, height = 16): Buffer {
  const header = Buffer.alloc(5);
  header[0] = type;
  header.writeUInt16BE(width, 1);
  header.writeUInt16BE(height, 3);
  return Buffer.concat([header, ...blocks.map((b) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]))]);
}

test('the decoder refuses malformed packets with clear errors and keeps its last good picture', async (t) => {
  const d = new ScreenVideoDecoder();
  const block = deflateSync(Buffer.alloc(16 * 16 * 3, 7));
  const good = packet(0x13, [block, block]);
  const cases: Array<[string, Buffer, RegExp]> = [
    ['empty', Buffer.alloc(0), /empty/],
    ['another codec', Buffer.from([0x17, 0, 0, 0, 0]), /codec id 7/],
    ['short header', Buffer.from([0x13, 0, 32]), /shorter than its header/],
    ['inter before key', packet(0x23, [block, Buffer.alloc(0)]), /before any key frame/],
    ['zero width', packet(0x13, [], 0, 16), /size 0x16/],
    ['missing block', good.subarray(0, 5 + 2 + block.length), /ends before block 1/],
    ['truncated block', good.subarray(0, good.length - 3), /block 1 .* runs past the end/],
    ['not zlib', packet(0x13, [block, Buffer.from('not zlib at all')]), /block 1 does not inflate/],
    ['wrong pixel count', packet(0x13, [block, deflateSync(Buffer.alloc(100))]), /inflates to 100 bytes, not 768/],
    ['too many pixels', packet(0x13, [block, deflateSync(Buffer.alloc(100_000))]), /block 1/],
    ['key frame without a block', packet(0x13, [block, Buffer.alloc(0)]), /key frame leaves block 1 out/],
    ['trailing bytes', Buffer.concat([good, Buffer.from([1, 2])]), /2 bytes after the last block/],
    ['bad frame type', Buffer.from([0x43, 0, 32, 0, 16]), /frame type 4/],
  ];
  for (const [name, body, message] of cases) await t.throwsAsync(d.decode(body), { instanceOf: ScreenVideoDecodeError, message }, name);

  t.is((await d.decode(good))!.data[0], 7);
  const other = deflateSync(Buffer.alloc(16 * 16 * 3, 9));
  await t.throwsAsync(d.decode(packet(0x23, [other, Buffer.from('junk')])), { instanceOf: ScreenVideoDecodeError });
  await t.throwsAsync(d.decode(packet(0x23, [other], 48, 16)), { message: /48x16 inter frame after a 32x16 picture/ });
  const after = await d.decode(packet(0x23, [Buffer.alloc(0), other]));
  t.is(after!.data[0], 7, 'the failed inter frame did not touch the picture');
  t.is(after!.data[16 * 3], 9);
  t.is(await d.decode(Buffer.from([0x53, 0])), undefined, 'a video info frame has no picture');
});

test('a pool with nothing in flight for its idle time says so once, and not while batches keep coming', async (t) => {
  let idle = 0;
  const pool = new DeflatePool(1, () => idle++, 150);
  const batch = { frame: new SharedArrayBuffer(32 * 32 * 3), format: 'bgr24' as const, width: 32, height: 32, blockWidth: 32, blockHeight: 32, blocks: [0], level: 1, bytes: 32 * 32 * 3 };
  try {
    for (let i = 0; i < 4; i++) {
      t.is((await pool.run(batch)).length, 1);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    t.is(idle, 0, 'a batch every 50 ms keeps a 150 ms idle timer from firing');
    await new Promise((resolve) => setTimeout(resolve, 400));
    t.is(idle, 1);
  } finally {
    await pool.terminate();
  }
});

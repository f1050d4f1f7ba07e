import test from 'ava';
import { GopCache } from '../../lib/media/gop-cache';
import { makePacket, ownBytes } from '../../lib/media/packet';
import { MessageType } from '../../lib/protocol/message';

test('a payload that is a small view into a large read is copied out, so that the packet does not keep the read alive', (t) => {
  const read = Buffer.allocUnsafeSlow(64 * 1024).fill(9);
  const view = read.subarray(1000, 1400);
  const own = ownBytes(view);
  t.not(own.buffer, read.buffer);
  t.true(own.equals(view));
  const packet = makePacket(MessageType.Audio, 0, view);
  t.not(packet.payload.buffer, read.buffer, 'the packet holds the copy');
  t.true(packet.payload.equals(view));
});

test('a payload with a buffer of its own, or a slice of the shared pool, is kept as it is', (t) => {
  const whole = Buffer.allocUnsafeSlow(20_000);
  t.is(ownBytes(whole), whole);
  const mostly = whole.subarray(100);
  t.is(ownBytes(mostly), mostly, 'borrowing up to 4 KiB of a buffer is allowed');
  const pooled = Buffer.allocUnsafe(300);
  t.is(pooled.buffer.byteLength, Buffer.poolSize, 'a pooled allocation, as Node makes them');
  t.is(ownBytes(pooled), pooled);
});

test('an AVC end-of-sequence marker carries the key flag but starts no GOP: a late player still gets the last real key frame', (t) => {
  const key = makePacket(MessageType.Video, 0, Buffer.from([0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]));
  const end = makePacket(MessageType.Video, 40, Buffer.from([0x17, 2, 0, 0, 0]));
  const enhancedEnd = makePacket(MessageType.Video, 40, Buffer.from([0x92, ...Buffer.from('hvc1')]));
  t.true(key.keyFrame);
  t.false(end.keyFrame);
  t.false(end.sequenceHeader);
  t.false(enhancedEnd.keyFrame, 'Enhanced RTMP SequenceEnd (packet type 2) alike');
  const gop = new GopCache({ maxBytes: 1 << 20, maxDuration: 10_000 });
  gop.add(key);
  gop.add(end);
  t.deepEqual(gop.snapshot.map((p) => p.time), [0, 40]);
});

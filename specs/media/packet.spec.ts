import test from 'ava';
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

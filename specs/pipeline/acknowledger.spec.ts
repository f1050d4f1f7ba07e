import test from 'ava';
import { Acknowledger } from '../../lib/pipeline/acknowledger';

test('owes nothing until the peer announces a window', (t) => {
  const acks: number[] = [];
  const acknowledger = new Acknowledger((n) => acks.push(n));
  acknowledger.received(10_000);
  t.deepEqual(acks, []);
});

test('acknowledges the running total each time a window of bytes has arrived', (t) => {
  const acks: number[] = [];
  const acknowledger = new Acknowledger((n) => acks.push(n));
  acknowledger.setWindow(1000);
  for (let i = 0; i < 25; i++) acknowledger.received(100);
  t.deepEqual(acks, [1000, 2000]);
});

test('a window announced after the bytes that fill it is acknowledged at once', (t) => {
  const acks: number[] = [];
  const acknowledger = new Acknowledger((n) => acks.push(n));
  acknowledger.received(5000);
  acknowledger.setWindow(4096);
  t.deepEqual(acks, [5000]);
});

test('the sequence number wraps at 2^32', (t) => {
  const acks: number[] = [];
  const acknowledger = new Acknowledger((n) => acks.push(n));
  acknowledger.setWindow(0x80000000);
  acknowledger.received(0xffffffff);
  acknowledger.received(0x80000001);
  t.deepEqual(acks, [0xffffffff, 0x80000000]);
});

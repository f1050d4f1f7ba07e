import test from 'ava';
import { Duplex, PassThrough } from 'node:stream';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { Flushable, MediaBatch, MediaTick, PACED_BURST_LIMIT, PacedInput, TurnFlush } from '../../lib/pipeline/media-tick';
import { MessageWriter } from '../../lib/pipeline/writer';
import { ChunkStreamIds, MessageType } from '../../lib/protocol/message';

/** A publisher's transport as the connection reads it, feeding a stream that batches on `periodMs` from `from` messages a second (null: no such stream). */
function pacedTransport(periodMs: number, from: number, batch: MediaBatch | null = new MediaBatch({ flushMs: periodMs, from })): { transport: PassThrough; input: PacedInput; received: Buffer[] } {
  const transport = new PassThrough();
  const input = new PacedInput(transport, () => batch ?? undefined);
  const received: Buffer[] = [];
  transport.on('data', (bytes: Buffer) => {
    received.push(bytes);
    input.read(bytes.length);
  });
  return { transport, input, received };
}

test('below the fan-out threshold a publisher is read as its bytes come', async (t) => {
  const { transport, received } = pacedTransport(50, 1e12);
  transport.write(Buffer.alloc(100, 1));
  await nextTurn();
  await nextTurn();
  t.false(transport.isPaused());
  transport.write(Buffer.alloc(100, 2));
  await nextTurn();
  t.is(received.length, 2);
});

test('in a fan-out, a publisher that was read is held at the end of the turn and read again at the media tick, in order', async (t) => {
  const { transport, received } = pacedTransport(60, 0);
  transport.write(Buffer.from([1]));
  await nextTurn();
  await nextTurn();
  t.true(transport.isPaused(), 'held after the turn in which it read');
  transport.write(Buffer.from([2]));
  transport.write(Buffer.from([3]));
  await sleep(20);
  t.is(received.length, 1, 'what came meanwhile waits for the tick');
  await sleep(80);
  t.deepEqual(Buffer.concat(received), Buffer.from([1, 2, 3]));
  // On a loaded machine this check can land in the very turn of a later tick, which reads and holds at that
  // turn's end, or between turns the machine stretches: look over a few ticks' worth of turns.
  for (const deadline = Date.now() + 500; !transport.isPaused() && Date.now() < deadline; ) await nextTurn();
  t.true(transport.isPaused(), 'held again after the tick');
});

test('a publisher whose burst reaches the limit is read freely, not held', async (t) => {
  const { transport, input } = pacedTransport(60, 0);
  input.read(PACED_BURST_LIMIT);
  await nextTurn();
  await nextTurn();
  t.false(transport.isPaused());
  transport.write(Buffer.alloc(10));
  await nextTurn();
  await nextTurn();
  t.false(transport.isPaused(), 'and stays unheld for a while after');
});

test('with no media tick (mediaFlushMs 0) nothing is held', async (t) => {
  const { transport } = pacedTransport(0, 0);
  transport.write(Buffer.alloc(10));
  await nextTurn();
  await nextTurn();
  t.false(transport.isPaused());
});

test('a publisher that feeds no batching stream is read as its bytes come', async (t) => {
  const { transport, received } = pacedTransport(60, 0, null);
  transport.write(Buffer.alloc(10));
  await nextTurn();
  await nextTurn();
  t.false(transport.isPaused());
  transport.write(Buffer.alloc(10));
  await nextTurn();
  t.is(received.length, 2);
});

test('media read at a tick leaves with that tick’s flush, not the next one', async (t) => {
  const period = 200;
  const writes: Buffer[] = [];
  const player = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk);
      done();
    },
  });
  const writer = new MessageWriter(player);
  const batch = new MediaBatch({ flushMs: period, from: 0 });
  const { transport } = pacedTransport(period, 0, batch);
  const header = { chunkStreamId: ChunkStreamIds.video, timestamp: 0, typeId: MessageType.Video, streamId: 1 };
  const heldAt = performance.now();
  transport.write(Buffer.from([0]));
  await sleep(period * 0.75);
  // A recent flush: media queued now would wait for the tick.
  writer.send({ chunkStreamId: ChunkStreamIds.command, timestamp: 0, typeId: MessageType.CommandAmf0, streamId: 0, payload: Buffer.from([9]) });
  await nextTurn();
  t.is(writes.length, 1);
  let relayedAt = 0;
  transport.on('data', () => {
    if (relayedAt === 0) relayedAt = performance.now();
    writer.sendShared(header, Buffer.alloc(2000, 5), new Map(), batch);
  });
  transport.write(Buffer.from([1]));
  while (writes.length < 2 && performance.now() - heldAt < period * 4) await sleep(5);
  t.is(writes.length, 2, 'the relayed frame was written');
  t.true(relayedAt > 0);
  // Written in the tick's turn; the tick after is a whole period later.
  t.true(performance.now() - relayedAt < period * 0.5, `written ${Math.round(performance.now() - relayedAt)} ms after it was read`);
  writer.end();
});

test('the end-of-turn flush runs each waiting writer once per batch; what a flush queues goes in the next batch; a writer that throws is aborted and the rest still flush', async (t) => {
  const turn = new TurnFlush();
  const log: string[] = [];
  let requeue = true;
  const writer = (name: string, flush: () => void = () => undefined): Flushable => ({
    flush() {
      log.push(`flush ${name}`);
      flush();
    },
    abort(error: unknown) {
      log.push(`abort ${name}: ${(error as Error).message}`);
    },
  });
  const a: Flushable = writer('a', () => {
    if (requeue) turn.add(a);
    requeue = false;
  });
  const broken = writer('broken', () => {
    throw new Error('socket gone');
  });
  for (const w of [a, broken, writer('c')]) turn.add(w);
  await nextTurn();
  t.deepEqual(log, ['flush a', 'flush broken', 'abort broken: socket gone', 'flush c']);
  await nextTurn();
  t.deepEqual(log.slice(4), ['flush a'], 'a, queued again by its own flush, in the next turn only');
  await nextTurn();
  t.is(log.length, 5, 'nothing left waiting');
});

test('a tick’s flush runs in slices: between them the event loop turns, and every writer is flushed once, in order', async (t) => {
  const tick = new MediaTick(5, 2);
  const flushed: number[] = [];
  let turnsBetween = 0;
  const busy = (i: number): Flushable => ({
    flush() {
      flushed.push(i);
      // Each flush takes about 1 ms, as a write of a big batch may.
      const until = performance.now() + 1;
      while (performance.now() < until);
    },
    abort() {},
  });
  for (let i = 0; i < 20; i++) tick.add(busy(i));
  const other = setInterval(() => turnsBetween++, 0);
  while (flushed.length < 20) await nextTurn();
  clearInterval(other);
  t.deepEqual(flushed, Array.from({ length: 20 }, (_, i) => i));
  t.is(tick.waiting, 0);
  t.true(turnsBetween >= 3, `the loop turned ${turnsBetween} times while 20 ms of flushing went on`);
});

test('a stream batches once its own players are sent mediaBatchFrom messages a second, and stops when they are not', async (t) => {
  const batch = new MediaBatch({ flushMs: 100, from: 100 });
  const start = performance.now();
  t.false(batch.active(start), 'quiet at first');
  batch.counted(150);
  t.true(batch.active(start + 1_000), '150 messages in a second');
  batch.counted(20);
  t.false(batch.active(start + 2_000), '20 in the next');
  t.true(new MediaBatch({ flushMs: 100, from: 0 }).active(), 'from 0: from the first message');
  t.false(new MediaBatch({ flushMs: 0, from: 0 }).active(), 'flushMs 0: never');
});

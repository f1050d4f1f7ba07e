import test from 'ava';
import { Duplex } from 'node:stream';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { BodyCache } from '../../lib/pipeline/bodies';
import { MediaBatch } from '../../lib/pipeline/media-tick';
import { FIRST_ARENA, MessageWriter } from '../../lib/pipeline/writer';
import { ChunkDecoder } from '../../lib/protocol/chunk/decoder';
import { ChunkStreamIds, MessageType, RtmpMessage } from '../../lib/protocol/message';

/** A transport that records each write the writer hands it, as one entry per system call would be. */
function recordingTransport(): { transport: Duplex; writes: Buffer[]; ended: () => boolean } {
  const writes: Buffer[] = [];
  let ended = false;
  const transport = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk);
      done();
    },
    writev(chunks, done) {
      writes.push(Buffer.concat(chunks.map((c) => c.chunk as Buffer)));
      done();
    },
    final(done) {
      ended = true;
      done();
    },
  });
  return { transport, writes, ended: () => ended };
}

const header = (timestamp: number, typeId = MessageType.Video): Omit<RtmpMessage, 'payload'> => ({
  chunkStreamId: typeId === MessageType.Audio ? ChunkStreamIds.audio : ChunkStreamIds.video,
  timestamp,
  typeId,
  streamId: 1,
});

const command = (n: number): RtmpMessage => ({ chunkStreamId: ChunkStreamIds.command, timestamp: 0, typeId: MessageType.CommandAmf0, streamId: 0, payload: Buffer.from([n]) });

/** A stream's batching that is on from its first message, as a large fan-out's is. */
const batching = (flushMs: number, from = 0): MediaBatch => new MediaBatch({ flushMs, from });

/** A writer that has just flushed a command, so the next media does not count as the first after a pause. */
async function justFlushed(): Promise<ReturnType<typeof recordingTransport> & { writer: MessageWriter }> {
  const recording = recordingTransport();
  const writer = new MessageWriter(recording.transport);
  writer.send(command(1));
  await nextTurn();
  return { ...recording, writer };
}

function decodeAll(writes: Buffer[]): RtmpMessage[] {
  const messages: RtmpMessage[] = [];
  const decoder = new ChunkDecoder((message) => messages.push(message));
  for (const bytes of writes) decoder.push(bytes);
  return messages;
}

test('commands leave at the end of the turn, in one write, whatever the media window', async (t) => {
  const { transport, writes } = recordingTransport();
  const writer = new MessageWriter(transport);
  writer.send(command(1));
  writer.send(command(2));
  t.is(writes.length, 0, 'nothing is written inside the turn');
  await nextTurn();
  t.is(writes.length, 1);
  t.deepEqual(decodeAll(writes).map((m) => m.payload[0]), [1, 2]);
});

test('media of a batching stream after a recent flush waits for its tick and leaves with the media after it', async (t) => {
  const { transport, writes } = recordingTransport();
  const writer = new MessageWriter(transport);
  const batch = batching(60);
  const bodies = new Map<number, Buffer>();
  writer.send(command(1));
  await nextTurn();
  t.is(writes.length, 1);
  writer.sendShared(header(0), Buffer.alloc(3000, 1), bodies, batch);
  await nextTurn();
  await nextTurn();
  t.is(writes.length, 1, 'the frame waits for the tick');
  writer.sendShared(header(10, MessageType.Audio), Buffer.alloc(200, 2), new Map(), batch);
  await sleep(120);
  t.is(writes.length, 2, 'both messages left in one write');
  const messages = decodeAll(writes);
  t.deepEqual(messages.map((m) => [m.typeId, m.payload.length]), [
    [MessageType.CommandAmf0, 1],
    [MessageType.Video, 3000],
    [MessageType.Audio, 200],
  ]);
});

test('the first media after a quiet spell leaves at the end of the turn, even in a batching stream', async (t) => {
  const { transport, writes } = recordingTransport();
  const writer = new MessageWriter(transport);
  writer.sendShared(header(0), Buffer.alloc(5000, 7), new Map(), batching(10_000));
  await nextTurn();
  t.is(writes.length, 1);
  t.is(decodeAll(writes)[0]!.payload.length, 5000);
});

test('a command written behind waiting media takes the media with it, in order', async (t) => {
  const { writes, writer } = await justFlushed();
  writer.sendShared(header(0), Buffer.alloc(2000, 7), new Map(), batching(10_000));
  writer.send(command(2));
  await nextTurn();
  t.is(writes.length, 2);
  t.deepEqual(decodeAll(writes).map((m) => m.typeId), [MessageType.CommandAmf0, MessageType.Video, MessageType.CommandAmf0]);
});

test('64 KiB of pending bytes are written at once, without waiting', async (t) => {
  const { writes, writer } = await justFlushed();
  const batch = batching(10_000);
  const bodies = new Map<number, Buffer>();
  for (let i = 0; i < 7; i++) writer.sendShared(header(i * 33), Buffer.alloc(10_000, i), bodies, batch);
  t.is(writes.length, 2, 'the seventh frame crossed 64 KiB and flushed synchronously');
  t.is(writer.queuedBytes, 0, 'what the transport took at once is no backlog');
  t.is(decodeAll(writes).length, 1 + 7);
});

test('media of a stream with no batch leaves at the end of its turn', async (t) => {
  const { writes, writer } = await justFlushed();
  writer.sendShared(header(0), Buffer.alloc(2000, 7), new Map());
  await nextTurn();
  t.is(writes.length, 2);
});

test('media of a stream that does not batch now leaves at the end of its turn, and takes what waits for another stream’s tick with it', async (t) => {
  const { writes, writer } = await justFlushed();
  writer.sendShared(header(0), Buffer.alloc(2000, 7), new Map(), batching(10_000));
  await nextTurn();
  t.is(writes.length, 1, 'the batching stream’s frame waits');
  writer.sendShared(header(0, MessageType.Audio), Buffer.alloc(100, 3), new Map(), batching(10_000, 1e12));
  await nextTurn();
  t.is(writes.length, 2, 'the quiet stream’s frame left at the end of its turn');
  t.deepEqual(decodeAll(writes).map((m) => m.typeId), [MessageType.CommandAmf0, MessageType.Video, MessageType.Audio]);
});

test('end() writes what is waiting before ending the transport', async (t) => {
  const { writes, writer, ended } = await justFlushed();
  writer.sendShared(header(0), Buffer.alloc(2000, 7), new Map(), batching(10_000));
  writer.end();
  await nextTurn();
  t.true(ended());
  t.deepEqual(decodeAll(writes).map((m) => m.typeId), [MessageType.CommandAmf0, MessageType.Video]);
});

test('below mediaBatchFrom media messages a second to the stream’s players, media is not held back', async (t) => {
  const { writes, writer } = await justFlushed();
  writer.sendShared(header(0), Buffer.alloc(2000, 7), new Map(), batching(10_000, 1e12));
  await nextTurn();
  t.is(writes.length, 2, 'the frame left at the end of its turn');
});

test('once a stream sends mediaBatchFrom media messages a second, its media waits for the tick; another stream’s does not', async (t) => {
  const { transport, writes } = recordingTransport();
  const writer = new MessageWriter(transport);
  const busy = batching(10_000, 50);
  // 200 messages in about a second to the busy stream's players: 200 a second.
  for (let i = 0; i < 10; i++) {
    for (let j = 0; j < 20; j++) writer.sendShared(header(i * 100 + j), Buffer.alloc(100, 1), new Map(), busy);
    writer.flush();
    await sleep(110);
  }
  t.true(busy.active(), `${busy.messagesPerSecond} messages a second`);
  const before = writes.length;
  writer.send(command(1));
  await nextTurn();
  writer.sendShared(header(5_000), Buffer.alloc(2000, 7), new Map(), busy);
  await nextTurn();
  t.is(writes.length, before + 1, 'the frame after the command is held for the tick');
  const other = recordingTransport();
  const otherWriter = new MessageWriter(other.transport);
  otherWriter.send(command(2));
  await nextTurn();
  otherWriter.sendShared(header(5_000), Buffer.alloc(2000, 7), new Map(), batching(10_000, 50));
  await nextTurn();
  t.is(other.writes.length, 2, 'a stream of its own, quiet, is not held by the busy one');
  writer.end();
  otherWriter.end();
});

test('a transport that throws while a batch is written is destroyed, and the other writers of that batch still flush', async (t) => {
  const healthy = recordingTransport();
  const broken = new Duplex({
    read() {},
    write() {
      throw new Error('socket went away');
    },
  });
  const failures: Error[] = [];
  broken.on('error', (error) => failures.push(error));
  const brokenWriter = new MessageWriter(broken);
  const healthyWriter = new MessageWriter(healthy.transport);
  brokenWriter.send(command(1));
  healthyWriter.send(command(2));
  await nextTurn();
  await nextTurn();
  t.true(broken.destroyed);
  t.regex(failures[0]?.message ?? '', /socket went away/);
  t.deepEqual(decodeAll(healthy.writes).map((m) => m.payload[0]), [2]);
});

test('an arena and pending list a burst grew are let go after a batch that needs little of them', async (t) => {
  const { writes, writer } = await justFlushed();
  // The arena holds chunk headers: a burst of many small messages (a new player's GOP) grows it.
  const audio = (i: number) => writer.sendShared(header(i * 23, MessageType.Audio), Buffer.alloc(10 + (i % 2), i % 256), new Map());
  for (let i = 0; i < 2000; i++) audio(i);
  t.true(writer.arenaBytes >= 8 * 1024, `a burst of 2000 audio frames grew the arena to ${writer.arenaBytes} bytes`);
  await nextTurn();
  audio(2000);
  t.true(writer.arenaBytes >= 8 * 1024, 'kept until a batch has used it');
  t.true(writer.listRoom > 32, `the burst's list (${writer.listRoom} entries) is kept too`);
  await nextTurn();
  t.is(writer.arenaBytes, 0, 'a batch of one frame lets it go');
  t.true(writer.listRoom <= 32, `and the list (${writer.listRoom} entries)`);
  audio(2001);
  t.is(writer.arenaBytes, FIRST_ARENA, 'the next batch starts small');
  await nextTurn();
  const received = decodeAll(writes).filter((m) => m.typeId === MessageType.Audio);
  t.is(received.length, 2002);
  t.true(received.every((m, i) => m.payload[0] === i % 256 && m.timestamp === i * 23));
});

test('a payload copied into the batch is cut into chunks there: no shared body is built for it', async (t) => {
  const { transport, writes } = recordingTransport();
  const writer = new MessageWriter(transport);
  const bodies = new BodyCache();
  // Above one chunk (128 bytes), below what a flush writes by reference (8 KiB).
  const payload = Buffer.from(Array.from({ length: 6000 }, (_, i) => i % 253));
  writer.sendShared(header(40), payload, bodies);
  writer.sendShared(header(80), payload, bodies);
  await nextTurn();
  t.deepEqual(bodies.keys(), [], 'no body held by the packet');
  const sent = Buffer.concat(writes);
  t.is(writer.bytesSent, sent.length, 'bytesSent counts the continuation headers');
  t.deepEqual(decodeAll(writes).map((m) => [m.timestamp, m.payload.equals(payload)]), [[40, true], [80, true]]);
});

test('a payload large enough to be written by reference gets one shared body, which the next player reuses', async (t) => {
  const bodies = new BodyCache();
  const payload = Buffer.from(Array.from({ length: 30_000 }, (_, i) => i % 249));
  const players = [recordingTransport(), recordingTransport()];
  const writers = players.map(({ transport }) => new MessageWriter(transport));
  writers[0]!.sendShared(header(0), payload, bodies);
  await nextTurn();
  t.is(bodies.keys().length, 1, 'the first flush built the body');
  const [key] = bodies.keys();
  const built = bodies.get(key!);
  writers[1]!.sendShared(header(0), payload, bodies);
  await nextTurn();
  t.is(bodies.get(key!), built, 'the second player used the same body');
  for (const { writes } of players) t.true(decodeAll(writes)[0]!.payload.equals(payload));
});

test('a packet is cut into chunk pieces once for all its players on the same chunk size, and the cut is not kept for another size', async (t) => {
  const bodies = new BodyCache();
  const payload = Buffer.from(Array.from({ length: 6000 }, (_, i) => i % 251));
  const first = bodies.piecesOf(payload, 4096);
  t.is(bodies.piecesOf(payload, 4096), first, 'the same pieces the second time');
  const other = bodies.piecesOf(payload, 128);
  t.is(other.length, 47);
  t.not(bodies.piecesOf(payload, 128), other, 'another chunk size is cut each time');
  t.is(bodies.piecesOf(payload, 4096), first, 'the first size is still kept');
  // Two players on different chunk sizes both get their bytes right from the same packet.
  const players = [recordingTransport(), recordingTransport()];
  const writers = players.map(({ transport }) => new MessageWriter(transport));
  writers[1]!.setChunkSize(4096);
  for (const writer of writers) writer.sendShared(header(40), payload, bodies);
  await nextTurn();
  for (const { writes } of players) t.true(decodeAll(writes).at(-1)!.payload.equals(payload));
});

test('a body cache holds one layout without a map and more beside it', (t) => {
  const cache = new BodyCache();
  t.is(cache.get(1), undefined);
  const [a, b, c] = [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')];
  cache.set(4096 * 65_600 + 6, a);
  t.is(cache.get(4096 * 65_600 + 6), a);
  cache.set(128 * 65_600 + 6, b);
  cache.set(4096 * 65_600 + 4, c);
  t.is(cache.get(128 * 65_600 + 6), b);
  t.is(cache.get(4096 * 65_600 + 4), c);
  t.is(cache.get(4096 * 65_600 + 6), a, 'the first layout is kept');
  t.deepEqual(cache.keys(), [4096 * 65_600 + 6, 128 * 65_600 + 6, 4096 * 65_600 + 4]);
});

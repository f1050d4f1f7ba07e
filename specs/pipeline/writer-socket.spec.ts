import test from 'ava';
import { once } from 'node:events';
import { createServer, Socket } from 'node:net';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { SharedBodies } from '../../lib/pipeline/bodies';
import { MediaBatch } from '../../lib/pipeline/media-tick';
import { MessageWriter } from '../../lib/pipeline/writer';
import { ChunkDecoder } from '../../lib/protocol/chunk/decoder';
import { ChunkStreamIds, MessageType, RtmpMessage } from '../../lib/protocol/message';

/** A connected loopback pair: the writer's socket and the peer that reads. */
async function socketPair(): Promise<{ local: Socket; peer: Socket; close: () => void }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const accepted = once(server, 'connection');
  const local = new Socket();
  local.connect(address.port, '127.0.0.1');
  await once(local, 'connect');
  const [peer] = (await accepted) as [Socket];
  return {
    local,
    peer,
    close: () => {
      local.destroy();
      peer.destroy();
      server.close();
    },
  };
}

/** Decodes everything the peer reads; `until(n)` waits for the first n messages. */
function collect(peer: Socket): { messages: RtmpMessage[]; until: (count: number) => Promise<RtmpMessage[]> } {
  const messages: RtmpMessage[] = [];
  const decoder = new ChunkDecoder((message) => messages.push({ ...message, payload: Buffer.from(message.payload) }));
  peer.on('data', (bytes: Buffer) => decoder.push(bytes));
  const until = async (count: number): Promise<RtmpMessage[]> => {
    while (messages.length < count) await sleep(5);
    return messages;
  };
  return { messages, until };
}

/** A payload whose every byte says which message it belongs to and where. */
function payload(index: number, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = (index * 31 + i) & 0xff;
  return bytes;
}

function media(index: number): { header: Omit<RtmpMessage, 'payload'>; payload: Buffer } {
  // Audio-sized (copied in beside the header) and video-sized (shared bodies) messages, interleaved.
  const audio = index % 3 !== 0;
  return {
    header: {
      chunkStreamId: audio ? ChunkStreamIds.audio : ChunkStreamIds.video,
      timestamp: index * 21,
      typeId: audio ? MessageType.Audio : MessageType.Video,
      streamId: 1,
    },
    payload: payload(index, audio ? 200 + (index % 7) * 90 : 3000 + (index % 5) * 4000),
  };
}

function check(t: { is: (a: unknown, b: unknown, m?: string) => void; true: (a: boolean, m?: string) => void }, received: RtmpMessage[], count: number): void {
  t.is(received.length, count);
  for (let i = 0; i < count; i++) {
    const { header, payload: expected } = media(i);
    const got = received[i]!;
    t.is(got.timestamp, header.timestamp, `message ${i} timestamp`);
    t.is(got.typeId, header.typeId, `message ${i} type`);
    t.true(got.payload.equals(expected), `message ${i} payload intact`);
  }
}

test('two writers on real sockets, batched, interleaved: each peer reads every message intact', async (t) => {
  const pairs = [await socketPair(), await socketPair()];
  const writers = pairs.map((pair) => new MessageWriter(pair.local));
  const batch = new MediaBatch({ flushMs: 20, from: 0 });
  const count = 300;
  const received = pairs.map((pair) => collect(pair.peer).until(count));
  for (let i = 0; i < count; i++) {
    // One packet to both players, as a fan-out does: the bodies are shared between them.
    const bodies: SharedBodies = new Map();
    const { header, payload } = media(i);
    for (const writer of writers) writer.sendShared(header, payload, bodies, batch);
    if (i % 10 === 9) await sleep(1);
  }
  const [first, second] = await Promise.all(received);
  check(t, first!, count);
  check(t, second!, count);
  for (const pair of pairs) pair.close();
});

test('a peer that does not read keeps its bytes while other flushes go on: nothing it was sent is overwritten', async (t) => {
  const slow = await socketPair();
  const fast = await socketPair();
  slow.peer.pause();
  const slowWriter = new MessageWriter(slow.local);
  const fastWriter = new MessageWriter(fast.local);
  const fastReceived = collect(fast.peer);
  // Until the slow peer's socket holds a backlog, and a good while after.
  let count = 0;
  let backloggedAt: number | undefined;
  while (count < 20_000 && (backloggedAt === undefined || count < backloggedAt + 300)) {
    const bodies: SharedBodies = new Map();
    const { header, payload } = media(count++);
    slowWriter.sendShared(header, payload, bodies);
    fastWriter.sendShared(header, payload, bodies);
    await nextTurn();
    if (backloggedAt === undefined && slow.local.writableLength > 0) backloggedAt = count;
  }
  t.not(backloggedAt, undefined, 'the slow peer built up a backlog, so the case was exercised');
  check(t, await fastReceived.until(count), count);
  const slowReceived = collect(slow.peer);
  slow.peer.resume();
  check(t, await slowReceived.until(count), count);
  slow.close();
  fast.close();
});

test('many small messages in one batch outgrow the first header room and stay in order', async (t) => {
  const pair = await socketPair();
  const writer = new MessageWriter(pair.local);
  const count = 40;
  const received = collect(pair.peer);
  writer.send({ chunkStreamId: ChunkStreamIds.command, timestamp: 0, typeId: MessageType.CommandAmf0, streamId: 0, payload: Buffer.from([5]) });
  await nextTurn();
  // Only audio-sized messages: every one is copied in beside its header.
  const small = (i: number): { header: Omit<RtmpMessage, 'payload'>; payload: Buffer } => ({
    header: { chunkStreamId: ChunkStreamIds.audio, timestamp: i * 23, typeId: MessageType.Audio, streamId: 1 },
    payload: payload(i, 300 + i),
  });
  const batch = new MediaBatch({ flushMs: 10_000, from: 0 });
  for (let i = 0; i < count; i++) writer.sendShared(small(i).header, small(i).payload, new Map(), batch);
  writer.flush();
  // The command that went first, then the batch.
  const messages = (await received.until(count + 1)).slice(1);
  t.is(messages.length, count);
  messages.forEach((message, i) => t.true(message.payload.equals(small(i).payload), `message ${i}`));
  pair.close();
});

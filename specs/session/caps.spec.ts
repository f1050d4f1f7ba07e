import test, { ExecutionContext } from 'ava';
import { AmfValue } from '../../lib/protocol/amf/values';
import { createServer, RtmpClient, RtmpServer, ServerOptions } from '../../lib';
import { encodeControl } from '../../lib/protocol/control';
import { MessageType } from '../../lib/protocol/message';
import { assertLogged, RawPeer, recordingLogger } from '../helpers/raw-peer';

/** A server with its caps set low, an app that accepts everything and a call that never answers. */
async function capped(options: ServerOptions): Promise<{ server: RtmpServer; port: number; log: ReturnType<typeof recordingLogger> }> {
  const log = recordingLogger();
  const server = createServer({ logger: log, ...options });
  server.onConnect({ connect: () => true });
  server.onCall('hang', () => new Promise<AmfValue>(() => undefined));
  server.onCall('echo', (call) => [...call.args]);
  server.onStream({ publish: () => true });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, port, log };
}

async function bystanderEchoes(t: ExecutionContext, port: number): Promise<void> {
  const client = await RtmpClient.connect(`rtmp://127.0.0.1:${port}/app`);
  t.deepEqual(await client.call('echo', 'fine'), ['fine']);
  await client.close();
}

test('a peer that opens more chunk streams than maxChunkStreams is closed with ERR_CHUNK_STREAM_ID; others go on', async (t) => {
  const { server, port, log } = await capped({ maxChunkStreams: 8 });
  try {
    const peer = await RawPeer.connected(port, 'app');
    // The connect already used chunk stream 3 (and control 2 on our side only): seven more are allowed, then one too many.
    for (let id = 10; id < 20; id++) peer.send({ chunkStreamId: id, timestamp: 0, typeId: MessageType.DataAmf0, streamId: 0, payload: Buffer.from('0500', 'hex') });
    await peer.closed;
    await assertLogged(t, log, /ERR_CHUNK_STREAM_ID.*at most 8/);
    await bystanderEchoes(t, port);
  } finally {
    await server.close();
  }
});

test('partial messages beyond maxPendingBytes close the connection with ERR_MESSAGE_TOO_LARGE', async (t) => {
  const { server, port, log } = await capped({ maxPendingBytes: 64 * 1024 });
  try {
    const peer = await RawPeer.connected(port, 'app');
    // Ten messages that each promise 60 KB, sent a 128-byte chunk at a time in turn: none completes, all are held.
    for (let round = 0; round < 60; round++) {
      for (let id = 10; id < 20; id++) {
        let header: Buffer;
        if (round === 0) {
          header = Buffer.alloc(12);
          header[0] = id; // fmt 0
          header.writeUIntBE(60_000, 4, 3);
          header[7] = MessageType.Video;
        } else header = Buffer.of(0xc0 | id); // fmt 3: the next chunk of the same message
        peer.socket.write(Buffer.concat([header, Buffer.alloc(128)]));
      }
    }
    await peer.closed;
    await assertLogged(t, log, /ERR_MESSAGE_TOO_LARGE.*incomplete messages/);
    await bystanderEchoes(t, port);
  } finally {
    await server.close();
  }
});

test('createStream beyond maxStreams, publishes beyond maxPublishes and calls beyond maxPendingCalls are refused, and the connection goes on', async (t) => {
  const { server, port, log } = await capped({ maxStreams: 3, maxPublishes: 2, maxPendingCalls: 2 });
  try {
    const client = await RtmpClient.connect(`rtmp://127.0.0.1:${port}/app`);
    const streams = [await client.createStream(), await client.createStream(), await client.createStream()];
    await t.throwsAsync(client.createStream(), { message: /at most 3 streams per connection/ });
    await streams[0]!.publish('one');
    await streams[1]!.publish('two');
    await t.throwsAsync(streams[2]!.publish('three'), { message: /NetStream\.Publish\.Denied: At most 2 streams published per connection/ });
    await assertLogged(t, log, /publish refused: 2 streams published already \(at most 2\)/);
    void client.call('hang').catch(() => undefined);
    void client.call('hang').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await t.throwsAsync(client.call('echo', 'x'), { message: /more than 2 calls in flight/ });
    await client.close();
  } finally {
    await server.close();
  }
});

test('ping requests beyond maxPingsPerSecond are left unanswered', async (t) => {
  const { server, port } = await capped({ maxPingsPerSecond: 5 });
  try {
    const peer = await RawPeer.connected(port, 'app');
    for (let i = 0; i < 50; i++) peer.send(encodeControl({ kind: 'pingRequest', timestamp: i }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const answers = peer.received.filter((m) => m.typeId === MessageType.UserControl && m.payload.readUInt16BE(0) === 7).map((m) => m.payload.readUInt32BE(2));
    t.deepEqual(answers, [0, 1, 2, 3, 4]);
    peer.destroy();
  } finally {
    await server.close();
  }
});

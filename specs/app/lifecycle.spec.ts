import test from 'ava';
import { Duplex, PassThrough } from 'node:stream';
import { createServer, silentLogger } from '../../lib';
import { installDemo } from '../../lib/demo/demo-app';
import { ChunkDecoder } from '../../lib/protocol/chunk/decoder';
import { ChunkEncoder } from '../../lib/protocol/chunk/encoder';
import { decodeCommand, encodeCommand } from '../../lib/protocol/commands';
import { ClientHandshake } from '../../lib/protocol/handshake';
import { MessageType, RtmpMessage } from '../../lib/protocol/message';
import { RawPeer, until } from '../helpers/raw-peer';

/** Two in-memory duplex ends joined back to back: a transport with no socket at all. */
function duplexPair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  return [Duplex.from({ readable: bToA, writable: aToB }), Duplex.from({ readable: aToB, writable: bToA })];
}

test('a session runs over any duplex stream, not only TCP', async (t) => {
  const server = createServer({ logger: silentLogger });
  installDemo(server);
  const [serverEnd, clientEnd] = duplexPair();
  const connection = server.handle(serverEnd, 'memory:1');
  t.truthy(connection);

  const handshake = new ClientHandshake();
  const encoder = new ChunkEncoder();
  const replies: RtmpMessage[] = [];
  const decoder = new ChunkDecoder((m) => replies.push(m));
  clientEnd.on('data', (data: Buffer) => {
    if (!handshake.done) {
      const step = handshake.push(data);
      for (const out of step.output) clientEnd.write(out);
      if (step.done) {
        decoder.push(step.leftover);
        const connect = encodeCommand({ name: 'connect', transactionId: 1, commandObject: { app: 'demo' }, args: [] });
        clientEnd.write(encoder.encode({ chunkStreamId: 3, timestamp: 0, streamId: 0, ...connect }));
        const echo = encodeCommand({ name: 'echo', transactionId: 2, commandObject: null, args: [1, 'two'] });
        clientEnd.write(encoder.encode({ chunkStreamId: 3, timestamp: 0, streamId: 0, ...echo }));
      }
      return;
    }
    decoder.push(data);
  });
  clientEnd.write(handshake.start());
  await until(() => replies.some((m) => m.typeId === MessageType.CommandAmf0 && decodeCommand(m.typeId, m.payload).transactionId === 2));
  const echo = replies.map((m) => (m.typeId === MessageType.CommandAmf0 ? decodeCommand(m.typeId, m.payload) : undefined)).find((c) => c?.transactionId === 2);
  t.deepEqual(echo, { name: '_result', transactionId: 2, commandObject: null, args: [[1, 'two']] });
  t.is(connection!.state, 'connected');
  await server.close();
  t.is(connection!.state, 'closed');
});

test('closing connections leaves no listeners, timers or connections behind', async (t) => {
  const server = createServer({ logger: silentLogger, pingInterval: 50, idleTimeout: 10_000 });
  installDemo(server);
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const baseline = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const transports: Duplex[] = [];
  server.connections$.subscribe((c) => transports.push((c as unknown as { transport: Duplex }).transport));
  for (let round = 0; round < 10; round++) {
    const peer = await RawPeer.connected(port, 'demo');
    peer.destroy();
  }
  await until(() => server.connections.size === 0);
  // Close-grace timers are unref'd and end by themselves; the upkeep intervals must be gone now.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  t.true(timers <= baseline + 10, `timers: ${baseline} before, ${timers} after`);
  for (const transport of transports) {
    t.is(transport.listenerCount('data'), 0);
    t.true(transport.listenerCount('end') <= 1, 'only the socket own end listener remains');
  }
  await server.close();
});

test('close() lets a call in flight finish before closing its connection', async (t) => {
  const server = createServer({ logger: silentLogger });
  installDemo(server);
  server.onCall('slow', () => new Promise((resolve) => setTimeout(() => resolve('finished'), 300)));
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const peer = await RawPeer.connected(port, 'demo');
  peer.command({ name: 'slow', transactionId: 5, commandObject: null, args: [] });
  await until(() => [...server.connections][0]!.stats().pendingCalls === 1);
  await server.close();
  const reply = peer.commands().find((c) => c.transactionId === 5);
  t.deepEqual(reply?.args, ['finished']);
  await peer.closed;
});

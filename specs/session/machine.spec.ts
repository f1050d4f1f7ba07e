import test from 'ava';
import { createActor, SimulatedClock } from 'xstate';
import { connectionMachine } from '../../lib/session/machine';

function start(closeTransport: () => void = () => undefined) {
  const clock = new SimulatedClock();
  const actor = createActor(connectionMachine, {
    clock,
    input: { id: '1', remoteAddress: '127.0.0.1:1', timeouts: { handshake: 5_000, connect: 8_000 } },
  });
  actor.on('closeTransport', closeTransport);
  actor.start();
  return { actor, clock };
}

test('walks handshake → awaitingConnect → authorizing → connected → streaming and back', (t) => {
  const { actor } = start();
  const seen: string[] = [String(actor.getSnapshot().value)];
  actor.subscribe((s) => seen.push(String(s.value)));
  actor.send({ type: 'HANDSHAKE_DONE' });
  actor.send({ type: 'CONNECT_REQUESTED', app: 'live' });
  actor.send({ type: 'CONNECT_ACCEPTED' });
  actor.send({ type: 'STREAM_ACTIVE' });
  actor.send({ type: 'STREAM_ACTIVE' });
  actor.send({ type: 'STREAM_INACTIVE' });
  t.is(actor.getSnapshot().value, 'streaming', 'one stream is still active');
  actor.send({ type: 'STREAM_INACTIVE' });
  t.deepEqual([...new Set(seen)], ['handshake', 'awaitingConnect', 'authorizing', 'connected', 'streaming']);
  t.is(actor.getSnapshot().value, 'connected');
  t.is(actor.getSnapshot().context.app, 'live');
});

test('a stalled handshake times out into closing and asks to close the transport', (t) => {
  let closed = 0;
  const { actor, clock } = start(() => closed++);
  clock.increment(4_999);
  t.is(actor.getSnapshot().value, 'handshake');
  clock.increment(1);
  t.is(actor.getSnapshot().value, 'closing');
  t.is(actor.getSnapshot().context.closeReason, 'handshake timed out');
  t.is(closed, 1);
});

test('a peer that never sends connect is dropped after the connect timeout', (t) => {
  const { actor, clock } = start();
  actor.send({ type: 'HANDSHAKE_DONE' });
  clock.increment(8_000);
  t.is(actor.getSnapshot().value, 'closing');
  t.is(actor.getSnapshot().context.closeReason, 'no connect command after the handshake');
});

test('the handshake timer stops once the handshake is done', (t) => {
  const { actor, clock } = start();
  actor.send({ type: 'HANDSHAKE_DONE' });
  actor.send({ type: 'CONNECT_REQUESTED', app: 'demo' });
  clock.increment(60_000);
  t.is(actor.getSnapshot().value, 'authorizing');
});

test('a rejected connect closes with the rejection as the reason', (t) => {
  const { actor } = start();
  actor.send({ type: 'HANDSHAKE_DONE' });
  actor.send({ type: 'CONNECT_REQUESTED', app: 'nope' });
  actor.send({ type: 'CONNECT_REJECTED', reason: 'connect rejected: unknown app' });
  t.is(actor.getSnapshot().value, 'closing');
  t.is(actor.getSnapshot().context.closeReason, 'connect rejected: unknown app');
});

test('CLOSE from any state goes to closing once; the transport closing ends the actor', (t) => {
  let closed = 0;
  const { actor } = start(() => closed++);
  actor.send({ type: 'HANDSHAKE_DONE' });
  actor.send({ type: 'CLOSE', reason: 'ERR_CHUNK_SIZE: bad' });
  actor.send({ type: 'CLOSE', reason: 'second' });
  t.is(closed, 1);
  t.is(actor.getSnapshot().context.closeReason, 'ERR_CHUNK_SIZE: bad');
  actor.send({ type: 'TRANSPORT_CLOSED' });
  t.is(actor.getSnapshot().value, 'closed');
  t.is(actor.getSnapshot().status, 'done');
});

test('the transport closing first records that the peer left', (t) => {
  const { actor } = start();
  actor.send({ type: 'TRANSPORT_CLOSED' });
  t.is(actor.getSnapshot().value, 'closed');
  t.is(actor.getSnapshot().context.closeReason, 'peer closed the connection');
});

test('createStream and deleteStream are counted in the actor without changing state', (t) => {
  const { actor } = start();
  actor.send({ type: 'HANDSHAKE_DONE' });
  actor.send({ type: 'CONNECT_REQUESTED', app: 'live' });
  actor.send({ type: 'CONNECT_ACCEPTED' });
  actor.send({ type: 'STREAM_CREATED' });
  actor.send({ type: 'STREAM_CREATED' });
  actor.send({ type: 'STREAM_DELETED' });
  t.is(actor.getSnapshot().value, 'connected');
  t.is(actor.getSnapshot().context.createdStreams, 1);
});

import test from 'ava';
import { createActor, setup } from 'xstate';
import { createServer, RtmpClient, silentLogger } from '../../lib';
import { Logger } from '../../lib/session/options';
import { sessionsMachine } from '../../lib/session/sessions';
import { CONNECTION_ACTOR_ID } from '../../lib/session/connection';
import { until } from '../helpers/live';

test('every connection actor joins server.sessions, so one inspector sees each connection state chart', async (t) => {
  const server = createServer({ logger: silentLogger }).onConnect({ connect: () => true });
  const states = new Map<string, string[]>();
  server.sessions.system.inspect({
    next: (event) => {
      if (event.type !== '@xstate.snapshot' || event.actorRef === server.sessions) return;
      const value = (event.snapshot as { value?: unknown }).value;
      if (typeof value !== 'string') return;
      const seen = states.get(event.actorRef.sessionId) ?? [];
      if (seen.at(-1) !== value) seen.push(value);
      states.set(event.actorRef.sessionId, seen);
    },
  });
  try {
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
    const clients = [await RtmpClient.connect(`rtmp://127.0.0.1:${port}/app`), await RtmpClient.connect(`rtmp://127.0.0.1:${port}/app`)];
    await Promise.all(clients.map((client) => client.close()));
    await until(() => server.connections.size === 0);
    t.is(states.size, 2, 'one actor per connection, both in the server system');
    for (const seen of states.values()) {
      t.deepEqual(seen.slice(0, 4), ['handshake', 'awaitingConnect', 'authorizing', 'connected']);
      t.is(seen.at(-1), 'closed');
    }
  } finally {
    await server.close();
  }
});

test('a connection actor that fails is logged by the sessions actor instead of ending the process', (t) => {
  const errors: string[] = [];
  const logger: Logger = { ...silentLogger, error: (message) => errors.push(message) };
  const sessions = createActor(sessionsMachine, { input: { logger } }).start();
  const failing = setup({
    actions: {
      explode: () => {
        throw new Error('boom in an action');
      },
    },
  }).createMachine({ entry: 'explode' });
  const child = createActor(failing, { parent: sessions });
  child.start();
  t.is(child.getSnapshot().status, 'error');
  t.is(errors.length, 1);
  t.regex(errors[0]!, /connection actor .* failed: boom in an action/);
  t.is(sessions.getSnapshot().status, 'active', 'the parent goes on');
  sessions.stop();
});

test('connection actors share one actor id under the sessions actor (their session ids stay unique), so the parent machine\'s per-event-type transition cache does not grow with every connection', async (t) => {
  const server = createServer({ logger: silentLogger }).onConnect({ connect: () => true });
  try {
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
    const clients = await Promise.all([0, 1, 2].map(() => RtmpClient.connect(`rtmp://127.0.0.1:${port}/app`)));
    const actors = [...server.connections].map((c) => c.actor);
    t.deepEqual(new Set(actors.map((a) => a.id)), new Set([CONNECTION_ACTOR_ID]));
    t.is(new Set(actors.map((a) => a.sessionId)).size, 3);
    await Promise.all(clients.map((client) => client.close()));
  } finally {
    await server.close();
  }
});

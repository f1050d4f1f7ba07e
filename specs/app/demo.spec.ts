import test from 'ava';
import { createServer, RtmpClient, silentLogger } from '../../lib';
import { installDemo } from '../../lib/demo/demo-app';
import { createWebServer } from '../../lib/web/web-server';

async function demoServer() {
  const server = createServer({ logger: silentLogger });
  installDemo(server);
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, url: `rtmp://127.0.0.1:${port}/demo` };
}

test('demo echo returns its arguments as one array', async (t) => {
  const { server, url } = await demoServer();
  const client = await RtmpClient.connect(url);
  try {
    t.deepEqual(await client.call('echo', 1, 'two', { three: 3 }, null), [1, 'two', { three: 3 }, null]);
    t.deepEqual(await client.call('echo'), []);
  } finally {
    await client.close();
    await server.close();
  }
});

test('demo moveCamera moves this connection camera only and returns its position', async (t) => {
  const { server, url } = await demoServer();
  const [a, b] = [await RtmpClient.connect(url), await RtmpClient.connect(url)];
  try {
    t.deepEqual(await a.call('moveCamera', 2, -1), { x: 2, y: -1, sceneTime: null });
    t.deepEqual(await a.call('moveCamera', 0.5, 3), { x: 2.5, y: 2, sceneTime: null });
    t.deepEqual(await b.call('moveCamera', 1, 1), { x: 1, y: 1, sceneTime: null });
    await t.throwsAsync(a.call('moveCamera', 'left', 1), { message: /two finite numbers/ });
    t.deepEqual(await a.call('moveCamera', 0, 0), { x: 2.5, y: 2, sceneTime: null }, 'a refused move changes nothing');
  } finally {
    await a.close();
    await b.close();
    await server.close();
  }
});

test('an unknown procedure answers _error and the connection goes on', async (t) => {
  const { server, url } = await demoServer();
  const client = await RtmpClient.connect(url);
  try {
    await t.throwsAsync(client.call('fly', 1), { message: /Method fly not found/ });
    t.deepEqual(await client.call('echo', 'still here'), ['still here']);
  } finally {
    await client.close();
    await server.close();
  }
});

test('a handler that throws answers _error with its message and the connection goes on', async (t) => {
  const { server, url } = await demoServer();
  server.onCall('explode', () => {
    throw new Error('kaboom');
  });
  server.onCall('reject', async () => Promise.reject(new Error('later kaboom')));
  const client = await RtmpClient.connect(url);
  try {
    await t.throwsAsync(client.call('explode'), { message: 'kaboom' });
    await t.throwsAsync(client.call('reject'), { message: 'later kaboom' });
    t.deepEqual(await client.call('echo', 1), [1]);
    t.is([...server.connections][0]!.state, 'connected');
  } finally {
    await client.close();
    await server.close();
  }
});

test('calls() observers see every call and may answer one that has no handler', async (t) => {
  const { server, url } = await demoServer();
  const seen: string[] = [];
  server.connections$.subscribe((connection) => {
    connection.calls('*').subscribe((call) => seen.push(call.procedure));
    connection.calls('ask').subscribe((call) => setTimeout(() => call.respond(`answer to ${String(call.args[0])}`), 20));
  });
  const client = await RtmpClient.connect(url);
  try {
    t.is(await client.call('ask', 'life'), 'answer to life');
    t.deepEqual(await client.call('echo', 2), [2]);
    t.deepEqual(seen, ['ask', 'echo']);
  } finally {
    await client.close();
    await server.close();
  }
});

test('invoke rejects on timeout and on disconnect', async (t) => {
  const server = createServer({ logger: silentLogger, invokeTimeout: 100 });
  installDemo(server);
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = await RtmpClient.connect(`rtmp://127.0.0.1:${port}/demo`);
  client.onCall('slow', () => new Promise(() => undefined));
  try {
    const connection = [...server.connections][0]!;
    await t.throwsAsync(connection.invoke('slow'), { message: /no answer from the client within 100 ms/ });
    const pending = connection.invoke('slow');
    await client.close();
    await t.throwsAsync(pending, { message: /connection closed/ });
  } finally {
    await server.close();
  }
});

test('per-connection statistics and the /api/connections endpoint describe a live connection', async (t) => {
  const { server, url } = await demoServer();
  const web = createWebServer(server);
  const { port } = await web.listen(0, '127.0.0.1');
  const client = await RtmpClient.connect(url);
  try {
    await client.call('echo', 'x'.repeat(1000));
    const connection = [...server.connections][0]!;
    connection.properties.set('user', 'alice');
    const stats = connection.stats();
    t.is(stats.state, 'connected');
    t.true(stats.bytesIn > 3073 + 1000, `bytes in ${stats.bytesIn}`);
    t.true(stats.bytesOut > 3073 + 1000, `bytes out ${stats.bytesOut}`);
    t.true(stats.messagesIn >= 2 && stats.messagesOut >= 4);
    t.is(stats.pendingCalls, 0);
    t.true(stats.uptime >= 0);
    t.is(connection.properties.get('user'), 'alice');
    const body = (await (await fetch(`http://127.0.0.1:${port}/api/connections`)).json()) as { connections: Array<Record<string, unknown>> };
    t.like(body.connections[0], { id: connection.id, app: 'demo', state: 'connected' });
    t.is((await fetch(`http://127.0.0.1:${port}/nothing`)).status, 404);
  } finally {
    await client.close();
    await web.close();
    await server.close();
  }
});

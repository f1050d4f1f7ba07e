import test, { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, RtmpClient, RtmpServer } from '../../lib';
import { installDemo } from '../../lib/demo/demo-app';
import { createWebServer, WebServer, WebOptions } from '../../lib/web/web-server';
import { assertLogged, RawPeer, recordingLogger, until } from '../helpers/raw-peer';

interface Served {
  server: RtmpServer;
  web: WebServer;
  rtmpUrl: string;
  wsUrl: string;
  log: ReturnType<typeof recordingLogger>;
  close(): Promise<void>;
}

async function serve(web: WebOptions = {}, scheme: 'ws' | 'wss' = 'ws'): Promise<Served> {
  const log = recordingLogger();
  const server = createServer({ logger: log, closeTimeout: 200 });
  installDemo(server);
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const console = createWebServer(server, { logger: log, ...web });
  const address = await console.listen(0, '127.0.0.1');
  return {
    server,
    web: console,
    log,
    rtmpUrl: `rtmp://127.0.0.1:${port}/demo`,
    wsUrl: `${scheme}://${scheme === 'wss' ? 'localhost' : '127.0.0.1'}:${address.port}/rtmp/demo`,
    close: async () => {
      await console.close();
      await server.close();
    },
  };
}

/** A TCP client and a WebSocket client that stay connected through a bad peer's troubles; each echoes afterwards. */
async function bystanders(served: Served): Promise<RtmpClient[]> {
  return [await RtmpClient.connect(served.rtmpUrl), await RtmpClient.connect(served.wsUrl)];
}

async function stillEcho(t: ExecutionContext, clients: RtmpClient[]): Promise<void> {
  for (const client of clients) t.deepEqual(await client.call('echo', 'still', 'here'), ['still', 'here']);
  await Promise.all(clients.map((c) => c.close()));
}

test('RTMP over WebSocket runs the same session: connect, echo, the connection listed with its ws: address', async (t) => {
  const served = await serve();
  try {
    const client = await RtmpClient.connect(served.wsUrl, { args: ['over', 'ws'] });
    t.deepEqual(await client.call('echo', 1, 'two'), [1, 'two']);
    const [connection] = served.server.connections;
    t.regex(connection!.remoteAddress, /^ws:127\.0\.0\.1:\d+$/);
    t.is(connection!.app, 'demo');
    await client.close();
    await until(() => served.server.connections.size === 0);
    t.pass();
  } finally {
    await served.close();
  }
});

test('a text frame closes that one connection (1003) with the reason logged; others go on', async (t) => {
  const served = await serve();
  try {
    const others = await bystanders(served);
    const bad = await RawPeer.overWebSocket(served.wsUrl);
    const code = new Promise<number>((resolve) => bad.raw.once('close', resolve));
    bad.raw.send('connect please');
    t.is(await code, 1003);
    await assertLogged(t, served.log, /text frame/);
    await stillEcho(t, others);
  } finally {
    await served.close();
  }
});

test('a frame over the size limit closes that one connection (1009) with the reason logged; others go on', async (t) => {
  const served = await serve({ rtmpOverWebSocket: { maxFrameBytes: 64 * 1024 } });
  try {
    const others = await bystanders(served);
    const bad = await RawPeer.overWebSocket(served.wsUrl);
    await bad.shake();
    const code = new Promise<number>((resolve) => bad.raw.once('close', resolve));
    bad.raw.send(Buffer.alloc(64 * 1024 + 1));
    t.is(await code, 1009);
    await assertLogged(t, served.log, /WebSocket refused: Max payload size exceeded/);
    await stillEcho(t, others);
  } finally {
    await served.close();
  }
});

test('over WebSocket, a wrong handshake version, a bad chunk size and a malformed AMF command close that connection as over TCP', async (t) => {
  const served = await serve();
  try {
    const others = await bystanders(served);
    const version = await RawPeer.overWebSocket(served.wsUrl);
    version.raw.send(Buffer.concat([Buffer.of(6), Buffer.alloc(1536)]));
    await version.closed;
    await assertLogged(t, served.log, /ERR_HANDSHAKE_VERSION/);

    const chunkSize = await RawPeer.overWebSocket(served.wsUrl);
    await chunkSize.shake();
    chunkSize.raw.send(Buffer.from('02000000000004010000000080000000', 'hex'));
    await chunkSize.closed;
    await assertLogged(t, served.log, /ERR_CHUNK_SIZE/);

    const amf = await RawPeer.overWebSocket(served.wsUrl);
    await amf.shake();
    amf.send({ chunkStreamId: 3, timestamp: 0, typeId: 20, streamId: 0, payload: Buffer.from('02ffff6162', 'hex') });
    await amf.closed;
    await assertLogged(t, served.log, /ERR_AMF_TRUNCATED/);
    await stillEcho(t, others);
  } finally {
    await served.close();
  }
});

test('wss: with a certificate configured, the console port serves RTMP over TLS WebSocket', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-wss-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'cert.pem'));
  const served = await serve({ tls: { cert, key: readFileSync(join(dir, 'key.pem')) } }, 'wss');
  try {
    const client = await RtmpClient.connect(served.wsUrl, { ca: cert });
    t.deepEqual(await client.call('echo', 'tls'), ['tls']);
    t.is(client.connectInfo && (client.connectInfo as { code?: string }).code, 'NetConnection.Connect.Success');
    await client.close();
    await t.throwsAsync(RtmpClient.connect(served.wsUrl), { message: /self.signed|certificate/i }, 'an untrusted certificate is refused');
  } finally {
    await served.close();
  }
});

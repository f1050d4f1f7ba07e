import anyTest, { TestFn } from 'ava';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { acceptRtmpOverWebSocket } from '../../lib/app/websocket';
import { ClientCallError, ClientClosedError, RtmpClient, StreamStatusError } from '../../lib/client';
import { Connection, createServer, NetStream, RtmpServer, silentLogger } from '../../lib';
import { AmfValue } from '../../lib/protocol/amf/values';
import { MessageType, RtmpMessage } from '../../lib/protocol/message';

type Track = (client: RtmpClient) => RtmpClient;

/** The transports the client specs run over: every spec passes over each. */
export type SpecTransport = 'tcp' | 'websocket';

/**
 * The client's specs against our server, registered once per transport: over TCP
 * (`rtmp://`) and over WebSocket (`ws://…/rtmp/app`, the same server's `handle`).
 */
export function registerClientSpecs(transport: SpecTransport): void {
  const test = ((title: string, ...rest: unknown[]) => (anyTest as (title: string, ...rest: unknown[]) => void)(transport === 'tcp' ? title : `over WebSocket: ${title}`, ...rest)) as unknown as TestFn;
  (test as { serial: unknown }).serial = (title: string, ...rest: unknown[]) => (anyTest.serial as (title: string, ...rest: unknown[]) => void)(transport === 'tcp' ? title : `over WebSocket: ${title}`, ...rest);

  /** Runs `body` against one of our servers on a loopback port; closes clients and server whatever happens. */
  async function withServer(setup: (server: RtmpServer) => void, body: (url: string, track: Track, server: RtmpServer) => Promise<void>): Promise<void> {
    const server = createServer({ logger: silentLogger, closeTimeout: 500 });
    setup(server);
    await server.listen({ host: '127.0.0.1', port: 0 });
    const http = createHttpServer();
    const sockets = acceptRtmpOverWebSocket(server, http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const clients: RtmpClient[] = [];
    const url = transport === 'tcp' ? `rtmp://127.0.0.1:${server.address()!.port}/app` : `ws://127.0.0.1:${(http.address() as AddressInfo).port}/rtmp/app`;
    try {
      await body(url, (client) => (clients.push(client), client), server);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      sockets.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      await server.close();
    }
  }

  const acceptAll = (server: RtmpServer): RtmpServer => server.onConnect({ connect: () => true });
  const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  async function until(condition: () => boolean, timeout = 2_000): Promise<void> {
    for (const end = Date.now() + timeout; !condition() && Date.now() < end; ) await delay(10);
  }

  test.serial('close resolves closed, fails what is pending, and leaves no socket or timer behind', async (t) => {
    const count = (type: string): number => process.getActiveResourcesInfo().filter((r) => r === type).length;
    const baseline = { sockets: count('TCPSocketWrap'), timers: count('Timeout') };
    await withServer(
      (server) =>
        acceptAll(server)
          .onCall('hang', () => new Promise<AmfValue>(() => undefined))
          .onStream({ play: () => new Promise<boolean>(() => undefined) }),
      async (url, track, server) => {
        const client = track(await RtmpClient.connect(url, { timeout: 30_000 }));
        const stream = await client.createStream();
        const pending = client.call('hang');
        const playing = stream.play('never-answered');
        await delay(50);
        await client.close();
        await t.throwsAsync(pending, { instanceOf: ClientClosedError });
        await t.throwsAsync(playing, { instanceOf: ClientClosedError });
        await t.throwsAsync(client.call('afterwards'), { instanceOf: ClientClosedError, message: /client closed/ });
        t.is(client.closeReason, 'the client closed the connection');
        await until(() => server.connections.size === 0);
      },
    );
    await delay(20);
    t.deepEqual({ sockets: count('TCPSocketWrap'), timers: count('Timeout') }, baseline);
  });

  test('connect carries the user arguments to the server connect handler', async (t) => {
    let seen: AmfValue[] | undefined;
    let app: string | undefined;
    await withServer(
      (server) =>
        server.onConnect({
          connect: (_connection, request) => {
            seen = request.args;
            app = request.properties.app;
            return true;
          },
        }),
      async (url, track) => {
        const client = track(await RtmpClient.connect(url, { args: ['alice', 42, { role: 'admin' }] }));
        t.deepEqual(seen, ['alice', 42, { role: 'admin' }]);
        t.is(app, 'app');
        t.like(client.connectInfo, { level: 'status', code: 'NetConnection.Connect.Success' });
        t.like(client.serverProperties, { fmsVer: 'FMS/3,5,7,7009' });
      },
    );
  });

  test('a rejected connect rejects with the server description', async (t) => {
    await withServer(
      (server) => server.onConnect({ connect: () => ({ reject: 'Bad ticket for app.' }) }),
      async (url) => {
        const error = await t.throwsAsync(RtmpClient.connect(url), { instanceOf: ClientCallError });
        t.regex(error!.message, /Bad ticket for app\./);
        t.regex(error!.message, /NetConnection\.Connect\.Rejected/);
        t.is(error!.code, 'NetConnection.Connect.Rejected');
      },
    );
  });

  test('call resolves with the _result value; a throwing handler and a missing one reject', async (t) => {
    await withServer(
      (server) =>
        acceptAll(server)
          .onCall('add', (call) => (call.args[0] as number) + (call.args[1] as number))
          .onCall('explode', () => {
            throw new Error('the handler blew up');
          }),
      async (url, track) => {
        const client = track(await RtmpClient.connect(url));
        t.is(await client.call('add', 2, 40), 42);
        const thrown = await t.throwsAsync(client.call('explode'), { instanceOf: ClientCallError, message: 'the handler blew up' });
        t.is(thrown!.code, 'NetConnection.Call.Failed');
        await t.throwsAsync(client.call('nobodyHome'), { instanceOf: ClientCallError, message: /nobodyHome/ });
        t.is(await client.call('add', 1, 1), 2, 'the connection survives failed calls');
      },
    );
  });

  test('answers arriving out of order go to the right calls', async (t) => {
    await withServer(
      (server) =>
        acceptAll(server)
          .onCall('slow', async (call) => {
            await delay(150);
            return `slow ${String(call.args[0])}`;
          })
          .onCall('fast', (call) => `fast ${String(call.args[0])}`),
      async (url, track) => {
        const client = track(await RtmpClient.connect(url));
        const order: string[] = [];
        const slow = client.call('slow', 1).then((v) => (order.push('slow'), v));
        const fast = client.call('fast', 2).then((v) => (order.push('fast'), v));
        t.deepEqual(await Promise.all([slow, fast]), ['slow 1', 'fast 2']);
        t.deepEqual(order, ['fast', 'slow']);
      },
    );
  });

  test('server-to-client calls are answered by onCall, unknown ones with _error; notify expects no answer', async (t) => {
    let connection: Connection | undefined;
    const notes: Array<{ transactionId: number; args: AmfValue[] }> = [];
    await withServer(
      (server) =>
        server
          .onConnect({
            connect: (c) => {
              connection = c;
              return true;
            },
          })
          .onCall('note', ({ transactionId, args }) => void notes.push({ transactionId, args })),
      async (url, track) => {
        const client = track(await RtmpClient.connect(url));
        client
          .onCall('ping', (n) => (n as number) + 1)
          .onCall('slowEcho', async (value) => (await delay(20), value))
          .onCall('refuse', () => Promise.reject(new Error('not today')));
        t.is(await connection!.invoke('ping', 1), 2);
        t.deepEqual(await connection!.invoke('slowEcho', { a: [1, 'b'] }), { a: [1, 'b'] });
        await t.throwsAsync(connection!.invoke('refuse'), { message: 'not today' });
        await t.throwsAsync(connection!.invoke('unheardOf'), { message: /unheardOf not found/ });
        client.notify('note', 'hello', 3);
        await until(() => notes.length > 0);
        t.deepEqual(notes, [{ transactionId: 0, args: ['hello', 3] }]);
        t.is(client.closeReason, undefined);
      },
    );
  });

  test('play resolves on Play.Start and delivers the media the server sends; a refused play rejects with StreamNotFound', async (t) => {
    let playing: NetStream | undefined;
    await withServer(
      (server) =>
        acceptAll(server).onStream({
          play: (stream, request) => {
            if (request.streamName !== 'cam') return undefined;
            playing = stream;
            return true;
          },
        }),
      async (url, track) => {
        const client = track(await RtmpClient.connect(url));
        const stream = await client.createStream();
        const media: RtmpMessage[] = [];
        stream.media$.subscribe((m) => media.push({ ...m, payload: Buffer.from(m.payload) }));
        const statuses: string[] = [];
        client.status$.subscribe(({ streamId, info }) => statuses.push(`${streamId} ${info.code}`));
        t.like(await stream.play('cam'), { level: 'status', code: 'NetStream.Play.Start' });
        t.deepEqual(statuses, [`${stream.id} NetStream.Play.Reset`, `${stream.id} NetStream.Play.Start`]);
        const frame = Buffer.from([0x17, 0x01, 0, 0, 0, 9, 9, 9]);
        playing!.sendMedia(MessageType.Video, 40, frame);
        await until(() => media.some((m) => m.typeId === MessageType.Video));
        const video = media.find((m) => m.typeId === MessageType.Video);
        t.like(video, { typeId: MessageType.Video, timestamp: 40, streamId: stream.id });
        t.deepEqual(video?.payload, frame);
        t.true(media.some((m) => m.typeId === MessageType.DataAmf0), '|RtmpSampleAccess arrived as data');

        const other = await client.createStream();
        t.not(other.id, stream.id);
        const refused = await t.throwsAsync(other.play('nothing-here'), { instanceOf: StreamStatusError });
        t.regex(refused!.message, /NetStream\.Play\.StreamNotFound/);
        t.is((refused as StreamStatusError).code, 'NetStream.Play.StreamNotFound');
      },
    );
  });

  test('publish sends audio, video and data that reach the server stream byte for byte', async (t) => {
    const published: RtmpMessage[] = [];
    await withServer(
      (server) =>
        acceptAll(server).onStream({
          publish: (stream, request) => {
            if (request.streamName !== 'up') return { reject: 'wrong name', code: 'NetStream.Publish.BadName' };
            stream.published$.subscribe((m) => published.push({ ...m, payload: Buffer.from(m.payload) }));
            return true;
          },
        }),
      async (url, track) => {
        const client = track(await RtmpClient.connect(url));
        const stream = await client.createStream();
        t.like(await stream.publish('up'), { code: 'NetStream.Publish.Start' });
        stream.sendData('@setDataFrame', ['onMetaData', { width: 320, height: 240 }]);
        const sent = [
          { typeId: MessageType.Audio, timestamp: 0, payload: Buffer.from([0xaf, 0x00, 0x12, 0x10]) },
          { typeId: MessageType.Video, timestamp: 0, payload: Buffer.from([0x17, 0x00, 0, 0, 0, 1, 2, 3]) },
          { typeId: MessageType.Video, timestamp: 40, payload: Buffer.alloc(10_000, 7) },
          { typeId: MessageType.Audio, timestamp: 23, payload: Buffer.from([0xaf, 0x01, 5, 6]) },
        ];
        for (const message of sent) t.true(stream.sendMedia(message));
        await until(() => published.length >= 5);
        const media = published.filter((m) => m.typeId === MessageType.Audio || m.typeId === MessageType.Video);
        t.deepEqual(
          media.map((m) => ({ typeId: m.typeId, timestamp: m.timestamp, payload: m.payload })),
          sent,
        );
        t.true(published.every((m) => m.streamId === stream.id));
        t.is(published[0]?.typeId, MessageType.DataAmf0);

        const other = await client.createStream();
        await t.throwsAsync(other.publish('down'), { instanceOf: StreamStatusError, message: /NetStream\.Publish\.BadName/ });
      },
    );
  });

  test('pause and unpause resolve on their notifications, seek on Seek.Notify', async (t) => {
    await withServer(
      (server) => acceptAll(server).onStream({ play: () => true }),
      async (url, track) => {
        const client = track(await RtmpClient.connect(url));
        const stream = await client.createStream();
        await stream.play('any');
        t.like(await stream.pause(true, 1200), { code: 'NetStream.Pause.Notify' });
        t.like(await stream.pause(false, 1200), { code: 'NetStream.Unpause.Notify' });
        t.like(await stream.seek(5000), { code: 'NetStream.Seek.Notify' });
        stream.close();
        await t.throwsAsync(stream.play('again'), { instanceOf: ClientClosedError });
        t.is(await client.call('nobody').catch((e: Error) => e.name), 'CallError', 'the connection is still usable after closing a stream');
      },
    );
  });

  test('a refused createStream rejects; a closed port rejects connect', async (t) => {
    await withServer(
      (server) => acceptAll(server).onStream({ createStream: () => ({ reject: 'no streams for you' }) }),
      async (url, track) => {
        const client = track(await RtmpClient.connect(url));
        await t.throwsAsync(client.createStream(), { instanceOf: ClientCallError, message: 'no streams for you' });
      },
    );
    const probe = createServer({ logger: silentLogger });
    const { port } = await probe.listen({ host: '127.0.0.1', port: 0 });
    await probe.close();
    await t.throwsAsync(RtmpClient.connect(transport === 'tcp' ? `rtmp://127.0.0.1:${port}/app` : `ws://127.0.0.1:${port}/rtmp/app`), { instanceOf: ClientClosedError, message: /ECONNREFUSED/ });
  });

  for (const handshake of ['simple', 'digest'] as const) {
    test(`connects with the ${handshake} handshake`, async (t) => {
      await withServer(
        (server) => acceptAll(server).onCall('who', (call) => call.connection.id),
        async (url, track) => {
          const client = track(await RtmpClient.connect(url, { handshake }));
          t.is(typeof (await client.call('who')), 'string');
        },
      );
    });
  }

  test('AMF3 (objectEncoding 3): connect and call with objects', async (t) => {
    let encoding: number | undefined;
    await withServer(
      (server) =>
        acceptAll(server).onCall('mirror', (call) => {
          encoding = call.connection.objectEncoding;
          return { got: call.args[0] ?? null, list: [1, 'two', true] };
        }),
      async (url, track) => {
        const client = track(await RtmpClient.connect(url, { properties: { objectEncoding: 3 } }));
        t.is(client.objectEncoding, 3);
        t.deepEqual(await client.call('mirror', { nested: { x: 1.5 } }), { got: { nested: { x: 1.5 } }, list: [1, 'two', true] });
        t.is(encoding, 3);
      },
    );
  });
}

import test from 'ava';
import { ClientClosedError, ClientTimeoutError, parseRtmpUrl, RtmpClient } from '../../lib/client';
import { encodeData } from '../../lib/protocol/commands';
import { ChunkStreamIds, MessageType } from '../../lib/protocol/message';
import { status } from '../../lib/protocol/net-commands';
import { ScriptedPeer, startScripted } from './scripted-server';

async function until(condition: () => boolean, timeout = 2_000): Promise<void> {
  for (const end = Date.now() + timeout; !condition() && Date.now() < end; ) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Runs `body` against a scripted server, closing client and server whatever happens. */
async function scripted(
  script: (peer: ScriptedPeer) => void | Promise<void>,
  body: (url: string, peers: ScriptedPeer[], track: (c: RtmpClient) => RtmpClient) => Promise<void>,
  options: { acceptConnect?: boolean } = {},
): Promise<void> {
  const server = await startScripted(script, options);
  const clients: RtmpClient[] = [];
  try {
    await body(server.url, server.peers, (client) => (clients.push(client), client));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  }
}

test('parseRtmpUrl takes app, instance, port and query from the URL', (t) => {
  t.deepEqual(parseRtmpUrl('rtmp://127.0.0.1:1936/live'), { host: '127.0.0.1', port: 1936, app: 'live', tcUrl: 'rtmp://127.0.0.1:1936/live' });
  t.deepEqual(parseRtmpUrl('rtmp://[::1]/vod/inst/?k=v'), { host: '::1', port: 1935, app: 'vod/inst?k=v', tcUrl: 'rtmp://[::1]/vod/inst?k=v' });
  t.throws(() => parseRtmpUrl('http://host/live'), { message: /only rtmp:\/\// });
  t.throws(() => parseRtmpUrl('rtmp://host/'), { message: /names no application/ });
  t.throws(() => parseRtmpUrl('not a url'), { instanceOf: TypeError });
});

for (const [handshake, scheme] of [['simple', 'simple'], ['digest', 'digest-first']] as const) {
  test(`a '${handshake}' handshake reaches the server as ${scheme}, connect carries app, tcUrl and args`, async (t) => {
    await scripted(
      () => undefined,
      async (url, peers, track) => {
        const client = track(await RtmpClient.connect(url, { handshake, args: ['user', 7] }));
        t.like(client.connectInfo, { code: 'NetConnection.Connect.Success' });
        t.is(peers[0]!.scheme, scheme);
        const { command } = await peers[0]!.command('connect');
        t.is(command.transactionId, 1);
        t.like(command.commandObject, { app: 'scripted', tcUrl: url, objectEncoding: 0 });
        t.deepEqual(command.args, ['user', 7]);
      },
    );
  });
}

test('after connect the client announces its window and chunk size, and writes with that chunk size', async (t) => {
  await scripted(
    (peer) => void peer.command('echo').then(({ command }) => peer.sendCommand('_result', command.transactionId, null, [command.args[0] ?? null])),
    async (url, peers, track) => {
      const client = track(await RtmpClient.connect(url, { chunkSize: 1000 }));
      const big = 'x'.repeat(5000);
      t.is(await client.call('echo', big), big, 'the server decoded a 5000-byte call with the announced 1000-byte chunks');
      const peer = peers[0]!;
      t.like((await peer.control('windowAcknowledgementSize')).control, { size: 2_500_000 });
      t.like((await peer.control('setChunkSize')).control, { size: 1000 });
      const echo = await peer.command('echo');
      t.is(echo.command.transactionId, 2, 'calls number their transactions from 2');
    },
  );
});

test('acknowledges each window of received bytes and answers pings', async (t) => {
  let allSent!: () => void;
  const sent = new Promise<void>((resolve) => (allSent = resolve));
  await scripted(
    async (peer) => {
      await peer.command('connect');
      peer.sendControl({ kind: 'windowAcknowledgementSize', size: 5000 });
      peer.sendControl({ kind: 'pingRequest', timestamp: 123456 });
      const { typeId, payload } = encodeData({ name: 'filler', values: ['y'.repeat(3000)] });
      // Separate writes, so that the client mostly reads them one by one (one read is acknowledged once).
      for (let i = 0; i < 6; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        peer.send({ chunkStreamId: ChunkStreamIds.data, timestamp: 0, typeId, streamId: 0, payload });
      }
      allSent();
    },
    async (url, peers, track) => {
      track(await RtmpClient.connect(url));
      const peer = peers[0]!;
      t.like((await peer.control('pingResponse')).control, { timestamp: 123456 });
      await sent;
      const total = peer.bytesSent;
      // Once everything has arrived, less than a window may be left unacknowledged.
      await peer.next((r) => r.kind === 'control' && r.control.kind === 'acknowledgement' && total - r.control.sequenceNumber < 5000);
      const acks = peer.received.flatMap((r) => (r.kind === 'control' && r.control.kind === 'acknowledgement' ? [r.control.sequenceNumber] : []));
      t.true(acks.length >= 2, `acknowledgements: ${acks.join(', ')} of ${total} bytes`);
      for (const [i, ack] of acks.entries()) {
        t.true(ack - (acks[i - 1] ?? 0) >= 5000, 'no acknowledgement before a full window');
        t.true(ack <= total, 'never acknowledges more than was sent');
      }
    },
  );
});

test('play sends play and Set Buffer Length on the stream, and resolves on Play.Start', async (t) => {
  await scripted(
    async (peer) => {
      const { command } = await peer.command('createStream');
      peer.sendCommand('_result', command.transactionId, null, [5]);
      const play = await peer.command('play');
      peer.sendCommand('onStatus', 0, null, [status('NetStream.Play.Reset', 'reset')], play.message.streamId);
      peer.sendCommand('onStatus', 0, null, [status('NetStream.Play.Start', 'go')], play.message.streamId);
      const { typeId, payload } = encodeData({ name: '|RtmpSampleAccess', values: [true, true] });
      peer.send({ chunkStreamId: ChunkStreamIds.data, timestamp: 0, typeId, streamId: 5, payload });
      peer.send({ chunkStreamId: ChunkStreamIds.video, timestamp: 40, typeId: MessageType.Video, streamId: 5, payload: Buffer.from([0x17, 1]) });
    },
    async (url, peers, track) => {
      const client = track(await RtmpClient.connect(url));
      const stream = await client.createStream();
      t.is(stream.id, 5);
      const media: number[] = [];
      stream.media$.subscribe((m) => media.push(m.typeId));
      t.like(await stream.play('cam', { start: -1 }), { code: 'NetStream.Play.Start' });
      const peer = peers[0]!;
      const play = await peer.command('play');
      t.is(play.message.streamId, 5);
      t.deepEqual(play.command.args, ['cam', -1, -1, true]);
      t.like((await peer.control('setBufferLength')).control, { streamId: 5, milliseconds: 3000 });
      await until(() => media.length >= 2);
      t.deepEqual(media, [MessageType.DataAmf0, MessageType.Video]);
    },
  );
});

test('a malformed message from the server closes the client and rejects what is pending', async (t) => {
  await scripted(
    async (peer) => {
      await peer.command('never');
      peer.writeRaw(Buffer.from([0x40 | 40, 0, 0, 0, 0, 0, 4, 20]));
    },
    async (url, _peers, track) => {
      const client = track(await RtmpClient.connect(url));
      const error = await t.throwsAsync(client.call('never'), { instanceOf: ClientClosedError });
      t.regex(error!.message, /ERR_CHUNK_NO_PREVIOUS_HEADER/);
      await client.closed;
      t.regex(client.closeReason ?? '', /ERR_CHUNK_NO_PREVIOUS_HEADER/);
      await t.throwsAsync(client.call('after'), { instanceOf: ClientClosedError });
    },
  );
});

test('connect times out when the server never answers, and a dropped connection fails pending calls', async (t) => {
  await scripted(
    () => undefined,
    async (url) => {
      const started = Date.now();
      await t.throwsAsync(RtmpClient.connect(url, { timeout: 300 }), { instanceOf: ClientTimeoutError, message: /connect to .* within 300 ms/ });
      t.true(Date.now() - started < 2_000);
    },
    { acceptConnect: false },
  );
  await scripted(
    async (peer) => {
      await peer.command('hangUp');
      peer.socket.destroy();
    },
    async (url, _peers, track) => {
      const client = track(await RtmpClient.connect(url));
      await t.throwsAsync(client.call('hangUp'), { instanceOf: ClientClosedError, message: /server closed the connection/ });
      await client.closed;
    },
  );
});

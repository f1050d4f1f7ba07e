import test from 'ava';
import { createServer as createHttpServer, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, installLive, RtmpClient, StreamStatusError } from '../../lib';
import { authorizeStreams } from '../../lib/auth/authorizer';
import { HttpHookAuthorizer } from '../../lib/auth/http-hooks';
import { MessageType } from '../../lib/protocol/message';
import { recordingLogger, until } from '../helpers/raw-peer';

const body = (request: IncomingMessage): Promise<URLSearchParams> =>
  new Promise((resolve) => {
    let text = '';
    request.on('data', (d: Buffer) => (text += d.toString()));
    request.on('end', () => resolve(new URLSearchParams(text)));
  });

test('HTTP hooks in nginx-rtmp semantics: 2xx allows, 3xx redirects to the Location name, 4xx/5xx refuse, a timeout refuses; the hook gets call, app, name, addr and the query', async (t) => {
  const asked: Array<Record<string, string>> = [];
  const hook = createHttpServer(async (request, response) => {
    const form = await body(request);
    asked.push(Object.fromEntries(form));
    const name = form.get('name');
    if (name === 'slow') return void setTimeout(() => response.end(), 2000);
    if (name === 'moved') return void response.writeHead(302, { location: 'rtmp://ignored/live/renamed' }).end();
    if (name === 'broken') return void response.writeHead(500).end();
    if (form.get('call') === 'publish' && form.get('key') !== 'letmein') return void response.writeHead(403).end();
    response.writeHead(name === 'no' ? 403 : 200).end();
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
  const log = recordingLogger();
  const server = createServer({ logger: log });
  server.onStream(authorizeStreams(new HttpHookAuthorizer({ onPublish: `${hookUrl}/publish`, onPlay: `${hookUrl}/play`, timeout: 500 }), log));
  const live = installLive(server, { logger: log });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const url = `rtmp://127.0.0.1:${port}/live`;
  try {
    const client = await RtmpClient.connect(url);
    const refusedPublish = await client.createStream();
    await t.throwsAsync(refusedPublish.publish('renamed?key=wrong'), { instanceOf: StreamStatusError, message: /Publish\.Denied: publish of renamed refused: the publish hook answered 403/ });
    const publishing = await client.createStream();
    t.like(await publishing.publish('renamed?key=letmein'), { code: 'NetStream.Publish.Start' });
    t.like(asked.find((a) => a.call === 'publish' && a.key === 'letmein'), { app: 'live', name: 'renamed', addr: '127.0.0.1' });

    const player = await RtmpClient.connect(url);
    const ok = await player.createStream();
    t.like(await ok.play('renamed'), { code: 'NetStream.Play.Start' });
    for (const [name, reason] of [
      ['no', /the play hook answered 403/],
      ['broken', /the play hook answered 500/],
      ['slow', /the play hook did not answer within 500 ms/],
    ] as const) {
      const stream = await player.createStream();
      const started = Date.now();
      await t.throwsAsync(stream.play(name), { instanceOf: StreamStatusError, message: reason }, name);
      if (name === 'slow') t.true(Date.now() - started < 1900, 'refused at the timeout, not when the hook answered');
    }
    // A redirect: the player asked for `moved` and gets `renamed`'s media.
    const redirected = await player.createStream();
    const video: number[] = [];
    redirected.media$.subscribe((m) => m.typeId === MessageType.Video && video.push(m.timestamp));
    t.like(await redirected.play('moved'), { code: 'NetStream.Play.Start' });
    t.is(live.get('live', 'renamed')?.players.size, 2);
    publishing.sendMedia({ typeId: MessageType.Video, timestamp: 0, payload: Buffer.from([0x17, 0x00, 0, 0, 0, 1, 2]) });
    publishing.sendMedia({ typeId: MessageType.Video, timestamp: 40, payload: Buffer.from([0x17, 0x01, 0, 0, 0, 3, 4]) });
    await until(() => video.length >= 1, 5_000);
    t.true(log.lines.some((l) => /play live\/moved redirected to renamed/.test(l)));
    await player.close();
    await client.close();

    // A hook nobody answers refuses too.
    const unreachable = new HttpHookAuthorizer({ onPlay: 'http://127.0.0.1:1/play', timeout: 500 });
    t.like(await unreachable.authorize({ action: 'play', app: 'live', name: 'x', query: new URLSearchParams(), remoteAddress: '127.0.0.1:5' }), { allow: false, reason: 'the play hook could not be reached' });
  } finally {
    await server.close();
    hook.closeAllConnections();
    await new Promise((resolve) => hook.close(resolve));
  }
});

import test from 'ava';
import { spawn } from 'node:child_process';
import { createServer, installLive, RtmpClient, StreamStatusError } from '../../lib';
import { authorizeStreams, AuthorizationRequest, StreamAction } from '../../lib/auth/authorizer';
import { signToken, TokenAuthorizer } from '../../lib/auth/tokens';
import { MessageType } from '../../lib/protocol/message';
import { createWebServer } from '../../lib/web/web-server';
import { recordingLogger, until } from '../helpers/raw-peer';

const SECRET = 'k1-secret-0123456789abcdef0123456789abcdef';
const OTHER = 'k2-secret-fedcba9876543210fedcba9876543210';
const NOW = 1_800_000_000;

const request = (action: StreamAction, token: string | undefined, name = 'cam', app = 'live'): AuthorizationRequest => ({
  action,
  app,
  name,
  query: new URLSearchParams(token === undefined ? '' : { token }),
  remoteAddress: '127.0.0.1:1',
});
const claims = (action: StreamAction, expires = NOW + 600, extra: { name?: string; app?: string; keyId?: string; nonce?: string } = {}) => ({ keyId: 'k1', action, app: 'live', name: 'cam', expires, ...extra });

test('a valid token allows its one action on its one stream', (t) => {
  const auth = new TokenAuthorizer({ keys: { k1: SECRET }, now: () => NOW });
  t.deepEqual(auth.authorize(request('publish', signToken(SECRET, claims('publish')))), { allow: true });
  t.deepEqual(auth.authorize(request('play', signToken(SECRET, claims('play')))), { allow: true });
});

test('each bad token is refused with its reason', (t) => {
  const auth = new TokenAuthorizer({ keys: { k1: SECRET, k2: OTHER }, maxLifetime: 3600, now: () => NOW });
  const good = signToken(SECRET, claims('play'));
  const flip = (token: string, at: number): string => token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
  const cases: Array<[string, AuthorizationRequest, RegExp]> = [
    ['missing', request('play', undefined), /^no token$/],
    ['malformed', request('play', 'v1.k1.play'), /^malformed token$/],
    ['unknown key id', request('play', signToken(SECRET, claims('play', NOW + 60, { keyId: 'k9' }))), /^unknown key id$/],
    ['expired', request('play', signToken(SECRET, claims('play', NOW - 1))), /^token expired$/],
    ['expiring this second', request('play', signToken(SECRET, claims('play', NOW))), /^token expired$/],
    ['too long-lived', request('play', signToken(SECRET, claims('play', NOW + 3601))), /^token lives longer than 3600 s$/],
    ['wrong scope (a play token to publish)', request('publish', good), /^a play token does not allow publish$/],
    ['a flipped bit in the MAC', request('play', flip(good, good.length - 2)), /^bad signature$/],
    ['a changed expiry', request('play', good.replace(String(NOW + 600), String(NOW + 700))), /^bad signature$/],
    ['another stream', request('play', good, 'cam2'), /^bad signature$/],
    ['another app', request('play', good, 'cam', 'other'), /^bad signature$/],
    ['signed with another key', request('play', signToken(OTHER, claims('play'))), /^bad signature$/],
  ];
  for (const [what, asked, reason] of cases) {
    const verdict = auth.authorize(asked);
    t.false(verdict.allow, what);
    if (!verdict.allow) {
      t.regex(verdict.reason, reason, what);
      t.false(verdict.reason.includes(SECRET) || verdict.reason.includes(good.split('.').pop()!), `${what}: no secret or MAC in the reason`);
    }
  }
  // Key rotation: a token under the second key works.
  t.true(auth.authorize(request('play', signToken(OTHER, claims('play', NOW + 60, { keyId: 'k2' })))).allow);
});

test('one-time publish tokens are refused when replayed, until they expire; play tokens are reusable', (t) => {
  let now = NOW;
  const auth = new TokenAuthorizer({ keys: { k1: SECRET }, oneTimePublish: true, now: () => now });
  const publish = signToken(SECRET, claims('publish', NOW + 60));
  t.true(auth.authorize(request('publish', publish)).allow);
  t.like(auth.authorize(request('publish', publish)), { allow: false, reason: 'publish token already used' });
  const play = signToken(SECRET, claims('play', NOW + 60));
  t.true(auth.authorize(request('play', play)).allow);
  t.true(auth.authorize(request('play', play)).allow);
  now = NOW + 61;
  t.like(auth.authorize(request('publish', publish)), { allow: false, reason: 'token expired' });
});

test('keys shorter than 32 bytes or with odd ids are refused at construction', (t) => {
  t.throws(() => new TokenAuthorizer({ keys: { k1: 'short' } }), { message: /at least 32 bytes/ });
  t.throws(() => new TokenAuthorizer({ keys: { 'bad id': SECRET } }), { message: /key id/ });
});

test('end to end: ffmpeg publishes with a publish token, a player with a play token plays, one without is refused; no token or secret reaches the log or the console', async (t) => {
  const log = recordingLogger();
  const server = createServer({ logger: log });
  // Before the live app's handlers: the first handler with an answer wins.
  server.onStream(authorizeStreams(new TokenAuthorizer({ keys: { k1: SECRET }, oneTimePublish: true }), log));
  const live = installLive(server, { logger: log });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const web = createWebServer(server, { live, logger: log, showArguments: true });
  const { port: httpPort } = await web.listen(0, '127.0.0.1');
  const expires = Math.floor(Date.now() / 1000) + 300;
  const publishToken = signToken(SECRET, { keyId: 'k1', action: 'publish', app: 'live', name: 'cam', expires });
  const playToken = signToken(SECRET, { keyId: 'k1', action: 'play', app: 'live', name: 'cam', expires });
  const url = `rtmp://127.0.0.1:${port}/live`;
  const ffmpeg = spawn('ffmpeg', ['-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=15', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-t', '20', '-f', 'flv', `${url}/cam?token=${publishToken}`], { stdio: 'ignore' });
  try {
    await until(() => live.get('live', 'cam')?.state === 'live', 15_000);
    const player = await RtmpClient.connect(url);
    const refused = await player.createStream();
    await t.throwsAsync(refused.play('cam'), { instanceOf: StreamStatusError, message: /NetStream\.Play\.Failed: play of cam refused: no token/ });
    const replay = await player.createStream();
    await t.throwsAsync(replay.publish(`cam?token=${publishToken}`), { message: /NetStream\.Publish\.Denied: publish of cam refused: publish token already used/ });
    const stream = await player.createStream();
    const video: number[] = [];
    stream.media$.subscribe((m) => m.typeId === MessageType.Video && video.push(m.timestamp));
    await stream.play(`cam?token=${playToken}`);
    await until(() => video.length >= 5, 10_000);
    t.true(video.length >= 5);

    const api = (await (await fetch(`http://127.0.0.1:${httpPort}/api/connections`)).text()) + (await (await fetch(`http://127.0.0.1:${httpPort}/api/streams`)).text());
    const histories = await Promise.all(
      ((JSON.parse(api.slice(0, api.indexOf('}{') + 1)) as { connections: { id: string }[] }).connections).map(async (c) => (await fetch(`http://127.0.0.1:${httpPort}/api/connections/${c.id}/history`)).text()),
    );
    for (const [where, text] of [['log', log.lines.join('\n')], ['api', api], ['history', histories.join('\n')]] as const) {
      const mac = (token: string): string => token.split('.').pop()!;
      t.false(text.includes(SECRET), `${where}: no secret`);
      t.false(text.includes(mac(publishToken)) || text.includes(mac(playToken)), `${where}: no token`);
    }
    t.true(log.lines.some((l) => /play live\/cam refused: no token/.test(l)));
    await player.close();
  } finally {
    ffmpeg.kill('SIGKILL');
    await web.close();
    await server.close();
  }
});

import test from 'ava';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { createServer, RtmpClient, silentLogger } from '../../lib';
import { recordingPath } from '../../lib/media/live-app';
import { DEFAULT_NAME_PATTERN, nameProblem } from '../../lib/session/names';
import { recordingLogger } from '../helpers/raw-peer';

const rules = { pattern: DEFAULT_NAME_PATTERN, maxLength: 256 };

test('names on the allowlist pass, with or without a query', (t) => {
  for (const name of ['live', 'cam', 'cam_1', 'scene.h264', 'a-b.c', 'show/part1', 'app/inst/x', '_x', 'scene?codec=h264', 'cam?token=abc.def-123&x=%2F']) {
    t.is(nameProblem('stream', name, rules), undefined, name);
  }
});

test('every hostile name shape is refused with a reason', (t) => {
  const hostile: Array<[string, RegExp]> = [
    ['', /empty stream name/],
    ['../escape', /outside the allowed characters/],
    ['..', /outside/],
    ['.', /outside/],
    ['.hidden', /outside/],
    ['a/../b', /outside/],
    ['a//b', /outside/],
    ['/etc/passwd', /outside/],
    ['a/', /outside/],
    ['x\\..\\y', /outside/],
    ['name%2f..', /outside/],
    ['a\u0000b', /outside/],
    ['a b', /outside/],
    ['caf\u00e9', /outside/],
    ['a\nb', /outside/],
    ['x'.repeat(257), /257 characters \(at most 256\)/],
    ['cam?to ken', /query with spaces or control characters/],
    ['cam?\u0001', /query/],
  ];
  for (const [name, reason] of hostile) t.regex(nameProblem('stream', name, rules) ?? 'passed', reason, JSON.stringify(name));
  // The refusal shows the name escaped: a log line cannot be forged with a newline in it.
  t.false((nameProblem('stream', 'a\nINFO forged', rules) ?? '').includes('\n'));
});

test('recordingPath never leaves its root, whatever the name', (t) => {
  const root = join(tmpdir(), 'rxrtmp-root');
  for (const name of ['cam', '../../etc/passwd', '/abs', 'a/../../b', '..', '.', '', 'x?y=../../z']) {
    const path = recordingPath(root, name);
    t.true(path.startsWith(resolve(root) + sep), `${JSON.stringify(name)} → ${path}`);
    t.true(path.endsWith('.flv'));
  }
});

test('a connect to an app name off the allowlist is refused before any handler, and logged', async (t) => {
  const log = recordingLogger();
  let asked = 0;
  const server = createServer({ logger: log, maxNameLength: 32 });
  server.onConnect({ connect: () => (asked++, true) });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    for (const app of ['..%2f', 'a'.repeat(40)]) {
      await t.throwsAsync(RtmpClient.connect(`rtmp://127.0.0.1:${port}/${app}`), { message: /NetConnection\.Connect\.Rejected|Refused: app name/ });
    }
    t.is(asked, 0);
    t.true(log.lines.some((l) => l.startsWith('WARN') && /connect refused: app name of 40 characters \(at most 32\)/.test(l)));
    const ok = await RtmpClient.connect(`rtmp://127.0.0.1:${port}/fine`);
    t.is(asked, 1);
    await ok.close();
  } finally {
    await server.close();
  }
});

test('a custom namePattern replaces the allowlist', async (t) => {
  const server = createServer({ logger: silentLogger, namePattern: /^[a-z]+$/ });
  server.onConnect({ connect: () => true });
  server.onStream({ publish: () => true });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    const client = await RtmpClient.connect(`rtmp://127.0.0.1:${port}/app`);
    const stream = await client.createStream();
    await t.throwsAsync(stream.publish('cam1'), { message: /BadName/ });
    t.like(await stream.publish('cam'), { code: 'NetStream.Publish.Start' });
    await client.close();
  } finally {
    await server.close();
  }
});

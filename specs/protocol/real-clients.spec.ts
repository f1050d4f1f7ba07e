import test from 'ava';
import { execFile } from 'node:child_process';
import { startHarness } from '../helpers/loopback-harness';

/** Runs a client to completion (it fails once the harness hangs up after createStream; that is expected). */
function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 20_000 }, (_error, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
}

test('rtmpdump (librtmp, simple handshake) connects with its extra arguments', async (t) => {
  const harness = await startHarness();
  try {
    const output = await run('rtmpdump', ['-r', `rtmp://127.0.0.1:${harness.port}/live/cam`, '-C', 'S:alice', '-C', 'N:42.5', '-C', 'B:1', '-o', '/dev/null', '-m', '5']);
    const [session] = harness.sessions;
    t.truthy(session, output);
    t.is(session!.error, undefined);
    t.is(session!.scheme, 'simple');
    const connect = session!.commands[0];
    t.like(connect, { kind: 'connect', properties: { app: 'live', tcUrl: `rtmp://127.0.0.1:${harness.port}/live` }, args: ['alice', 42.5, true] });
    t.deepEqual(
      session!.commands.map((c) => c.kind).filter((k) => k === 'createStream' || k === 'play'),
      ['createStream', 'play'],
      'rtmpdump accepted the connect and createStream answers',
    );
  } finally {
    await harness.close();
  }
});

test('ffmpeg (digest handshake, checked by ffmpeg when playing) connects and plays', async (t) => {
  const harness = await startHarness();
  try {
    const output = await run('ffmpeg', ['-hide_banner', '-loglevel', 'debug', '-rw_timeout', '5000000', '-i', `rtmp://127.0.0.1:${harness.port}/live/cam3`, '-t', '1', '-f', 'null', '-']);
    t.notRegex(output, /Server response validating failed|Signature mismatch/);
    const [session] = harness.sessions;
    t.truthy(session, output);
    t.is(session!.error, undefined);
    t.is(session!.scheme, 'digest-first');
    t.like(session!.commands[0], { kind: 'connect', properties: { app: 'live' } });
    const kinds = session!.commands.map((c) => c.kind);
    t.true(kinds.includes('createStream'), output);
    t.like(session!.commands.find((c) => c.kind === 'play'), { kind: 'play', streamName: 'cam3' });
  } finally {
    await harness.close();
  }
});

test('ffmpeg publishes through the digest handshake up to publish', async (t) => {
  const harness = await startHarness();
  try {
    const output = await run('ffmpeg', ['-hide_banner', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-t', '1', '-c:v', 'flashsv', '-f', 'flv', `rtmp://127.0.0.1:${harness.port}/live/up`]);
    const [session] = harness.sessions;
    t.truthy(session, output);
    t.is(session!.scheme, 'digest-first');
    const kinds = session!.commands.map((c) => c.kind);
    t.deepEqual(kinds.slice(0, 5), ['connect', 'releaseStream', 'FCPublish', 'createStream', 'publish'], output);
  } finally {
    await harness.close();
  }
});

import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { RtmpClient } from '../../lib';
import { AmfValue } from '../../lib/protocol/amf/values';
import { MessageType } from '../../lib/protocol/message';
import { until } from '../helpers/raw-peer';

// The examples are plain JavaScript that require('rxrtmp'): the compiled package (npm test builds it first).
const EXAMPLES = join(__dirname, '..', '..', 'examples');
interface Started {
  port: number;
  close(): Promise<void>;
}
const example = <T>(name: string): { start(options?: Record<string, unknown>): Promise<T> } => require(join(EXAMPLES, name)) as { start(options?: Record<string, unknown>): Promise<T> };

test('chat: a member says something, every other member is called back with it; a nickname is needed', async (t) => {
  const chat = await example<Started>('chat').start({ port: 0 });
  try {
    const url = `rtmp://127.0.0.1:${chat.port}/chat`;
    await t.throwsAsync(RtmpClient.connect(url), { message: /nickname/ });
    const alice = await RtmpClient.connect(url, { args: ['alice'] });
    const bob = await RtmpClient.connect(url, { args: ['bob'] });
    const carol = await RtmpClient.connect(url, { args: ['carol'] });
    const heard: string[] = [];
    for (const [name, client] of [['bob', bob], ['carol', carol]] as const) {
      client.onCall('message', (from: AmfValue, text: AmfValue) => {
        heard.push(`${name} heard ${String(from)}: ${String(text)}`);
        return 'ok';
      });
    }
    t.deepEqual(await alice.call('say', 'hello'), { delivered: 2 });
    t.deepEqual(heard.sort(), ['bob heard alice: hello', 'carol heard alice: hello']);
    t.deepEqual(((await bob.call('who')) as string[]).sort(), ['alice', 'bob', 'carol']);
    await t.throwsAsync(RtmpClient.connect(url, { args: ['bob'] }), { message: /bob is taken/ });
    await Promise.all([alice, bob, carol].map((c) => c.close()));
  } finally {
    await chat.close();
  }
});

test('rendered: ffprobe reads the application-drawn stream as Screen Video 320x240, and the bar sweeps', async (t) => {
  const rendered = await example<Started & { stats(): { rendered: number } }>('rendered').start({ port: 0 });
  try {
    const url = `rtmp://127.0.0.1:${rendered.port}/rendered/sweep`;
    const probe = await new Promise<string>((resolve) =>
      execFile('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', url], { timeout: 20_000 }, (_e, stdout) => resolve(stdout)),
    );
    t.like((JSON.parse(probe) as { streams: unknown[] }).streams[0], { codec_name: 'flashsv', width: 320, height: 240 });
    t.true(rendered.stats().rendered > 0);
    const { render } = require(join(EXAMPLES, 'rendered')) as { render(c: { frameNumber: number }): { data: Buffer } };
    t.false(render({ frameNumber: 0 }).data.equals(render({ frameNumber: 5 }).data), 'frames differ as the bar moves');
  } finally {
    await rendered.close();
  }
});

test('relay: ffmpeg publishes with the token, a player with the token plays it, one without is refused', async (t) => {
  const relay = await example<Started>('relay').start({ port: 0, token: 's3cret' });
  const url = `rtmp://127.0.0.1:${relay.port}/live`;
  const ffmpeg = spawn('ffmpeg', ['-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=15', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-t', '20', '-f', 'flv', '-rtmp_conn', 'S:s3cret', `${url}/cam`], { stdio: 'ignore' });
  try {
    await t.throwsAsync(RtmpClient.connect(url, { args: ['wrong'] }), { message: /valid token/ });
    const player = await RtmpClient.connect(url, { args: ['s3cret'] });
    const stream = await player.createStream();
    const video: number[] = [];
    stream.media$.subscribe((m) => m.typeId === MessageType.Video && video.push(m.timestamp));
    // A player may come before the publisher: it waits for the stream.
    await stream.play('cam');
    await until(() => video.length >= 10, 15_000);
    t.true(video.length >= 10, `${video.length} video messages`);
    await player.close();
  } finally {
    ffmpeg.kill('SIGKILL');
    await relay.close();
  }
});

test('pipeline: a server built from the exported operators over an in-memory duplex answers the real client', async (t) => {
  const { client, heard, close } = await (example<{ client: RtmpClient; heard: string[]; close(): Promise<void> }>('pipeline').start());
  try {
    t.like(client.connectInfo, { code: 'NetConnection.Connect.Success', description: 'hello from a pipeline' });
    t.is(await client.call('add', 2, 40), 42);
    await t.throwsAsync(client.call('subtract', 1, 1), { message: /no subtract here/ });
    t.deepEqual(heard, ['connect', 'add', 'subtract']);
  } finally {
    await close();
  }
});

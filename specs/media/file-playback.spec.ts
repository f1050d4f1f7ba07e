import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtmpClient } from '../../lib';
import { MessageType } from '../../lib/protocol/message';
import { decodeData } from '../../lib/protocol/commands';
import { delay, isFrame, isVideoHeader, liveServer, player, publisher, recordedMedia, sendRecorded, until } from '../helpers/live';

const frames = recordedMedia.filter(isFrame);

async function withRecording(run: (url: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-vod-'));
  const { server, url } = await liveServer({ recordDir: dir });
  try {
    const source = await publisher(url, 'cam', 'record');
    sendRecorded(source.stream);
    await source.client.close();
    await until(() => server.connections.size === 0);
    await run(url);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('ffmpeg plays a recording (start -2000, nothing live) to the end: all 120 frames, then it exits', async (t) => {
  await withRecording(async (url) => {
    const output = await new Promise<string>((resolve) =>
      execFile('ffmpeg', ['-hide_banner', '-rw_timeout', '10000000', '-i', `${url}/cam`, '-c', 'copy', '-f', 'framemd5', '-'], { timeout: 30_000 }, (_e, stdout, stderr) => resolve(stdout + stderr)),
    );
    const videoFrames = output.split('\n').filter((line) => /^0,/.test(line)).length;
    t.true(videoFrames >= 119, `ffmpeg read ${videoFrames} frames`);
  });
});

test('play from 2000 ms starts at the key frame at or before it, after metadata and sequence headers', async (t) => {
  await withRecording(async (url) => {
    const seeker = await RtmpClient.connect(url);
    const stream = await seeker.createStream();
    const received: Array<{ typeId: number; timestamp: number; payload: Buffer }> = [];
    stream.media$.subscribe((m) => received.push({ ...m, payload: Buffer.from(m.payload) }));
    await stream.play('cam', { start: 2000 });
    await until(() => received.filter((m) => m.typeId === MessageType.Video).length >= 3);
    const video = received.filter((m) => m.typeId === MessageType.Video);
    t.true(isVideoHeader({ ...video[0]!, chunkStreamId: 6, streamId: 1 }));
    const keyAt2000 = frames.filter((f) => f.payload[0] === 0x17 && f.timestamp <= 2000).at(-1)!;
    t.true(keyAt2000.timestamp > 1000);
    t.deepEqual(video[1]!.payload, keyAt2000.payload);
    t.is(video[1]!.timestamp, keyAt2000.timestamp, 'recorded timestamps, not rebased');
    t.true(received.some((m) => m.typeId === MessageType.DataAmf0 && decodeData(m.typeId, m.payload).name === 'onMetaData'));
    await seeker.close();
  });
});

test('a recording with a duration stops after it with Play.Complete and Play.Stop', async (t) => {
  await withRecording(async (url) => {
    const client = await RtmpClient.connect(url);
    const statuses: string[] = [];
    client.status$.subscribe((s) => statuses.push(s.info.code));
    const stream = await client.createStream();
    const data: string[] = [];
    const video: number[] = [];
    stream.media$.subscribe((m) => {
      if (m.typeId === MessageType.DataAmf0) data.push(decodeData(m.typeId, m.payload).name);
      if (m.typeId === MessageType.Video && m.payload[1] === 1) video.push(m.timestamp);
    });
    await stream.play('cam', { start: 0, duration: 500 });
    await until(() => statuses.includes('NetStream.Play.Stop'), 5000);
    t.true(data.includes('onPlayStatus'));
    t.true(video.length > 5 && video.every((time) => time <= video[0]! + 500), `frames at ${video.join(',')}`);
    await client.close();
  });
});

test('pausing a recording holds it; resuming continues from there', async (t) => {
  await withRecording(async (url) => {
    const watcher = await player(url, 'cam');
    await until(() => watcher.received.filter(isFrame).length >= 30);
    await watcher.stream.pause(true);
    await delay(100);
    const held = watcher.received.filter(isFrame).length;
    await delay(1200);
    t.is(watcher.received.filter(isFrame).length, held, 'nothing while paused');
    await watcher.stream.pause(false);
    await until(() => watcher.received.filter(isFrame).length > held);
    const next = watcher.received.filter(isFrame)[held]!;
    t.deepEqual(next.payload, frames[held]!.payload, 'continues with the next frame');
    await watcher.client.close();
  });
});

test('play from a position with no recording and nothing live is StreamNotFound', async (t) => {
  const { server, url } = await liveServer();
  try {
    const client = await RtmpClient.connect(url);
    const stream = await client.createStream();
    await t.throwsAsync(stream.play('nothing', { start: 0 }), { message: /StreamNotFound/ });
    await client.close();
  } finally {
    await server.close();
  }
});

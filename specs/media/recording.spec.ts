import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAmf0 } from '../../lib/protocol/amf/amf0';
import { parseFlv } from '../../lib/protocol/flv';
import { MessageType } from '../../lib/protocol/message';
import { RtmpClient, StreamStatusError } from '../../lib';
import { liveServer, publisher, recordedMedia, sendRecorded, until } from '../helpers/live';

function probe(file: string): Promise<{ streams: Array<Record<string, unknown>>; format: { duration: string } }> {
  return new Promise((resolve, reject) =>
    execFile('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height:format=duration', '-of', 'json', file], (error, stdout, stderr) =>
      error ? reject(new Error(stderr)) : resolve(JSON.parse(stdout)),
    ),
  );
}

function metadataOf(file: string): Record<string, unknown> {
  const flv = parseFlv(readFileSync(file));
  const first = flv.tags[0]!;
  const [name, values] = decodeAmf0(first.data);
  if (name !== 'onMetaData' || first.typeId !== MessageType.DataAmf0) throw new Error('the file does not open with onMetaData');
  return values as Record<string, unknown>;
}

const lastVideoTime = recordedMedia.filter((m) => m.typeId === MessageType.Video).at(-1)!.timestamp;

test('publish with type record writes an FLV that ffprobe reads, with duration and filesize filled in', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-rec-'));
  const { server, url } = await liveServer({ recordDir: dir });
  try {
    const source = await publisher(url, 'cam', 'record');
    sendRecorded(source.stream);
    await source.client.close();
    const file = join(dir, 'cam.flv');
    await until(() => existsSync(file) && server.connections.size === 0);
    const probed = await probe(file);
    t.like(probed.streams.find((s) => s.codec_name === 'h264'), { width: 640, height: 360 });
    t.truthy(probed.streams.find((s) => s.codec_name === 'aac'));
    const metadata = metadataOf(file);
    t.is(metadata.filesize, statSync(file).size);
    t.true(Math.abs((metadata.duration as number) - lastVideoTime / 1000) < 0.1, `duration ${String(metadata.duration)}`);
    t.like(metadata, { width: 640, height: 360 });
    const flv = parseFlv(readFileSync(file));
    t.is(flv.tags.filter((tag) => tag.typeId === MessageType.Video).length, 122);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('publish with type append continues the file after its last tag', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-rec-'));
  const { server, url } = await liveServer({ recordDir: dir });
  try {
    for (const type of ['record', 'append'] as const) {
      const source = await publisher(url, 'cam', type);
      sendRecorded(source.stream);
      await source.client.close();
      await until(() => server.connections.size === 0);
    }
    const file = join(dir, 'cam.flv');
    const flv = parseFlv(readFileSync(file));
    const video = flv.tags.filter((tag) => tag.typeId === MessageType.Video);
    t.is(video.length, 244);
    t.true(video.every((tag, i) => i === 0 || tag.timestamp >= video[i - 1]!.timestamp), 'timestamps rise across the append');
    const metadata = metadataOf(file);
    t.is(metadata.filesize, statSync(file).size);
    t.true((metadata.duration as number) > (2 * lastVideoTime) / 1000 - 0.2, `duration ${String(metadata.duration)}`);
    const probed = await probe(file);
    t.true(Number(probed.format.duration) > (2 * lastVideoTime) / 1000 - 0.5, `ffprobe duration ${probed.format.duration}`);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an auto-recorded app records live publishes, and shutting the server down closes the file cleanly', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-rec-'));
  const { server, url } = await liveServer({ recordDir: dir, autoRecord: ['live'] });
  try {
    const source = await publisher(url, 'show', 'live');
    sendRecorded(source.stream);
    await until(() => existsSync(join(dir, 'show.flv')));
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    await server.close();
  }
  try {
    const file = join(dir, 'show.flv');
    const metadata = metadataOf(file);
    t.is(metadata.filesize, statSync(file).size, 'the file was finished on shutdown');
    const probed = await probe(file);
    t.truthy(probed.streams.find((s) => s.codec_name === 'h264'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stream name cannot write outside the recording folder: hostile names are refused before any handler, a nested name records inside', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-rec-'));
  const { server, url } = await liveServer({ recordDir: join(dir, 'inside') });
  try {
    const client = await RtmpClient.connect(url);
    for (const name of ['../../escape', '/etc/passwd', 'a/../../b', '..', '.hidden', 'x\\..\\y', 'name%2f..', 'a\u0000b', 'a b', 'x'.repeat(300)]) {
      const stream = await client.createStream();
      await t.throwsAsync(stream.publish(name, 'record'), { message: /NetStream\.Publish\.BadName: Refused: /, instanceOf: StreamStatusError }, JSON.stringify(name));
      await t.throwsAsync(stream.play(name), { message: /NetStream\.Play\.Failed: Refused: /, instanceOf: StreamStatusError }, JSON.stringify(name));
    }
    await client.close();
    t.deepEqual(readdirSync(dir), [], 'nothing was written, inside or out');
    const source = await publisher(url, 'show/part1', 'record');
    sendRecorded(source.stream, 0, 20);
    await source.client.close();
    await until(() => server.connections.size === 0);
    t.deepEqual(readdirSync(join(dir, 'inside')), ['show_part1.flv']);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

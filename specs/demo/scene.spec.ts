import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, RtmpClient, RtmpServer, silentLogger } from '../../lib';
import { installDemo } from '../../lib/demo/demo-app';
import { DemoScene } from '../../lib/demo/scene';
import { Frame } from '../../lib/plugins/contract';
import { PluginRegistry } from '../../lib/plugins/registry';
import { MessageType, RtmpMessage } from '../../lib/protocol/message';
import { delay, until } from '../helpers/live';

async function demoServer(): Promise<{ server: RtmpServer; plugins: PluginRegistry; url: string }> {
  const plugins = new PluginRegistry();
  const { failed } = await plugins.loadDirectory(join(__dirname, '..', '..', 'plugins'));
  if (failed.length > 0) throw new Error(failed.map((f) => f.error.message).join('; '));
  const server = createServer({ logger: silentLogger });
  installDemo(server, { plugins });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, plugins, url: `rtmp://127.0.0.1:${port}/demo` };
}

function run(command: string, args: string[], timeout = 30_000): Promise<string> {
  return new Promise((resolve) => execFile(command, args, { timeout, maxBuffer: 64 * 1024 * 1024 }, (_e, stdout, stderr) => resolve(stdout + stderr)));
}

/** Centre of the pixels that differ from the still background: where the cube is. */
function cubeCentre(frame: Frame, background: Frame): { x: number; y: number } {
  let [sx, sy, n] = [0, 0, 0];
  for (let y = 0; y < frame.height; y++) {
    for (let x = 0; x < frame.width; x++) {
      const o = (y * frame.width + x) * 3;
      const diff = Math.abs(frame.data[o]! - background.data[o]!) + Math.abs(frame.data[o + 1]! - background.data[o + 1]!) + Math.abs(frame.data[o + 2]! - background.data[o + 2]!);
      if (diff > 30) [sx, sy, n] = [sx + x, sy + y, n + 1];
    }
  }
  return { x: sx / n, y: sy / n };
}

test('rtmpdump plays demo/scene; ffprobe reports flashsv 640x360 at the real frame rate', async (t) => {
  const { server, plugins, url } = await demoServer();
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-scene-'));
  try {
    const file = join(dir, 'scene.flv');
    await run('rtmpdump', ['-r', `${url}/scene`, '--live', '--stop', '3', '-o', file], 20_000);
    const probe = JSON.parse(await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,width,height,nb_read_frames:format=duration', '-of', 'json', file])) as {
      streams: Array<{ codec_name: string; width: number; height: number; nb_read_frames: string }>;
      format: { duration: string };
    };
    t.like(probe.streams[0], { codec_name: 'flashsv', width: 640, height: 360 });
    const fps = Number(probe.streams[0]!.nb_read_frames) / Number(probe.format.duration);
    t.true(fps > 20 && fps < 36, `${probe.streams[0]!.nb_read_frames} frames in ${probe.format.duration} s = ${fps.toFixed(1)} fps`);
  } finally {
    await server.close();
    await plugins.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('moveCamera moves the cube in the pictures this connection plays; a paused player gets no frames', async (t) => {
  const { server, plugins, url } = await demoServer();
  const decoder = plugins.createDecoder('screen-video');
  const background = new DemoScene(640, 360).backgroundFrame();
  try {
    const client = await RtmpClient.connect(url);
    const stream = await client.createStream();
    const video: RtmpMessage[] = [];
    stream.media$.subscribe((m) => m.typeId === MessageType.Video && video.push({ ...m, payload: Buffer.from(m.payload) }));
    await stream.play('scene');
    await until(() => video.length >= 10);
    let picture: Frame | undefined;
    const decodeAll = async (from: number): Promise<Frame> => {
      for (const m of video.slice(from)) picture = (await decoder.decode(m.payload)) ?? picture;
      return picture!;
    };
    const before = cubeCentre(await decodeAll(0), background);
    let decoded = video.length;
    const moved = (await client.call('moveCamera', 10, 5)) as { x: number; y: number; sceneTime: number };
    t.like(moved, { x: 10, y: 5 });
    t.is(typeof moved.sceneTime, 'number', 'the answer carries the scene clock at the move');
    await until(() => video.some((m) => m.timestamp > moved.sceneTime));
    // The first frame stamped after the move already shows it.
    const first = video.findIndex((m) => m.timestamp > moved.sceneTime);
    for (const m of video.slice(decoded, first + 1)) picture = (await decoder.decode(m.payload)) ?? picture;
    const after = cubeCentre(picture!, background);
    decoded = first + 1;
    t.true(after.x - before.x > 70, `the cube moved right: ${before.x.toFixed(0)} → ${after.x.toFixed(0)}`);
    t.true(before.y - after.y > 30, `the cube moved up: ${before.y.toFixed(0)} → ${after.y.toFixed(0)}`);

    await stream.pause(true);
    await delay(50);
    const paused = video.length;
    await delay(300);
    t.is(video.length, paused, 'no frames while paused');
    await stream.pause(false);
    await until(() => video.length > paused);
    t.is(video[paused]!.payload[0], 0x13, 'resumes on a key frame');
    await client.close();
  } finally {
    await decoder.close();
    await server.close();
    await plugins.close();
  }
});

test('scene.h264 plays as H.264 through the ffmpeg plugin', async (t) => {
  const { server, plugins, url } = await demoServer();
  try {
    const probe = JSON.parse(await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', `${url}/scene.h264`])) as {
      streams: Array<{ codec_name: string; width: number; height: number }>;
    };
    t.like(probe.streams[0], { codec_name: 'h264', width: 640, height: 360 });
  } finally {
    await server.close();
    await plugins.close();
  }
});

test('a codec with no loaded encoder is StreamNotFound, with the codecs that are loaded', async (t) => {
  const { server, plugins, url } = await demoServer();
  try {
    const client = await RtmpClient.connect(url);
    const stream = await client.createStream();
    await t.throwsAsync(stream.play('scene.vp9'), { message: /no vp9 encoder is loaded \(have: .*screen-video/ });
    await client.close();
  } finally {
    await server.close();
    await plugins.close();
  }
});

import test from 'ava';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageType } from '../../lib/protocol/message';
import { isFrame, isKeyFrame, isVideoHeader, liveServer, player, until } from '../helpers/live';

function run(command: string, args: string[], timeout = 30_000): Promise<{ output: string; code: number | null }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ output: `${stdout}${stderr}`, code: error ? ((error as { code?: number }).code ?? -1) : 0 }),
    );
  });
}

/** ffmpeg publishing a live H.264 + AAC test picture in real time. */
function ffmpegPublish(url: string, seconds: number): ChildProcess {
  return spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30',
    '-c:a', 'aac', '-f', 'flv', url,
  ], { stdio: 'ignore' });
}

const exited = (child: ChildProcess): Promise<number | null> => new Promise((resolve) => child.once('exit', (code) => resolve(code)));

test('ffmpeg publishes H.264 + AAC; ffprobe, rtmpdump and our client play it with the right codecs, sizes and durations', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-live-'));
  const { server, registry, url } = await liveServer();
  const publisher = ffmpegPublish(`${url}/cam`, 6);
  try {
    await until(() => registry.get('live', 'cam')?.streamInfo.frameRate !== undefined, 15_000);
    const ours = await player(url, 'cam');
    const dump = join(dir, 'dump.flv');
    const [probe] = await Promise.all([
      run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height,sample_rate', '-of', 'json', `${url}/cam`]),
      run('rtmpdump', ['-r', `${url}/cam`, '--live', '-B', '2', '-o', dump, '-m', '3'], 20_000),
    ]);
    const streams = (JSON.parse(probe.output) as { streams: Array<Record<string, unknown>> }).streams;
    t.like(streams.find((s) => s.codec_name === 'h264'), { width: 640, height: 360 });
    t.like(streams.find((s) => s.codec_name === 'aac'), { sample_rate: '44100' });

    const file = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,width,height,nb_read_frames:format=duration', '-of', 'json', dump]);
    const parsed = JSON.parse(file.output) as { streams: Array<Record<string, unknown>>; format: { duration: string } };
    t.like(parsed.streams.find((s) => s.codec_name === 'h264'), { width: 640, height: 360 });
    t.truthy(parsed.streams.find((s) => s.codec_name === 'aac'));
    t.true(Number(parsed.format.duration) > 1, `rtmpdump recorded ${parsed.format.duration} s`);

    const video = ours.received.filter((m) => m.typeId === MessageType.Video);
    t.true(isVideoHeader(video[0]!) && isKeyFrame(video[1]!), 'our client starts on the sequence header and a key frame');
    t.true(video.filter(isFrame).length > 30);
    await ours.client.close();
    t.like(registry.get('live', 'cam')?.streamInfo, { videoCodec: 'avc', audioCodec: 'aac', width: 640, height: 360 });
  } finally {
    publisher.kill('SIGKILL');
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a second ffmpeg publishing the same name is refused and exits with an error', async (t) => {
  const { server, registry, url } = await liveServer();
  const first = ffmpegPublish(`${url}/cam`, 8);
  try {
    await until(() => registry.get('live', 'cam')?.state === 'live', 15_000);
    const second = ffmpegPublish(`${url}/cam`, 2);
    t.not(await exited(second), 0);
    t.is(registry.get('live', 'cam')?.state, 'live', 'the first publisher is untouched');
  } finally {
    first.kill('SIGKILL');
    await server.close();
  }
});

test('GStreamer rtmp2sink publishes and rtmp2src plays', async (t) => {
  const { server, registry, url } = await liveServer();
  const publisher = spawn('gst-launch-1.0', [
    '-q', 'videotestsrc', 'num-buffers=240', 'is-live=true', '!', 'video/x-raw,width=320,height=240,framerate=30/1',
    '!', 'openh264enc', '!', 'h264parse', '!', 'flvmux', 'streamable=true', '!', 'rtmp2sink', `location=${url}/gst`,
  ], { stdio: 'ignore' });
  try {
    await until(() => registry.get('live', 'gst')?.streamInfo.frameRate !== undefined, 15_000);
    const played = await run('gst-launch-1.0', ['rtmp2src', `location=${url}/gst`, '!', 'flvdemux', 'name=d', 'd.video', '!', 'queue', '!', 'h264parse', '!', 'fakesink', 'num-buffers=30'], 20_000);
    t.is(played.code, 0, played.output);
    t.regex(played.output, /Got EOS/);
    t.like(registry.get('live', 'gst')?.streamInfo, { videoCodec: 'avc', width: 320, height: 240 });
  } finally {
    publisher.kill('SIGKILL');
    await server.close();
  }
});

test('with media batched, rtmpdump records a stream ffprobe decodes whole, and players get frames in bursts, in order', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-batched-'));
  // mediaBatchFrom 0: batching from the first message, as under a large fan-out.
  const { server, registry, url } = await liveServer({ mediaBatchFrom: 0, mediaFlushMs: 100 });
  const publisher = ffmpegPublish(`${url}/cam`, 8);
  try {
    await until(() => registry.get('live', 'cam')?.streamInfo.frameRate !== undefined, 15_000);
    const ours = await player(url, 'cam');
    const arrivals: number[] = [];
    ours.stream.media$.subscribe((m) => {
      if (m.typeId === MessageType.Video) arrivals.push(performance.now());
    });
    const dump = join(dir, 'dump.flv');
    await run('rtmpdump', ['-r', `${url}/cam`, '--live', '-B', '2', '-o', dump, '-m', '4'], 20_000);
    const file = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames:format=duration', '-of', 'json', dump]);
    const parsed = JSON.parse(file.output) as { streams: Array<Record<string, unknown>>; format: { duration: string } };
    const h264 = parsed.streams.find((s) => s.codec_name === 'h264');
    const duration = Number(parsed.format.duration);
    t.true(duration > 1.5, `rtmpdump recorded ${duration} s`);
    t.true(Number(h264?.nb_read_frames) >= duration * 30 * 0.8, `${String(h264?.nb_read_frames)} frames decoded in ${duration} s`);

    const video = ours.received.filter((m) => m.typeId === MessageType.Video);
    const times = video.filter(isFrame).map((m) => m.timestamp);
    t.true(times.every((time, i) => i === 0 || time >= times[i - 1]!), 'timestamps never go back');
    // Past the GOP burst, a 30 fps stream sent frame by frame arrives about 33 ms apart; batched, most frames
    // arrive in the same read as the one before them.
    const gaps = arrivals.slice(40).map((at, i) => at - arrivals[40 + i - 1]!);
    const together = gaps.filter((gap) => gap < 5).length;
    t.true(gaps.length > 30 && together / gaps.length > 0.4, `${together} of ${gaps.length} frames arrived with the one before`);
    await ours.client.close();
  } finally {
    publisher.kill('SIGKILL');
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('in a fan-out ffmpeg’s publishing connection is read about once per media tick, and the stream keeps its frame rate', async (t) => {
  // Both servers take the same ffmpeg stream; one batches as under a large fan-out (mediaBatchFrom 0), one never does.
  const paced = await liveServer({ mediaBatchFrom: 0, mediaFlushMs: 100 });
  const unpaced = await liveServer({ mediaFlushMs: 0 });
  const publishers = [ffmpegPublish(`${paced.url}/cam`, 6), ffmpegPublish(`${unpaced.url}/cam`, 6)];
  const publishing = (server: typeof paced.server) =>
    [...server.connections].find((c) => [...c.streams.values()].some((s) => s.state === 'publishing'));
  try {
    await until(() => publishing(paced.server) !== undefined && publishing(unpaced.server) !== undefined, 15_000);
    const start = [publishing(paced.server)!.stats(), publishing(unpaced.server)!.stats()];
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const [pacedEnd, unpacedEnd] = [publishing(paced.server)!.stats(), publishing(unpaced.server)!.stats()];
    const readsPerKB = (end: typeof pacedEnd, from: typeof pacedEnd) => (end.readsIn - from.readsIn) / ((end.bytesIn - from.bytesIn) / 1024);
    const pacedRate = readsPerKB(pacedEnd, start[0]!);
    const unpacedRate = readsPerKB(unpacedEnd, start[1]!);
    t.log(`reads per kB: paced ${pacedRate.toFixed(3)}, unpaced ${unpacedRate.toFixed(3)}`);
    t.true(pacedEnd.bytesIn - start[0]!.bytesIn > 100_000, 'the paced publisher kept sending');
    t.true(pacedRate < unpacedRate / 2, `reads per kB: paced ${pacedRate.toFixed(3)}, unpaced ${unpacedRate.toFixed(3)}`);
    t.true((paced.registry.get('live', 'cam')?.streamInfo.frameRate ?? 0) >= 25, `frame rate ${paced.registry.get('live', 'cam')?.streamInfo.frameRate}`);
  } finally {
    for (const child of publishers) child.kill('SIGKILL');
    await Promise.all([paced.server.close(), unpaced.server.close()]);
  }
});

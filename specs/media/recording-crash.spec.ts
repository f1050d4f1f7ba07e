import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtmpClient } from '../../lib';
import { decodeAmf0 } from '../../lib/protocol/amf/amf0';
import { parseFlv } from '../../lib/protocol/flv';
import { MessageType } from '../../lib/protocol/message';
import { freePort } from '../helpers/ports';
import { delay, recordedMedia } from '../helpers/live';
import { until } from '../helpers/raw-peer';

const ROOT = join(__dirname, '..', '..');

/** `rxrtmp` (the compiled command) recording into `dir`; resolves once it listens. */
async function recordingServer(dir: string): Promise<{ port: number; child: ReturnType<typeof spawn>; exited: Promise<number | null> }> {
  const [port, httpPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'lib', 'cli.js'), '--host', '127.0.0.1', '--rtmp-port', String(port), '--http-port', String(httpPort), '--record-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await until(() => log.includes('http listening'), 20_000);
  return { port, child, exited };
}

/** Publishes the recording's media with `record` in real time for `seconds`; returns the video messages sent. */
async function publishFor(port: number, seconds: number): Promise<{ client: RtmpClient; video: number; frames: number }> {
  const client = await RtmpClient.connect(`rtmp://127.0.0.1:${port}/live`);
  const stream = await client.createStream();
  await stream.publish('rec', 'record');
  const started = Date.now();
  let video = 0;
  let frames = 0;
  for (const message of recordedMedia.filter((m) => m.timestamp <= seconds * 1000)) {
    const due = started + message.timestamp;
    if (due > Date.now()) await delay(due - Date.now());
    stream.sendMedia(message);
    if (message.typeId === MessageType.Video) video++;
    // A picture, not the AVC sequence header (which ffprobe does not count as a frame).
    if (message.typeId === MessageType.Video && message.payload[1] === 1) frames++;
  }
  return { client, video, frames };
}

const probe = (file: string): Promise<{ code: number; frames: number; stderr: string }> =>
  new Promise((resolve) =>
    execFile('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file], { timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? 1 : 0, frames: Number(stdout.trim()), stderr }),
    ),
  );

test('a recording survives SIGKILL of the server as a file ffprobe reads up to its last whole tag, and SIGTERM as a complete one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-crash-'));
  try {
    // SIGKILL mid-stream: every tag written so far is whole (each is one write as it comes).
    const killed = await recordingServer(join(dir, 'killed'));
    const first = await publishFor(killed.port, 2);
    await delay(300);
    killed.child.kill('SIGKILL');
    await killed.exited;
    const afterKill = await probe(join(dir, 'killed', 'rec.flv'));
    t.is(afterKill.code, 0, afterKill.stderr);
    t.true(afterKill.frames > 0 && afterKill.frames <= first.frames, `${afterKill.frames} of ${first.frames} frames readable after SIGKILL`);
    t.notThrows(() => parseFlv(readFileSync(join(dir, 'killed', 'rec.flv'))), 'no torn tag at the end');
    await first.client.close().catch(() => undefined);

    // SIGTERM: a clean shutdown closes the file with its duration and size filled in.
    const stopped = await recordingServer(join(dir, 'stopped'));
    const second = await publishFor(stopped.port, 2);
    await delay(300);
    stopped.child.kill('SIGTERM');
    t.is(await stopped.exited, 0);
    const file = readFileSync(join(dir, 'stopped', 'rec.flv'));
    const flv = parseFlv(file);
    t.is(flv.tags.filter((tag) => tag.typeId === MessageType.Video).length, second.video, 'every frame sent is in the file');
    const metadata = decodeAmf0(flv.tags.find((tag) => tag.typeId === MessageType.DataAmf0)!.data)[1] as { duration: number; filesize: number };
    t.true(metadata.duration > 1.5, `duration ${metadata.duration} s filled in`);
    t.is(metadata.filesize, file.length);
    const afterTerm = await probe(join(dir, 'stopped', 'rec.flv'));
    t.is(afterTerm.frames, second.frames);
    await second.client.close().catch(() => undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import test from 'ava';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RtmpClient } from '../../lib';
import type { ClusterStatus } from '../../lib/cluster/cluster';
import { MessageType, RtmpMessage } from '../../lib/protocol/message';
import { accepts, freePort } from '../helpers/ports';
import { RedisServer, startRedis } from '../helpers/redis';
import { delay, isKeyFrame, until } from '../helpers/live';

const ROOT = join(__dirname, '..', '..');
const SECRET = 'the secret every node of this cluster shares';
const run = promisify(execFile);
let redis: RedisServer;
let dir: string;
const children: ChildProcess[] = [];

test.before(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'rxrtmp-cluster-'));
});
test.after.always(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface ServerProcess {
  child: ChildProcess;
  rtmp: string;
  cluster(): Promise<ClusterStatus>;
}

function getJson<T>(port: number, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    // A new connection each time (no keep-alive): under --workers each may land on another worker.
    const call = get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      let body = '';
      response.on('data', (d: Buffer) => (body += d.toString()));
      response.on('end', () => (response.statusCode === 200 ? resolve(JSON.parse(body) as T) : reject(new Error(`${path}: ${response.statusCode} ${body}`))));
    });
    call.on('error', reject);
    // A connection the primary hands to a worker as it dies is never answered.
    call.setTimeout(3_000, () => call.destroy(new Error(`${path}: no answer within 3 s`)));
  });
}

/** The compiled server (`rxrtmp`) as a node of the cluster on Redis database `db` (one per test), or with no Redis (then only a worker pool is a cluster). */
async function serverProcess(db: number | 'no redis', extra: string[] = []): Promise<ServerProcess> {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const cluster = db === 'no redis' ? [] : ['--redis', `${redis.url}/${db}`, '--cluster-secret', SECRET];
  const args = [join(ROOT, 'dist', 'lib', 'cli.js'), '--host', '127.0.0.1', '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), ...cluster, '--record-dir', dir, '--log-format', 'json', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-3000)));
  for (const deadline = Date.now() + 20_000; ; await delay(100)) {
    if (child.exitCode !== null) throw new Error(`the server exited: ${log}`);
    if (Date.now() > deadline) throw new Error(`the server did not start: ${log}`);
    if (await getJson(httpPort, '/api/cluster').then(() => true, () => false)) break;
  }
  return { child, rtmp: `rtmp://127.0.0.1:${rtmpPort}/live`, cluster: () => getJson<ClusterStatus>(httpPort, '/api/cluster') };
}

function ffmpegPublish(url: string, seconds: number): ChildProcess {
  const child = spawn('ffmpeg', ['-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-t', String(seconds), '-f', 'flv', url], { stdio: 'ignore' });
  children.push(child);
  return child;
}

async function videoFrames(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=codec_name,nb_read_packets', '-of', 'csv=p=0', file]);
  const [codec, packets] = stdout.trim().split(',');
  return codec === 'h264' ? Number(packets) : 0;
}

const exited = (child: ChildProcess): Promise<void> => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve())));

test.serial('ffmpeg publishes to one process; rtmpdump and ffmpeg play it from two others, each through one pull from the owner', async (t) => {
  t.timeout(60_000);
  const [owner, edge, other] = [await serverProcess(1), await serverProcess(1), await serverProcess(1)];
  const encoder = ffmpegPublish(`${owner.rtmp}/cam`, 20);
  for (const deadline = Date.now() + 10_000; !(await owner.cluster()).claimed.includes('live/cam'); await delay(100)) if (Date.now() > deadline) throw new Error('never claimed');
  const dumps = [0, 1].map((i) => {
    const file = join(dir, `rtmpdump-${i}.flv`);
    const child = spawn('rtmpdump', ['-q', '-v', '-r', `${edge.rtmp}/cam`, '-o', file], { stdio: 'ignore' });
    children.push(child);
    return { child, file };
  });
  const copied = join(dir, 'ffmpeg-copy.flv');
  const reader = spawn('ffmpeg', ['-loglevel', 'error', '-y', '-i', `${other.rtmp}/cam`, '-t', '3', '-c', 'copy', copied], { stdio: 'ignore' });
  children.push(reader);
  await delay(2_500);
  const edgeStatus = await edge.cluster();
  t.is(edgeStatus.pulling.length, 1, 'two players on one process, one pull');
  t.is(edgeStatus.pulling[0]!.node, (await owner.cluster()).node.id);
  t.is(edgeStatus.pulling[0]!.from, (await owner.cluster()).node.address);
  await delay(1_500);
  dumps.forEach((d) => d.child.kill('SIGINT'));
  await Promise.all([...dumps.map((d) => exited(d.child)), exited(reader)]);
  for (const file of [...dumps.map((d) => d.file), copied]) {
    const frames = await videoFrames(file);
    t.true(frames >= 25, `${file}: ${frames} H.264 frames`);
  }
  encoder.kill('SIGKILL');
  await Promise.all([owner, edge, other].map(async (p) => (p.child.kill('SIGTERM'), exited(p.child))));
});

test.serial('ffmpeg publishing one name to two processes at once: exactly one wins, the other is refused', async (t) => {
  t.timeout(60_000);
  const [one, two] = [await serverProcess(4), await serverProcess(4)];
  const encoders = [ffmpegPublish(`${one.rtmp}/twice`, 15), ffmpegPublish(`${two.rtmp}/twice`, 15)];
  // The loser's publish waits out the holder's lease (claimWaitMs, 4 s), then ffmpeg is refused and exits.
  const first = await Promise.race(encoders.map((e, i) => exited(e).then(() => i)));
  const owners = (await Promise.all([one.cluster(), two.cluster()])).map((s) => s.claimed.includes('live/twice'));
  t.deepEqual(owners, first === 0 ? [false, true] : [true, false], 'the process whose ffmpeg stayed holds the name');
  t.not(encoders[first]!.exitCode, 0, 'the refused ffmpeg exits with an error');
  t.is(encoders[1 - first]!.exitCode, null, 'the winner is still publishing');
  encoders.forEach((e) => e.kill('SIGKILL'));
  await Promise.all([one, two].map(async (p) => (p.child.kill('SIGTERM'), exited(p.child))));
});

test.serial('the owner killed with SIGKILL, the encoder reconnecting to another process: players elsewhere stay, and their process follows the new owner (higher epoch), never two', async (t) => {
  t.timeout(90_000);
  const [first, edge, second] = [await serverProcess(2), await serverProcess(2), await serverProcess(2)];
  const encoder = ffmpegPublish(`${first.rtmp}/cam`, 60);
  for (const deadline = Date.now() + 10_000; !(await first.cluster()).claimed.includes('live/cam'); await delay(100)) if (Date.now() > deadline) throw new Error('never claimed');
  // One player of ours (to see every status and frame) and rtmpdump, on the edge.
  const client = await RtmpClient.connect(edge.rtmp);
  const stream = await client.createStream();
  const media: RtmpMessage[] = [];
  const statuses: string[] = [];
  stream.media$.subscribe((m) => media.push(m));
  client.status$.subscribe((s) => statuses.push(s.info.code));
  await stream.play('cam', { start: -1 });
  const dumpFile = join(dir, 'failover.flv');
  const dump = spawn('rtmpdump', ['-q', '-v', '-r', `${edge.rtmp}/cam`, '-o', dumpFile], { stdio: 'ignore' });
  children.push(dump);
  await until(() => media.some(isKeyFrame), 10_000);
  const before = (await edge.cluster()).pulling;
  t.is(before.length, 1);
  const firstNode = (await first.cluster()).node.id;
  t.is(before[0]!.node, firstNode);
  // Never two owners followed at once: sampled until the end.
  let mostPulls = 0;
  const sampling = setInterval(() => void edge.cluster().then((s) => (mostPulls = Math.max(mostPulls, s.pulling.length)), () => undefined), 100);
  try {
    first.child.kill('SIGKILL');
    encoder.kill('SIGKILL');
    const killedAt = Date.now();
    const framesAtKill = media.filter((m) => m.typeId === MessageType.Video).length;
    const dumpedAtKill = statSync(dumpFile).size;
    // The encoder comes back on another process; its publish waits out the dead owner's lease.
    const encoderAgain = ffmpegPublish(`${second.rtmp}/cam`, 60);
    await until(() => media.filter((m) => m.typeId === MessageType.Video).length > framesAtKill + 50, 20_000);
    t.log(`frames again ${Date.now() - killedAt} ms after the owner was killed`);
    const after = (await edge.cluster()).pulling;
    t.deepEqual(after.map((p) => p.node), [(await second.cluster()).node.id]);
    t.true(after[0]!.epoch > before[0]!.epoch, `${after[0]!.epoch} > ${before[0]!.epoch}`);
    t.is(client.closeReason, undefined, 'our player is still connected');
    t.false(statuses.includes('NetStream.Play.UnpublishNotify'), 'and was never told the stream ended');
    t.is(dump.exitCode, null, 'rtmpdump is still playing');
    await delay(1_000);
    t.true(statSync(dumpFile).size > dumpedAtKill, 'and still receiving');
    t.true(mostPulls <= 1, `at most one pull at a time (saw ${mostPulls})`);
    encoderAgain.kill('SIGKILL');
  } finally {
    clearInterval(sampling);
    dump.kill('SIGKILL');
    await client.close();
    await Promise.all([edge, second].map(async (p) => (p.child.kill('SIGTERM'), exited(p.child))));
  }
});

for (const [title, db] of [['the primary keeps the directory', 'no redis'], ['their directory in Redis', 3]] as const) {
  test.serial(`--workers 2, ${title}: one RTMP port, a stream published to it plays on both workers, a killed worker is replaced, SIGTERM stops them all`, async (t) => {
    t.timeout(120_000);
    const began = Date.now();
    const phase = (what: string): void => t.log(`${what} at ${Date.now() - began} ms`);
    const pool = await serverProcess(db, ['--workers', '2']);
    phase('first worker answering');
    const nodes = new Set<string>();
    // The second worker may still be starting.
    for (const deadline = Date.now() + 15_000; nodes.size < 2 && Date.now() < deadline; await delay(50)) nodes.add((await pool.cluster()).node.id);
    t.is(nodes.size, 2, 'two workers answer on the shared HTTP port, each its own node');
    phase('both workers answering');
    const encoder = ffmpegPublish(`${pool.rtmp}/cam`, 60);
    await delay(2_000);
    // Connections spread over the workers; each player gets key frames whichever it lands on.
    for (let i = 0; i < 6; i++) {
      const client = await RtmpClient.connect(pool.rtmp);
      const stream = await client.createStream();
      const media: RtmpMessage[] = [];
      stream.media$.subscribe((m) => media.push(m));
      await stream.play('cam', { start: -1 });
      await until(() => media.some(isKeyFrame), 10_000);
      await client.close();
    }
    phase('six players got key frames');
    // One worker owns the stream; the other pulled it for the players it got (the pull lasts 10 s after them).
    const statuses = await Promise.all(Array.from({ length: 12 }, () => pool.cluster()));
    t.true(statuses.some((s) => s.claimed.includes('live/cam')), 'a worker owns it');
    t.true(statuses.some((s) => s.pulling.some((p) => p.key === 'live/cam' && nodes.has(p.node))), 'the other pulls it from its sibling');
    // A worker that dies is replaced: two nodes answer again, one of them new.
    const victim = [...statuses.values()][0]!.node.pid;
    process.kill(victim, 'SIGKILL');
    const after = new Set<string>();
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await delay(100)) {
      const status = await pool.cluster().catch(() => undefined);
      if (status && status.node.pid !== victim) after.add(status.node.id);
      if (after.size === 2) break;
    }
    t.is(after.size, 2, 'a new worker took the dead one\'s place');
    phase('a new worker answering');
    t.false([...after].every((id) => nodes.has(id)));
    encoder.kill('SIGKILL');
    const started = Date.now();
    pool.child.kill('SIGTERM');
    await exited(pool.child);
    t.is(pool.child.exitCode, 0);
    t.log(`stopped in ${Date.now() - started} ms`);
  });
}

test.serial('npm run cluster: a Redis and a worker pool on it, both stopped by one SIGTERM', async (t) => {
  t.timeout(60_000);
  const [redisPort, rtmpPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'cluster.js'), '--workers', '2', '--redis-port', String(redisPort), '--host', '127.0.0.1', '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), '--record-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  const nodes = new Set<string>();
  for (const deadline = Date.now() + 30_000; nodes.size < 2 && Date.now() < deadline; await delay(100)) {
    const status = await getJson<ClusterStatus>(httpPort, '/api/cluster').catch(() => undefined);
    if (status) nodes.add(status.node.id);
  }
  t.is(nodes.size, 2, 'two workers, each a node');
  t.true(await accepts(redisPort), 'its Redis is up');
  child.kill('SIGTERM');
  await exited(child);
  t.is(child.exitCode, 0);
  t.false(await accepts(redisPort), 'and stopped with it');
});

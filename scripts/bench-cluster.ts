/**
 * The cluster benchmark (`npm run bench -- --only cluster`, or this file alone): rxrtmp
 * processes as `npm start` runs them, on one Redis, on loopback.
 *
 * 1. First key frame, from the play command: on the owner (the publisher is there), for
 *    the first player on another process (its pull starts then), and for later players
 *    there (served from its GOP cache). Each round a new stream, so that every round's
 *    first player really starts a pull. Beside it, publisher → player latency on the
 *    owner and through the pull.
 * 2. One stream's egress: the same players on one process and on --workers N, at each
 *    player count (per-MB cost falls as players rise, so capacity is judged at the higher). Figures:
 *    delivered MB/s (ss bytes_acked), server CPU (every process), CPU ms per MB, and
 *    relay latency played under that load. This machine's cores are shared with the load
 *    client, so a worker pool cannot be driven to saturation here; the capacity ratio is
 *    projected as N x (CPU per MB on one process / CPU per MB on N workers).
 *
 *   bench-cluster.ts [--rounds 15] [--players 300,1000] [--seconds 15] [--workers N] [--repeat 1] [--out FILE]
 *
 * Prints a table, then one JSON line with every figure.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { RtmpClient } from '../lib';
import { MessageType } from '../lib/protocol/message';
import { freePort } from '../specs/helpers/ports';
import { startRedis } from '../specs/helpers/redis';
import { prepareClip, startPublisher } from './bench/clip';
import { runRelayLatency } from './bench/latency';
import type { Peer } from './bench/peers';
import { cpuSeconds, median, percentile, sleep, socketBytes, socketDelta } from './bench/proc';
import { npmStartCommand } from './start-command';

const REPO = join(__dirname, '..');
const SECRET = 'bench cluster secret, thirty-two bytes or more';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
const rounds = Math.min(50, option('rounds', 15));
const playerCounts = (() => {
  const at = process.argv.indexOf('--players');
  const listed = at >= 0 ? (process.argv[at + 1] ?? '').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0 && n <= 1500) : [];
  return listed.length > 0 ? listed : [300, 1000];
})();
const seconds = Math.min(60, option('seconds', 15));
/** Runs per configuration and player count, alternating; the row shown is the run with the median CPU per MB. */
const repeat = Math.min(5, option('repeat', 1));
const workers = Math.min(8, option('workers', Math.max(2, availableParallelism())));

interface Server {
  pid: number;
  url: string;
  rtmpPort: number;
  /** The server's processes: itself, and its workers when it has any. */
  pids(): number[];
  stop(): Promise<void>;
}

async function startServer(extra: string[]): Promise<Server> {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const start = npmStartCommand(REPO);
  const child: ChildProcess = spawn(process.execPath, [...start.nodeArgs, '--host', '127.0.0.1', '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), '--log-format', 'json', ...extra], {
    cwd: REPO,
    env: { ...process.env, ...start.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-2000)));
  const answers = (): Promise<boolean> => new Promise((resolve) => get({ host: '127.0.0.1', port: httpPort, path: '/healthz', agent: false }, (r) => (r.resume(), resolve(r.statusCode === 200))).on('error', () => resolve(false)));
  for (const deadline = Date.now() + 60_000; !(await answers()); await sleep(100)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not start: ${log}`);
  }
  const pid = child.pid!;
  const children = (): number[] => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  return {
    pid,
    url: `rtmp://127.0.0.1:${rtmpPort}/live`,
    rtmpPort,
    pids: () => [pid, ...children()],
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const hard = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(hard);
    },
  };
}

/** Milliseconds from the play command to the first video key frame. */
async function firstKeyFrame(url: string, name: string): Promise<number> {
  const client = await RtmpClient.connect(url);
  try {
    const stream = await client.createStream();
    const started = performance.now();
    const keyFrame = new Promise<number>((resolve) => {
      stream.media$.subscribe((m) => m.typeId === MessageType.Video && m.payload[0] === 0x17 && m.payload[1] === 1 && resolve(performance.now() - started));
    });
    await stream.play(name, { start: -1 });
    return await Promise.race([keyFrame, sleep(10_000).then(() => Number.NaN)]);
  } finally {
    await client.close();
  }
}

const stats = (values: number[]): { median: number; p95: number; n: number } => {
  const ok = values.filter((v) => Number.isFinite(v));
  return { median: median(ok), p95: percentile(ok, 95), n: ok.length };
};
const fixed = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const asPeer = (name: string, url: string): Peer => ({ name, pid: 0, port: 0, url, stop: async () => undefined });

async function firstFrames(redisUrl: string): Promise<Record<string, unknown>> {
  const [owner, edge] = [await startServer(['--redis', `${redisUrl}/1`, '--cluster-secret', SECRET]), await startServer(['--redis', `${redisUrl}/1`, '--cluster-secret', SECRET])];
  const onOwner: number[] = [];
  const firstElsewhere: number[] = [];
  const laterElsewhere: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const name = `first-${round}`;
      // 2.5 s of the clip (a GOP is 2 s) so that the owner has a key frame cached.
      const publisher = await startPublisher(owner.url, 2_500, name);
      try {
        firstElsewhere.push(await firstKeyFrame(edge.url, name));
        for (let i = 0; i < 4; i++) laterElsewhere.push(await firstKeyFrame(edge.url, name));
        onOwner.push(await firstKeyFrame(owner.url, name));
      } finally {
        await publisher.stop();
      }
    }
    const direct = await runRelayLatency(asPeer('owner', owner.url), 5);
    const throughPull = await runRelayLatency(asPeer('through a pull', owner.url), 5, 5_000, edge.url);
    return { onOwner: stats(onOwner), firstElsewhere: stats(firstElsewhere), laterElsewhere: stats(laterElsewhere), relay: { direct, throughPull } };
  } finally {
    await Promise.all([owner.stop(), edge.stop()]);
  }
}

interface EgressRow {
  config: string;
  players: number;
  processes: number;
  playersWithMedia: number;
  keptRealTime: number;
  deliveredMBps: number;
  cpuPercent: number;
  cpuMsPerMB: number;
  /** CPU seconds per process over the window: how evenly the workers share the players. */
  cpuByProcess: number[];
  relayMedianMs: number;
  relayP95Ms: number;
}

async function egress(config: string, extra: string[], players: number): Promise<EgressRow> {
  const server = await startServer(extra);
  const publisher = await startPublisher(server.url, 3_000, 'egress');
  // stdin is a pipe: the load client exits when it closes, so it never outlives this script.
  const load = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, 'bench', 'play-clients.ts'), '--port', String(server.rtmpPort), '--stream', 'egress', '--count', String(players), '--seconds', String(seconds)], { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: Array<Record<string, unknown>> = [];
  let buffered = '';
  const waiting: Array<() => void> = [];
  load.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) if (part.startsWith('{')) lines.push(JSON.parse(part) as Record<string, unknown>);
    waiting.splice(0).forEach((wake) => wake());
  });
  const next = async (event: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const found = lines.find((l) => l.event === event);
      if (found) return found;
      if (load.exitCode !== null) throw new Error(`the load client exited before "${event}"`);
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        load.once('exit', () => resolve());
      });
    }
  };
  try {
    const playing = await next('playing');
    await sleep(2_000);
    const pids = server.pids();
    const cpuBefore = pids.map((pid) => cpuSeconds(pid));
    const bytesBefore = await socketBytes(server.rtmpPort);
    const windowStart = performance.now();
    const window = Math.max(3, seconds - 6);
    // Relay latency under the load, in the middle of the window.
    const relay = await runRelayLatency(asPeer(config, server.url), Math.min(5, window - 1));
    await sleep(Math.max(0, window * 1000 - (performance.now() - windowStart)));
    const elapsed = (performance.now() - windowStart) / 1000;
    const cpuByProcess = pids.map((pid, i) => cpuSeconds(pid) - cpuBefore[i]!);
    const delivered = socketDelta(bytesBefore, await socketBytes(server.rtmpPort)) / 1e6;
    const done = await next('done');
    const cpu = cpuByProcess.reduce((a, b) => a + b, 0);
    return {
      config,
      players,
      processes: pids.length,
      playersWithMedia: Number(playing.withMedia),
      keptRealTime: Number(done.keptRealTime ?? NaN),
      deliveredMBps: delivered / elapsed,
      cpuPercent: (100 * cpu) / elapsed,
      cpuMsPerMB: (1000 * cpu) / delivered,
      cpuByProcess,
      relayMedianMs: relay.medianMs,
      relayP95Ms: relay.p95Ms,
    };
  } finally {
    load.kill('SIGKILL');
    await publisher.stop();
    await server.stop();
  }
}

function medianRow(rows: EgressRow[]): EgressRow {
  return [...rows].sort((a, b) => a.cpuMsPerMB - b.cpuMsPerMB)[Math.floor((rows.length - 1) / 2)]!;
}

async function main(): Promise<void> {
  prepareClip();
  const redis = await startRedis();
  try {
    console.log(`cluster bench: ${rounds} rounds of first plays; egress of one 2.5 Mbit/s stream to ${playerCounts.join(' and ')} players, one process against --workers ${workers}`);
    const first = await firstFrames(redis.url);
    const f = first as { onOwner: ReturnType<typeof stats>; firstElsewhere: ReturnType<typeof stats>; laterElsewhere: ReturnType<typeof stats>; relay: { direct: { medianMs: number; p95Ms: number }; throughPull: { medianMs: number; p95Ms: number } } };
    console.log('\n1. First key frame after the play command (ms)      median    p95    n');
    for (const [label, s] of [['on the owner', f.onOwner], ['first player on another process (starts the pull)', f.firstElsewhere], ['later players there (its GOP cache)', f.laterElsewhere]] as const) {
      console.log(`   ${label.padEnd(50)} ${fixed(s.median).padStart(6)} ${fixed(s.p95).padStart(6)} ${String(s.n).padStart(4)}`);
    }
    console.log(`   relay latency, publisher -> player: on the owner ${fixed(f.relay.direct.medianMs)} / ${fixed(f.relay.direct.p95Ms)} ms (median / p95), through a pull ${fixed(f.relay.throughPull.medianMs)} / ${fixed(f.relay.throughPull.p95Ms)} ms`);

    const rows: EgressRow[] = [];
    const projections: Array<{ players: number; ratio: number }> = [];
    for (const players of playerCounts) {
      const singles: EgressRow[] = [];
      const pools: EgressRow[] = [];
      for (let run = 0; run < repeat; run++) {
        singles.push(await egress('one process', [], players));
        pools.push(await egress(`--workers ${workers}`, ['--workers', String(workers), '--redis', `${redis.url}/2`, '--cluster-secret', SECRET], players));
      }
      const single = medianRow(singles);
      const pool = medianRow(pools);
      rows.push(single, pool);
      projections.push({ players, ratio: workers * (single.cpuMsPerMB / pool.cpuMsPerMB) });
    }
    console.log(`\n2. Egress of one 2.5 Mbit/s stream                    delivered MB/s  kept real time  CPU %  CPU ms/MB  relay median/p95 ms  CPU s by process`);
    for (const row of rows) {
      console.log(`   ${`${row.config}, ${row.players} players`.padEnd(50)} ${fixed(row.deliveredMBps).padStart(14)} ${`${row.keptRealTime}/${row.players}`.padStart(15)} ${fixed(row.cpuPercent).padStart(6)} ${fixed(row.cpuMsPerMB, 2).padStart(10)} ${`${fixed(row.relayMedianMs)}/${fixed(row.relayP95Ms)}`.padStart(20)}  ${row.cpuByProcess.map((c) => c.toFixed(2)).join(' ')}`);
    }
    for (const { players, ratio } of projections) console.log(`   projected capacity on ${workers} workers at ${players} players: ${fixed(ratio, 2)} x one process (target >= ${fixed(0.8 * workers, 1)}), from CPU per MB`);
    const result = { rounds, playerCounts, seconds, workers, repeat, firstFrames: first, egress: rows, projectedCapacityRatios: projections };
    const outAt = process.argv.indexOf('--out');
    if (outAt >= 0) writeFileSync(process.argv[outAt + 1]!, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result));
  } finally {
    await redis.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

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
 *    player count. Figures: delivered MB/s (what the players received), server CPU (every
 *    process), CPU ms per MB, and relay latency played under that load. Far from saturation
 *    a process's fixed costs (timers, the event-loop monitor, the pull) weigh on CPU per MB,
 *    so the capacity this projects, N x (CPU per MB on one process / CPU per MB on N
 *    workers), is indicative only, and noisy at small audiences.
 * 3. Capacity under a CPU budget (root and a cgroup cpu controller; skipped otherwise):
 *    the most players one process and the pool each serve in full when held to
 *    `--budget` core per process, the load clients keeping the rest of the machine.
 *
 *   bench-cluster.ts [--parts first,egress,saturation] [--rounds 15] [--players 300,1000] [--seconds 15] [--workers N]
 *                    [--budget 0.12] [--saturation-from 300] [--saturation-players 2400] [--repeat 1] [--out FILE]
 *
 * Prints a table, then one JSON line with every figure.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { RtmpClient } from '../lib';
import { MessageType } from '../lib/protocol/message';
import { freePort } from '../specs/helpers/ports';
import { startRedis } from '../specs/helpers/redis';
import { prepareClip, Publisher, startPublisher } from './bench/clip';
import { runRelayLatency } from './bench/latency';
import type { Peer } from './bench/peers';
import { cpuSeconds, median, percentile, sleep } from './bench/proc';
import { npmStartCommand } from './start-command';
import { CpuBudget, cpuBudgetSupport, createCpuBudget } from './bench/cpu-budget';
import { LoadClient, startLoadClient } from './bench/load-client';

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
/** Saturation: the CPU each process (one process, or each worker) is held to, in cores, and the players offered. */
const budgetCores = Math.min(1, option('budget', 0.12));
const parts = new Set((() => {
  const at = process.argv.indexOf('--parts');
  return at >= 0 ? (process.argv[at + 1] ?? '').split(',') : ['first', 'egress', 'saturation'];
})());
const saturationPlayers = Math.min(4000, option('saturation-players', 2400));
const saturationStart = Math.min(saturationPlayers, option('saturation-from', 300));

interface Server {
  pid: number;
  url: string;
  rtmpPort: number;
  /** The server's processes: itself, and its workers when it has any. */
  pids(): number[];
  stop(): Promise<void>;
}

async function startServer(extra: string[], budget?: CpuBudget): Promise<Server> {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const start = npmStartCommand(REPO);
  const argv = [...start.nodeArgs, '--host', '127.0.0.1', '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), '--log-format', 'json', ...extra];
  const run = budget ? budget.command(process.execPath, argv) : { file: process.execPath, args: argv };
  const child: ChildProcess = spawn(run.file, run.args, {
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
  /** The CPU the server's processes were held to (cores), when it was held. */
  budgetCores?: number;
  playersWithMedia: number;
  keptRealTime: number;
  deliveredMBps: number;
  cpuPercent: number;
  cpuMsPerMB: number;
  /** CPU seconds per process over the window: how evenly the workers share the players. */
  cpuByProcess: number[];
  /** Share of the window's CFS periods in which the budget ran out (saturation shows as most of them). */
  throttledShare?: number;
  /** CPU the load clients used, ms per second: far under 1000 each, or they were the bottleneck. */
  loadCpuMsPerSecond: number[];
  relayMedianMs: number;
  relayP95Ms: number;
}

/** Players this many or more are split over two load clients, so that one client's core is not the limit. */
const PLAYERS_PER_LOAD_CLIENT = 800;

/**
 * One stream's egress to `players` players. With a budget the players connect and ask to
 * play before the publisher starts: setting up thousands of connections on a starved
 * server is a different measurement (of accept and handshake), and it would decide how
 * many players the stream has.
 */
async function egress(config: string, extra: string[], players: number, budget?: CpuBudget): Promise<EgressRow> {
  const server = await startServer(extra, budget);
  const clients = Math.ceil(players / PLAYERS_PER_LOAD_CLIENT);
  const startLoads = (): LoadClient[] =>
    Array.from({ length: clients }, (_, i) => startLoadClient({ port: server.rtmpPort, stream: 'egress', count: Math.floor(players / clients) + (i < players % clients ? 1 : 0), seconds: 300 }));
  let loads: LoadClient[] = [];
  let publisher: Publisher | undefined;
  try {
    if (budget) {
      loads = startLoads();
      await Promise.race([Promise.all(loads.map((l) => l.next('requested'))), sleep(90_000)]);
      publisher = await startPublisher(server.url, 3_000, 'egress');
    } else {
      publisher = await startPublisher(server.url, 3_000, 'egress');
      loads = startLoads();
    }
    const playing = await Promise.all(loads.map((l) => l.next('playing')));
    await sleep(2_000);
    const pids = server.pids();
    const cpuBefore = pids.map((pid) => cpuSeconds(pid));
    const throttledBefore = budget?.throttledPeriods() ?? 0;
    const receivedBefore = await Promise.all(loads.map((l) => l.received()));
    const windowStart = performance.now();
    const window = Math.max(3, seconds - 6);
    // Relay latency under the load, in the middle of the window.
    // A saturated server may not answer a new client's connect in time: that is a finding, not a failed run.
    const relay = await runRelayLatency(asPeer(config, server.url), Math.min(5, window - 1)).catch((error: unknown) => ({ medianMs: Number.NaN, p95Ms: Number.NaN, error: error instanceof Error ? error.message : String(error) }));
    await sleep(Math.max(0, window * 1000 - (performance.now() - windowStart)));
    const receivedAfter = await Promise.all(loads.map((l) => l.received()));
    const elapsed = (performance.now() - windowStart) / 1000;
    const cpuByProcess = pids.map((pid, i) => cpuSeconds(pid) - cpuBefore[i]!);
    const throttled = (budget?.throttledPeriods() ?? 0) - throttledBefore;
    // What the players received (chunk headers included) over the window, as they counted it.
    const delivered = receivedAfter.reduce((sum, bytes, i) => sum + bytes - receivedBefore[i]!, 0) / 1e6;
    for (const load of loads) load.finish();
    const done = await Promise.all(loads.map((l) => l.next('done')));
    const cpu = cpuByProcess.reduce((a, b) => a + b, 0);
    const sum = (rows: Array<Record<string, unknown>>, key: string): number => rows.reduce((total, row) => total + Number(row[key] ?? NaN), 0);
    return {
      config,
      players,
      processes: pids.length,
      ...(budget ? { budgetCores: budget.cores, throttledShare: throttled / ((elapsed * 1e6) / budget.periodUs) } : {}),
      playersWithMedia: sum(playing, 'withMedia'),
      keptRealTime: sum(done, 'keptRealTime'),
      deliveredMBps: delivered / elapsed,
      cpuPercent: (100 * cpu) / elapsed,
      cpuMsPerMB: (1000 * cpu) / delivered,
      cpuByProcess,
      loadCpuMsPerSecond: done.map((d) => Number(d.clientCpuMsPerSecond ?? NaN)),
      relayMedianMs: relay.medianMs,
      relayP95Ms: relay.p95Ms,
    };
  } finally {
    for (const load of loads) load.kill();
    await publisher?.stop();
    await server.stop();
  }
}

/** Bytes a second one player of the clip needs: the FLV file's size over its 10 s (chunk headers weigh about what FLV tags do). */
function clipBytesPerSecond(): number {
  return statSync(prepareClip()).size / 10;
}

/** A run serves its players when every one keeps real time and they get at least 95% of the stream's bytes (a server that drops frames keeps timestamps moving). */
function served(row: EgressRow, perPlayerMBps: number): boolean {
  return row.keptRealTime >= row.players && row.deliveredMBps >= 0.95 * row.players * perPlayerMBps;
}

/**
 * Capacity, measured: the server's processes held to a CPU budget (a cgroup quota:
 * `budgetCores` for one process, `workers x budgetCores` for the pool, its primary
 * included), and the number of players raised until the stream no longer reaches them
 * all in full. The most players served is the configuration's capacity; the ratio of
 * the two is the pool's scaling. Players rise by a quarter until a run fails, then the
 * gap is halved twice.
 */
async function saturate(redisUrl: string): Promise<Record<string, unknown>> {
  const unsupported = cpuBudgetSupport();
  if (unsupported !== undefined) {
    console.log(`\n3. Capacity under a CPU budget: skipped (${unsupported})`);
    return { skipped: unsupported };
  }
  const perPlayerMBps = clipBytesPerSecond() / 1e6;
  const capacity = async (config: string, extra: string[], cores: number, from: number): Promise<{ players: number; row: EgressRow | undefined; runs: EgressRow[] }> => {
    const runs: EgressRow[] = [];
    const attempt = async (players: number): Promise<EgressRow> => {
      const budget = createCpuBudget(config.replace(/\W+/g, '-'), cores);
      try {
        const row = await egress(config, extra, players, budget);
        runs.push(row);
        console.log(`   ${config}: ${players} players ${served(row, perPlayerMBps) ? 'served' : 'not served'} (${fixed(row.deliveredMBps)} MB/s of ${fixed(players * perPlayerMBps)}, ${row.keptRealTime} kept real time)`);
        return row;
      } finally {
        budget.remove();
      }
    };
    let good: EgressRow | undefined;
    let bad = Number.POSITIVE_INFINITY;
    for (let players = from; players <= saturationPlayers; players = Math.round(players * 1.25)) {
      const row = await attempt(players);
      if (!served(row, perPlayerMBps)) {
        bad = players;
        break;
      }
      good = row;
    }
    for (let step = 0; step < 2 && Number.isFinite(bad); step++) {
      const low = good?.players ?? 0;
      const players = Math.round((low + bad) / 2);
      if (players <= low || players >= bad) break;
      const row = await attempt(players);
      if (served(row, perPlayerMBps)) good = row;
      else bad = players;
    }
    return { players: good?.players ?? 0, row: good, runs };
  };
  console.log(`\n3. Capacity under a CPU budget (${budgetCores} core a process; ${fixed(perPlayerMBps, 3)} MB/s a player)`);
  const single = await capacity(`one process on ${budgetCores} core`, [], budgetCores, saturationStart);
  const pool = await capacity(`--workers ${workers} on ${workers} x ${budgetCores} core`, ['--workers', String(workers), '--redis', `${redisUrl}/3`, '--cluster-secret', SECRET], workers * budgetCores, Math.max(saturationStart, Math.round(single.players * workers * 0.6)));
  const ratio = pool.players / single.players;
  console.log(`   players served in full                              players  delivered MB/s  CPU %  CPU ms/MB  relay median/p95 ms  load CPU ms/s`);
  for (const [label, found] of [[`one process on ${budgetCores} core`, single], [`--workers ${workers} on ${workers} x ${budgetCores} core`, pool]] as const) {
    const row = found.row;
    console.log(`   ${label.padEnd(50)} ${String(found.players).padStart(7)} ${fixed(row?.deliveredMBps ?? NaN).padStart(15)} ${fixed(row?.cpuPercent ?? NaN).padStart(6)} ${fixed(row?.cpuMsPerMB ?? NaN, 2).padStart(10)} ${`${fixed(row?.relayMedianMs ?? NaN)}/${fixed(row?.relayP95Ms ?? NaN)}`.padStart(20)}  ${(row?.loadCpuMsPerSecond ?? []).map((c) => c.toFixed(0)).join(' ')}`);
  }
  console.log(`   capacity on ${workers} workers: ${fixed(ratio, 2)} x one process, measured (target >= ${fixed(0.8 * workers, 1)})${pool.players >= saturationPlayers ? ' (a lower bound: the pool served the most players offered)' : ''}`);
  return { budgetCores, perPlayerMBps, single, pool, ratio };
}

function medianRow(rows: EgressRow[]): EgressRow {
  return [...rows].sort((a, b) => a.cpuMsPerMB - b.cpuMsPerMB)[Math.floor((rows.length - 1) / 2)]!;
}

async function main(): Promise<void> {
  prepareClip();
  const redis = await startRedis();
  try {
    console.log(`cluster bench: ${rounds} rounds of first plays; egress of one 2.5 Mbit/s stream to ${playerCounts.join(' and ')} players, one process against --workers ${workers}`);
    const first = parts.has('first') ? await firstFrames(redis.url) : undefined;
    if (first) {
      const f = first as { onOwner: ReturnType<typeof stats>; firstElsewhere: ReturnType<typeof stats>; laterElsewhere: ReturnType<typeof stats>; relay: { direct: { medianMs: number; p95Ms: number }; throughPull: { medianMs: number; p95Ms: number } } };
      console.log('\n1. First key frame after the play command (ms)      median    p95    n');
      for (const [label, s] of [['on the owner', f.onOwner], ['first player on another process (starts the pull)', f.firstElsewhere], ['later players there (its GOP cache)', f.laterElsewhere]] as const) {
        console.log(`   ${label.padEnd(50)} ${fixed(s.median).padStart(6)} ${fixed(s.p95).padStart(6)} ${String(s.n).padStart(4)}`);
      }
      console.log(`   relay latency, publisher -> player: on the owner ${fixed(f.relay.direct.medianMs)} / ${fixed(f.relay.direct.p95Ms)} ms (median / p95), through a pull ${fixed(f.relay.throughPull.medianMs)} / ${fixed(f.relay.throughPull.p95Ms)} ms`);
    }

    const rows: EgressRow[] = [];
    const projections: Array<{ players: number; ratio: number }> = [];
    if (parts.has('egress')) {
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

    }

    const saturation = parts.has('saturation') ? await saturate(redis.url) : undefined;
    const result = { rounds, playerCounts, seconds, workers, repeat, firstFrames: first, egress: rows, projectedCapacityRatios: projections, saturation };
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

/**
 * `npm run soak`: the server as `npm start` runs it, under churn for 30 minutes
 * (connections, publishes, plays, calls, web viewers, real peers and hostile peers
 * coming and going), then asked two things:
 *
 * - is memory flat after the warm-up: the heap right after a full collection, and
 *   RSS, compared between the first and last third of the samples after warm-up;
 * - is nothing left behind: once every client has gone, the server's sockets, timers
 *   and requests (by kind) and its open files are back to what they were before the
 *   first client came.
 *
 *   npm run soak [-- --minutes 30 --warmup-minutes 5 --sample-seconds 30 --out FILE]
 *
 * Prints the samples as they come, then the verdict; writes everything as JSON; exits 1
 * when memory grew or a handle was left behind. Not run in CI (it takes half an hour).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../specs/helpers/ports';
import { NodeMemory, nodeMemory, rssBytes, sleep } from '../bench/proc';
import { npmStartCommand } from '../start-command';
import { Churn, ChurnCounts, ChurnShape } from './churn';

const REPO = join(__dirname, '..', '..');
const MEMORY_PROBE = join(REPO, 'scripts', 'bench', 'memory-probe.js');
const MB = 1024 * 1024;

/** "Flat": what the last third of the samples after warm-up may hold over the first third. */
export const FLAT = { heapMb: 4, rssMb: 32 };
/** How long the server has, once the last client left, to let go of everything. */
const SETTLE_MS = 60_000;

function leftBehind(before: SoakSample, after: SoakSample): SoakReport['leftBehind'] {
  const left: SoakReport['leftBehind'] = {};
  for (const [kind, count] of Object.entries(after.resources)) {
    const was = before.resources[kind] ?? 0;
    if (count > was) left[kind] = { before: was, after: count };
  }
  return left;
}

const settled = (before: SoakSample, after: SoakSample): boolean => after.connections === 0 && after.openFiles <= before.openFiles && Object.keys(leftBehind(before, after)).length === 0;

export interface SoakOptions {
  minutes: number;
  warmupMinutes: number;
  sampleSeconds: number;
  shape: ChurnShape;
  /** Prints each sample and the verdict (default console.log). */
  print?: (line: string) => void;
}

export interface SoakSample {
  /** Seconds since the churn started. */
  at: number;
  heapMb: number;
  rssMb: number;
  openFiles: number;
  /** Open files by what they are: socket, pipe, anon_inode:[eventfd], a path's directory… */
  fileKinds: Record<string, number>;
  connections: number;
  resources: Record<string, number>;
}

export interface SoakReport {
  options: Omit<SoakOptions, 'print'>;
  samples: SoakSample[];
  before: SoakSample;
  after: SoakSample;
  counts: ChurnCounts;
  /** Median of the last third after warm-up minus median of the first third. */
  heapGrowthMb: number;
  rssGrowthMb: number;
  /** Least-squares slope after warm-up, MB per hour. */
  heapSlopeMbPerHour: number;
  /** Kinds of resource the server holds more of after the churn than before it. */
  leftBehind: Record<string, { before: number; after: number }>;
  serverLog: { warn: number; error: number; lastErrors: string[] };
  passed: boolean;
  problems: string[];
}

export const DEFAULT_SHAPE: ChurnShape = { publishers: 4, players: 16, callers: 2, realPeers: true, web: 6, hostile: 2, rendered: 1 };

export async function soak(options: SoakOptions): Promise<SoakReport> {
  const print = options.print ?? ((line: string) => console.log(line));
  const recordDir = mkdtempSync(join(tmpdir(), 'rxrtmp-soak-'));
  const server = await startServer(recordDir);
  const log = { warn: 0, error: 0, lastErrors: [] as string[] };
  server.onLine((line) => {
    const level = /"level":"?(\w+)/.exec(line)?.[1];
    if (level === 'warn' || level === '40') log.warn++;
    if (level === 'error' || level === 'fatal' || level === '50' || level === '60') {
      log.error++;
      log.lastErrors = [...log.lastErrors, line.slice(0, 300)].slice(-10);
    }
  });
  const churn = new Churn({ rtmpPort: server.rtmpPort, httpPort: server.httpPort }, options.shape);
  try {
    const started = Date.now();
    const sample = async (): Promise<SoakSample> => {
      const memory = await nodeMemory(server.pid, 10_000);
      if (memory === undefined) throw new Error('the server did not answer the memory probe');
      return describe(memory, server.pid, (Date.now() - started) / 1000, await connections(server.httpPort));
    };
    const before = await sample();
    print(`soak: server pid ${server.pid}, rtmp ${server.rtmpPort}, http ${server.httpPort}; ${options.minutes} min, warm-up ${options.warmupMinutes} min`);
    print(`before: heap ${before.heapMb.toFixed(1)} MB, rss ${before.rssMb.toFixed(1)} MB, ${before.openFiles} open files, ${describeResources(before.resources)}`);
    churn.start();
    const samples: SoakSample[] = [];
    const end = started + options.minutes * 60_000;
    while (Date.now() < end) {
      await sleep(Math.min(options.sampleSeconds * 1000, Math.max(0, end - Date.now())));
      if (server.exited()) throw new Error(`the server exited during the soak: ${server.tail()}`);
      const now = await sample();
      samples.push(now);
      const c = churn.counts;
      print(`${(now.at / 60).toFixed(1).padStart(5)} min  heap ${now.heapMb.toFixed(1).padStart(6)} MB  rss ${now.rssMb.toFixed(1).padStart(6)} MB  files ${String(now.openFiles).padStart(4)}  conns ${String(now.connections).padStart(4)}  | made ${c.connections} conns, ${c.publishes} publishes, ${c.plays} plays, ${c.calls} calls, ${c.webViewers} web viewers, ${c.realPeers} real peers, ${c.hostile} hostile`);
    }
    await churn.stop();
    // Everyone has gone: wait for the server to see the last close, then a little for timers that end with it.
    // Everyone has gone. What ends with them may end a little later (the Screen Video
    // pool stops its workers after POOL_IDLE_MS idle): give it a minute.
    const stopped = Date.now();
    let after = await sample();
    while (Date.now() - stopped < SETTLE_MS && !settled(before, after)) {
      await sleep(2_000);
      after = await sample();
    }
    print(`quiet ${((Date.now() - stopped) / 1000).toFixed(0)} s after the last client left`);
    return verdict(options, samples, before, after, churn.counts, log, print);
  } finally {
    await churn.stop();
    await server.stop();
    rmSync(recordDir, { recursive: true, force: true });
  }
}

function verdict(options: SoakOptions, samples: SoakSample[], before: SoakSample, after: SoakSample, counts: ChurnCounts, serverLog: SoakReport['serverLog'], print: (line: string) => void): SoakReport {
  const warm = samples.filter((s) => s.at >= options.warmupMinutes * 60);
  const third = Math.max(1, Math.floor(warm.length / 3));
  const growth = (of: (s: SoakSample) => number): number => (warm.length < 2 ? 0 : median(warm.slice(-third).map(of)) - median(warm.slice(0, third).map(of)));
  const heapGrowthMb = growth((s) => s.heapMb);
  const rssGrowthMb = growth((s) => s.rssMb);
  const heapSlopeMbPerHour = slope(warm.map((s) => [s.at / 3600, s.heapMb]));
  const left = leftBehind(before, after);
  const problems: string[] = [];
  if (warm.length < 2) problems.push(`only ${warm.length} samples after warm-up: run longer`);
  if (heapGrowthMb > FLAT.heapMb) problems.push(`heap grew ${heapGrowthMb.toFixed(1)} MB after warm-up (flat: at most ${FLAT.heapMb})`);
  if (rssGrowthMb > FLAT.rssMb) problems.push(`RSS grew ${rssGrowthMb.toFixed(1)} MB after warm-up (flat: at most ${FLAT.rssMb})`);
  for (const [kind, { before: was, after: now }] of Object.entries(left)) problems.push(`left behind: ${kind} ${was} before, ${now} after`);
  if (after.openFiles > before.openFiles) problems.push(`open files: ${before.openFiles} before (${describeResources(before.fileKinds)}), ${after.openFiles} after (${describeResources(after.fileKinds)})`);
  if (after.connections > 0) problems.push(`${after.connections} connections still listed after every client left`);
  if (counts.failures.length > 0) problems.push(`client-side failures: ${counts.failures.slice(0, 5).join('; ')}`);
  if (serverLog.error > 0) problems.push(`${serverLog.error} error lines in the server's log`);
  const report: SoakReport = { options: { minutes: options.minutes, warmupMinutes: options.warmupMinutes, sampleSeconds: options.sampleSeconds, shape: options.shape }, samples, before, after, counts, heapGrowthMb, rssGrowthMb, heapSlopeMbPerHour, leftBehind: left, serverLog, passed: problems.length === 0, problems };
  print(`after:  heap ${after.heapMb.toFixed(1)} MB, rss ${after.rssMb.toFixed(1)} MB, ${after.openFiles} open files, ${describeResources(after.resources)}`);
  print(`after warm-up (${warm.length} samples): heap ${signed(heapGrowthMb)} MB (slope ${signed(heapSlopeMbPerHour)} MB/h), RSS ${signed(rssGrowthMb)} MB, last third's median against the first's`);
  print(`traffic: ${JSON.stringify({ ...counts, failures: counts.failures.length })}`);
  print(`server log: ${serverLog.warn} warn, ${serverLog.error} error lines`);
  print(report.passed ? 'soak: passed (memory flat, nothing left behind)' : `soak: FAILED\n  ${problems.join('\n  ')}`);
  return report;
}

function describe(memory: NodeMemory, pid: number, at: number, liveConnections: number): SoakSample {
  const fileKinds: Record<string, number> = {};
  let openFiles = 0;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target = 'gone';
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        // Closed between the listing and the look.
      }
      const kind = target.replace(/:\[\d+\]$/, '').replace(/\/[^/]*$/, '/');
      fileKinds[kind] = (fileKinds[kind] ?? 0) + 1;
      openFiles++;
    }
  } catch {
    openFiles = NaN; // The process is gone; the caller finds out.
  }
  return { at, heapMb: (memory.heapUsedAfterGc ?? memory.heapUsed) / MB, rssMb: (memory.rssAfterGc ?? rssBytes(pid)) / MB, openFiles, fileKinds, connections: liveConnections, resources: memory.resources ?? {} };
}

const describeResources = (resources: Record<string, number>): string =>
  Object.entries(resources)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
const signed = (value: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function slope(points: Array<[number, number]>): number {
  if (points.length < 2) return 0;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / points.length;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / points.length;
  const num = points.reduce((sum, [x, y]) => sum + (x - mx) * (y - my), 0);
  const den = points.reduce((sum, [x]) => sum + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

function connections(httpPort: number): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: httpPort, path: '/healthz' }, (response) => {
      let body = '';
      response.on('data', (d: Buffer) => (body += d.toString()));
      response.on('end', () => resolve((JSON.parse(body) as { connections: number }).connections));
    }).on('error', reject);
  });
}

interface SoakServer {
  pid: number;
  rtmpPort: number;
  httpPort: number;
  onLine(listener: (line: string) => void): void;
  exited(): boolean;
  tail(): string;
  stop(): Promise<void>;
}

/** `npm start`'s command (its V8 flags and malloc settings), with the memory probe preloaded and a full GC allowed. */
async function startServer(recordDir: string): Promise<SoakServer> {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const start = npmStartCommand(REPO);
  const args = ['--expose-gc', '-r', MEMORY_PROBE, ...start.nodeArgs, '--host', '127.0.0.1', '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), '--record-dir', recordDir, '--log-format', 'json'];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: REPO, env: { ...process.env, ...start.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const listeners: Array<(line: string) => void> = [];
  let tail = '';
  let partial = '';
  const take = (data: Buffer): void => {
    tail = (tail + data.toString()).slice(-4000);
    const lines = (partial + data.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) listeners.forEach((listener) => listener(line));
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  for (const deadline = Date.now() + 120_000; ; await sleep(200)) {
    if (exited()) throw new Error(`the server did not start: ${tail}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the server did not start within 2 minutes: ${tail}`);
    }
    if (await connections(httpPort).then(() => true, () => false)) break;
  }
  return {
    pid: child.pid!,
    rtmpPort,
    httpPort,
    onLine: (listener) => listeners.push(listener),
    exited,
    tail: () => tail,
    stop: async () => {
      if (!exited()) {
        child.kill('SIGTERM');
        const hard = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await gone;
        clearTimeout(hard);
      }
    },
  };
}

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} takes a positive number, not ${process.argv[at + 1]}`);
  return value;
}

if (require.main === module) {
  const minutes = flag('--minutes', 30);
  const options: SoakOptions = { minutes, warmupMinutes: flag('--warmup-minutes', Math.min(5, minutes / 4)), sampleSeconds: flag('--sample-seconds', minutes >= 10 ? 30 : 5), shape: DEFAULT_SHAPE };
  const outAt = process.argv.indexOf('--out');
  const out = outAt >= 0 ? process.argv[outAt + 1]! : join(__dirname, `results-${new Date().toISOString().slice(0, 10)}.json`);
  soak(options).then(
    (report) => {
      writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`written to ${out}`);
      process.exit(report.passed ? 0 : 1);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/**
 * Fan-out: one ffmpeg publisher, N rtmpdump players, the server's CPU, bytes written
 * and memory over a window once the players are in; whether each player kept real time.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { STREAM, startPublisher } from './clip';
import type { Peer } from './peers';
import { alive, cpuSeconds, machineJiffies, median, sample, sleep, socketBytes, socketDelta, watchRss } from './proc';
import { runRelayLatency } from './latency';

export interface FanoutResult {
  server: string;
  players: number;
  /** Players that printed progress before the window started. */
  connected: number;
  windowSeconds: number;
  cpuSeconds: number;
  cpuPercent: number;
  /** Bytes acked on the server's sockets over the window (ss -ti): what it delivered, headers included. */
  deliveredMB: number;
  /** The server's /proc/PID/io wchar over the window: write/writev calls only (0 for nginx-rtmp, which uses send). */
  wcharMB: number;
  deliveredMBps: number;
  /** What the players say they received over the window (rtmpdump's kB), for comparison. */
  receivedMB: number;
  cpuMsPerMB: number;
  /** Median RSS over the baseline window: the publisher on for `warmupSeconds`, no players yet. */
  rssBeforeMB: number;
  /** Median RSS over the measuring window. */
  rssWithPlayersMB: number;
  /** Highest less lowest RSS sample in the measuring window: how far the collector's cycle moves it. */
  rssWindowSpreadMB: number;
  warmupSeconds: number;
  /** Warm-up plays (one at a time, before the baseline) that got media, and the seconds they took. */
  warmPlays: number;
  warmPlaySeconds: number;
  /** RSS growth from no player to N, over N: the first player's one-off included. */
  memoryPerPlayerKB: number;
  /**
   * RSS growth from one player to N, per player after the first: what one more player
   * costs. The target figure: the first player's one-off (`firstPlayerMB`) is the stream's
   * and the process's, paid once whatever N is.
   */
  memoryPerMorePlayerKB: number;
  /** RSS growth from no player to one: the play path compiled, the shared batch buffer grown, the first GOP burst. */
  firstPlayerMB: number;
  /** V8's young generation at the end (Node.js servers; 0 for nginx). */
  youngGenerationMB: number;
  /** RSS growth per player less the young generation's growth: what players themselves hold. */
  memoryPerPlayerBeyondYoungKB: number;
  /** Growth of the heap that is live after a full collection, per player (Node.js servers). */
  liveHeapPerPlayerKB: number;
  /** Publisher → player latency of a second, stamped stream, played right after the window while the players go on (ms). */
  relayMedianMs: number;
  relayP95Ms: number;
  keptRealTime: number;
  /** Median over players of media seconds received / (wall seconds − 2). */
  medianRealTimeRatio: number;
  playersCpuSeconds: number;
  machineBusyPercent: number;
  error?: string;
}

const PROGRESS = /([\d.]+) kB \/ ([\d.]+) sec/g;
export const STARTUP_ALLOWANCE = 2;

/** One rtmpdump playing a live stream to /dev/null; its progress lines say how much media it got. */
export class Player {
  readonly child: ChildProcess;
  readonly spawnedAt = Date.now();
  firstSec: number | undefined;
  lastSec = 0;
  kB = 0;
  progressAt: number | undefined;
  private tail = '';

  constructor(url: string, stream = STREAM) {
    this.child = spawn('rtmpdump', ['-r', `${url}/${stream}`, '--live', '-o', '/dev/null'], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.on('error', (error) => (this.tail += `spawn failed: ${error.message}`));
    this.child.stderr?.on('data', (data: Buffer) => this.parse(data.toString('latin1')));
  }

  private parse(text: string): void {
    // A status line may straddle two reads: keep the unfinished end.
    const joined = this.tail + text;
    const cut = Math.max(joined.lastIndexOf('\r'), joined.lastIndexOf('\n'));
    const complete = cut >= 0 ? joined.slice(0, cut) : '';
    this.tail = (cut >= 0 ? joined.slice(cut) : joined).slice(-2000);
    for (const match of complete.matchAll(PROGRESS)) {
      const sec = Number(match[2]);
      this.kB = Number(match[1]);
      this.firstSec ??= sec;
      this.lastSec = sec;
      this.progressAt ??= Date.now();
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get mediaSeconds(): number {
    return this.firstSec === undefined ? 0 : this.lastSec - this.firstSec;
  }

  cpu(): number {
    const pid = this.child.pid;
    if (pid === undefined || !this.running || !alive(pid)) return 0;
    try {
      return cpuSeconds(pid);
    } catch {
      return 0;
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2_000);
    await gone;
    clearTimeout(timer);
  }
}

export interface FanoutOptions {
  players: number;
  seconds: number;
  /** How long players get to start before the window opens anyway (ms). */
  connectTimeout?: number;
  /**
   * Seconds the publisher runs before the baseline is taken (default 30). A server that has
   * just started still grows without any player (a JIT compiles the ingest path, the malloc
   * heap reaches its working size); that growth is not the players'.
   */
  warmupSeconds?: number;
  /** Plays, one at a time, before the baseline (default `WARM_PLAYS`); 0 measures a process that has served nobody. */
  warmPlays?: number;
}

const PUBLISHER_SETTLE_MS = 3_000;
/**
 * Plays, one at a time, each until its first media, before the baseline. A JIT compiles a
 * path once it has run a few dozen times: the connect and play path of a Node.js server
 * is compiled while the players of the measure connect (about 0.5 MB of code and
 * feedback in an rxrtmp heap snapshot at 50 players against one), which counts as
 * 10 kB per player at 50 if the process has served nobody before.
 * A server that has run for a while has paid it; one at a time, the plays leave no
 * more memory behind than one player does.
 */
export const WARM_PLAYS = 50;
const WARM_PLAY_TIMEOUT_MS = 5_000;
/** From the last warm-up play to the baseline, at least: what the plays left behind is collected. */
const WARM_SETTLE_MS = 5_000;
const BASELINE_MS = 5_000;
/** After the first player's first frame: its GOP burst leaves and the play path is compiled before its window. */
const FIRST_PLAYER_SETTLE_MS = 2_000;
/**
 * The one player's window: long enough to take in a whole cycle of the collector at that
 * load (a major collection every 5–10 s), since a window that catches only its low or
 * its high moves every later player's figure by the difference over N.
 */
const ONE_PLAYER_MS = 10_000;
/**
 * From the last player's first frame to the window: the GOP bursts have left, and the
 * heap pages and buffers a burst of connects took are handed back (RSS falls for 3–4 s
 * after 50 connects in a fraction of a second).
 */
const PLAYERS_SETTLE_MS = 5_000;

/** Plays `count` times, one at a time, each until its first media; returns how many got media. */
async function playOneAtATime(url: string, count: number): Promise<number> {
  let played = 0;
  for (let i = 0; i < count; i++) {
    const player = new Player(url);
    const deadline = Date.now() + WARM_PLAY_TIMEOUT_MS;
    while (player.progressAt === undefined && player.running && Date.now() < deadline) await sleep(20);
    if (player.progressAt !== undefined) played++;
    await player.stop();
  }
  return played;
}

export async function runFanout(peer: Peer, options: FanoutOptions): Promise<FanoutResult> {
  const warmupSeconds = options.warmupSeconds ?? 30;
  const publisher = await startPublisher(peer.url, PUBLISHER_SETTLE_MS);
  const players: Player[] = [];
  try {
    const warmFrom = Date.now();
    const warmPlays = await playOneAtATime(peer.url, options.warmPlays ?? WARM_PLAYS);
    const warmPlaySeconds = (Date.now() - warmFrom) / 1000;
    await sleep(Math.max(WARM_SETTLE_MS, warmupSeconds * 1000 - PUBLISHER_SETTLE_MS - BASELINE_MS - (Date.now() - warmFrom)));
    const baseline = watchRss(peer.pid);
    await sleep(BASELINE_MS);
    const rssBefore = median(baseline.stop());
    const memoryBefore = await peer.memory?.();
    const youngBefore = memoryBefore?.youngGeneration ?? 0;
    // One player first: what the stream itself costs once somebody plays (chunk bodies, the GOP cache) is not a player's.
    players.push(new Player(peer.url));
    const firstDeadline = Date.now() + 10_000;
    while (players[0]!.progressAt === undefined && players[0]!.running && Date.now() < firstDeadline) await sleep(100);
    await sleep(FIRST_PLAYER_SETTLE_MS);
    const oneWatch = watchRss(peer.pid);
    await sleep(ONE_PLAYER_MS);
    const rssWithOne = median(oneWatch.stop());
    // Started in batches so that 200 process starts do not all land in one instant.
    for (let i = 1; i < options.players; i++) {
      players.push(new Player(peer.url));
      if (i % 10 === 9) await sleep(50);
    }
    const deadline = Date.now() + (options.connectTimeout ?? 15_000);
    while (players.some((p) => p.progressAt === undefined && p.running) && Date.now() < deadline) await sleep(100);
    // The last to connect get past their GOP burst, and what the burst of connects took is given back.
    await sleep(PLAYERS_SETTLE_MS);
    const connected = players.filter((p) => p.progressAt !== undefined && p.running).length;

    const startSockets = await socketBytes(peer.port);
    const start = sample(peer.pid);
    const startJiffies = machineJiffies();
    const startKB = players.map((p) => p.kB);
    const startPlayersCpu = players.map((p) => p.cpu());
    const windowWatch = watchRss(peer.pid);
    await sleep(options.seconds * 1000);
    const end = sample(peer.pid);
    const windowRss = windowWatch.stop();
    const rssEnd = median(windowRss);
    const memoryEnd = await peer.memory?.();
    const youngEnd = memoryEnd?.youngGeneration ?? 0;
    const endSockets = await socketBytes(peer.port);
    const endJiffies = machineJiffies();
    const playersCpu = players.reduce((sum, p, i) => sum + Math.max(0, p.cpu() - startPlayersCpu[i]!), 0);
    const receivedKB = players.reduce((sum, p, i) => sum + (p.kB - startKB[i]!), 0);
    const publisherAlive = publisher.alive();
    // Then, with the players still playing, a stamped stream: what batching under load
    // costs in latency. Not inside the window: a second publisher is not the workload
    // measured, and its fixed cost would count against every MB delivered.
    const latency = await runRelayLatency(peer, Math.min(8, Math.max(2, options.seconds - 3)));

    const stoppedAt = Date.now();
    await Promise.all(players.map((p) => p.stop()));
    const ratios = players.map((p) => p.mediaSeconds / Math.max(0.1, (stoppedAt - p.spawnedAt) / 1000 - STARTUP_ALLOWANCE));
    const kept = ratios.filter((r) => r >= 0.9).length;

    const windowSeconds = (end.at - start.at) / 1000;
    const cpu = end.cpu - start.cpu;
    const deliveredMB = socketDelta(startSockets, endSockets) / 1e6;
    const sortedRatios = [...ratios].sort((a, b) => a - b);
    return {
      server: peer.name,
      players: options.players,
      connected,
      windowSeconds,
      cpuSeconds: cpu,
      cpuPercent: (100 * cpu) / windowSeconds,
      deliveredMB,
      deliveredMBps: deliveredMB / windowSeconds,
      wcharMB: (end.written - start.written) / 1e6,
      receivedMB: (receivedKB * 1024) / 1e6,
      cpuMsPerMB: deliveredMB > 0 ? (1000 * cpu) / deliveredMB : NaN,
      rssBeforeMB: rssBefore / 1e6,
      rssWithPlayersMB: rssEnd / 1e6,
      rssWindowSpreadMB: (Math.max(...windowRss) - Math.min(...windowRss)) / 1e6,
      warmupSeconds,
      warmPlays,
      warmPlaySeconds,
      memoryPerPlayerKB: (rssEnd - rssBefore) / 1024 / options.players,
      memoryPerMorePlayerKB: options.players > 1 ? (rssEnd - rssWithOne) / 1024 / (options.players - 1) : NaN,
      firstPlayerMB: (rssWithOne - rssBefore) / 1e6,
      youngGenerationMB: youngEnd / 1e6,
      memoryPerPlayerBeyondYoungKB: (rssEnd - youngEnd - (rssBefore - youngBefore)) / 1024 / options.players,
      relayMedianMs: latency.medianMs,
      relayP95Ms: latency.p95Ms,
      liveHeapPerPlayerKB: ((memoryEnd?.heapUsedAfterGc ?? NaN) - (memoryBefore?.heapUsedAfterGc ?? NaN)) / 1024 / options.players,
      keptRealTime: kept,
      medianRealTimeRatio: sortedRatios[Math.floor(sortedRatios.length / 2)] ?? NaN,
      playersCpuSeconds: playersCpu,
      machineBusyPercent: (100 * (endJiffies.busy - startJiffies.busy)) / Math.max(1, endJiffies.total - startJiffies.total),
      ...(publisherAlive ? {} : { error: `the publisher died: ${publisher.log().trim().slice(-200)}` }),
    };
  } finally {
    await Promise.all(players.map((p) => p.stop()));
    await publisher.stop();
  }
}

/**
 * Many streams with few players each (and one stream with a few players): S ffmpeg
 * publishers, each looping the 2.6 Mbit/s clip to a stream of its own, and P rtmpdump
 * players per stream. What a public server mostly does; here the fixed cost of taking a
 * stream in is not spread over hundreds of players. The figure is CPU per MB moved, in
 * and out, at the socket level; after the window, with everybody still playing, a
 * stamped probe stream measures what this load costs an unrelated stream in latency.
 */
import { Player, STARTUP_ALLOWANCE } from './fanout';
import { startPublisher, Publisher } from './clip';
import { runRelayLatency } from './latency';
import type { Peer } from './peers';
import { machineJiffies, readCalls, sample, sleep, socketCounts, socketCountsDelta } from './proc';

export interface StreamsOptions {
  streams: number;
  playersPerStream: number;
  seconds: number;
  /**
   * Seconds everybody plays before the window (default 30). A Node.js server's first tens of
   * seconds at this load run in V8's interpreter and baseline tiers, and its compiler threads
   * are busy: a trivial Node.js socket sink costs 5–6x in its first 10 s what it costs after
   * 30 s. nginx has no such start; a server that has run for a while has paid it.
   */
  warmupSeconds?: number;
}

export interface StreamsResult {
  server: string;
  streams: number;
  playersPerStream: number;
  publishersAlive: number;
  connected: number;
  windowSeconds: number;
  warmupSeconds: number;
  cpuSeconds: number;
  cpuMsPerSecond: number;
  /** Bytes the server received (publishers) and delivered (players) over the window, at the socket level. */
  receivedMB: number;
  deliveredMB: number;
  /** CPU over bytes in and out. */
  cpuMsPerMovedMB: number;
  /** CPU over bytes out only, as the fan-out section counts. */
  cpuMsPerDeliveredMB: number;
  /** read-type system calls per second (read, recv …; 0 for nginx, whose recv(2) is not counted). */
  readsPerSecond: number;
  rssMB: number;
  keptRealTime: number;
  players: number;
  relayMedianMs: number;
  relayP95Ms: number;
  machineBusyPercent: number;
  error?: string;
}

/** The figures of one CPU window that every streams run reports, server or floor alike. */
export type WindowFigures = Pick<StreamsResult, 'windowSeconds' | 'cpuSeconds' | 'cpuMsPerSecond' | 'receivedMB' | 'deliveredMB' | 'cpuMsPerMovedMB' | 'cpuMsPerDeliveredMB' | 'readsPerSecond' | 'rssMB' | 'machineBusyPercent'>;

/** Measures process `pid` over `seconds`: its CPU, reads and RSS, and what the sockets on `port` moved. */
export async function measureWindow(pid: number, port: number, seconds: number): Promise<WindowFigures> {
  const startSockets = await socketCounts(port);
  const start = sample(pid);
  const startReads = readCalls(pid);
  const startJiffies = machineJiffies();
  await sleep(seconds * 1000);
  const end = sample(pid);
  const reads = readCalls(pid) - startReads;
  const endJiffies = machineJiffies();
  const moved = socketCountsDelta(startSockets, await socketCounts(port));
  const windowSeconds = (end.at - start.at) / 1000;
  const cpu = end.cpu - start.cpu;
  const receivedMB = moved.received / 1e6;
  const deliveredMB = moved.acked / 1e6;
  return {
    windowSeconds,
    cpuSeconds: cpu,
    cpuMsPerSecond: (1000 * cpu) / windowSeconds,
    receivedMB,
    deliveredMB,
    cpuMsPerMovedMB: (1000 * cpu) / Math.max(1e-9, receivedMB + deliveredMB),
    cpuMsPerDeliveredMB: (1000 * cpu) / Math.max(1e-9, deliveredMB),
    readsPerSecond: reads / windowSeconds,
    rssMB: end.rss / 1e6,
    machineBusyPercent: (100 * (endJiffies.busy - startJiffies.busy)) / Math.max(1, endJiffies.total - startJiffies.total),
  };
}

const streamName = (i: number): string => `many${i}`;

export async function runStreams(peer: Peer, options: StreamsOptions): Promise<StreamsResult> {
  const publishers: Publisher[] = [];
  const players: Player[] = [];
  try {
    // Publishers start 150 ms apart, so that their key frames do not all land together.
    const starting: Promise<Publisher>[] = [];
    for (let i = 0; i < options.streams; i++) {
      starting.push(startPublisher(peer.url, 3_000, streamName(i)));
      await sleep(150);
    }
    publishers.push(...(await Promise.all(starting)));
    for (let p = 0; p < options.playersPerStream; p++) {
      for (let i = 0; i < options.streams; i++) players.push(new Player(peer.url, streamName(i)));
      await sleep(50);
    }
    const deadline = Date.now() + 15_000;
    while (players.some((p) => p.progressAt === undefined && p.running) && Date.now() < deadline) await sleep(100);
    await sleep(Math.max(3, options.warmupSeconds ?? 30) * 1000);
    const connected = players.filter((p) => p.progressAt !== undefined && p.running).length;

    const figures = await measureWindow(peer.pid, peer.port, options.seconds);
    const publishersAlive = publishers.filter((p) => p.alive()).length;
    const latency = await runRelayLatency(peer, Math.min(8, Math.max(2, options.seconds - 3)));

    const stoppedAt = Date.now();
    await Promise.all(players.map((p) => p.stop()));
    const kept = players.filter((p) => p.mediaSeconds / Math.max(0.1, (stoppedAt - p.spawnedAt) / 1000 - STARTUP_ALLOWANCE) >= 0.9).length;
    return {
      server: peer.name,
      streams: options.streams,
      playersPerStream: options.playersPerStream,
      publishersAlive,
      connected,
      warmupSeconds: Math.max(3, options.warmupSeconds ?? 30),
      ...figures,
      keptRealTime: kept,
      players: players.length,
      relayMedianMs: latency.medianMs,
      relayP95Ms: latency.p95Ms,
      ...(publishersAlive === publishers.length ? {} : { error: `${publishers.length - publishersAlive} publishers died` }),
    };
  } finally {
    await Promise.all(players.map((p) => p.stop()));
    await Promise.all(publishers.map((p) => p.stop()));
  }
}

/** Parses `20x2,1x10` into stream and player counts. */
export function parseLayouts(text: string): { streams: number; playersPerStream: number }[] {
  return text
    .split(',')
    .map((part) => /^(\d+)x(\d+)$/.exec(part.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ streams: Number(m[1]), playersPerStream: Number(m[2]) }))
    .filter((l) => l.streams > 0 && l.playersPerStream > 0);
}

/**
 * A thousand players of one stream: the looped clip published by ffmpeg, and N players from
 * one load-client process (`play-clients.ts`: a thousand rtmpdump processes would need more
 * CPU than this machine has). The server's CPU per delivered MB, its memory per player
 * (RSS with the players over RSS before them, medians of samples), whether every player
 * kept real time, and a probe stream's latency under that load.
 */
import { STREAM, startPublisher } from './clip';
import { runRelayLatency } from './latency';
import { LoadClient, startLoadClient } from './load-client';
import type { Peer } from './peers';
import { machineJiffies, median, sample, sleep, socketBytes, socketDelta, watchRss } from './proc';

export interface ThousandOptions {
  players: number;
  seconds: number;
  /** Seconds the publisher runs before the memory baseline (default 20). */
  warmupSeconds?: number;
}

export interface ThousandResult {
  server: string;
  players: number;
  withMedia: number;
  keptRealTime: number;
  medianRealTimeRatio: number;
  lowestRealTimeRatio: number;
  windowSeconds: number;
  cpuMsPerSecond: number;
  deliveredMB: number;
  cpuMsPerMB: number;
  rssBeforeMB: number;
  rssWithPlayersMB: number;
  memoryPerPlayerKB: number;
  connectSeconds: number;
  clientCpuMsPerSecond: number;
  relayMedianMs: number;
  relayP95Ms: number;
  machineBusyPercent: number;
  error?: string;
}

const SETTLE_MS = 5_000;
const PROBE_SECONDS = 6;

export async function runThousand(peer: Peer, options: ThousandOptions): Promise<ThousandResult> {
  const warmupSeconds = options.warmupSeconds ?? 20;
  const publisher = await startPublisher(peer.url, 3_000);
  let clients: LoadClient | undefined;
  try {
    await sleep(Math.max(0, warmupSeconds - 3) * 1000);
    const baseline = watchRss(peer.pid);
    await sleep(5_000);
    const rssBefore = median(baseline.stop());
    const connectFrom = Date.now();
    // The client plays through the settle, the window and the probe, then reports.
    clients = startLoadClient({ port: peer.port, stream: STREAM, count: options.players, seconds: SETTLE_MS / 1000 + options.seconds + PROBE_SECONDS + 4 });
    const playing = await clients.next('playing', 120_000);
    const connectSeconds = (Date.now() - connectFrom) / 1000;
    await sleep(SETTLE_MS);
    const startSockets = await socketBytes(peer.port);
    const start = sample(peer.pid);
    const startJiffies = machineJiffies();
    const window = watchRss(peer.pid);
    await sleep(options.seconds * 1000);
    const end = sample(peer.pid);
    const rssWith = median(window.stop());
    const endJiffies = machineJiffies();
    const deliveredMB = socketDelta(startSockets, await socketBytes(peer.port)) / 1e6;
    const latency = await runRelayLatency(peer, PROBE_SECONDS);
    const done = await clients.next('done', 60_000);
    const windowSeconds = (end.at - start.at) / 1000;
    const cpu = end.cpu - start.cpu;
    return {
      server: peer.name,
      players: options.players,
      withMedia: Number(playing.withMedia),
      keptRealTime: Number(done.keptRealTime),
      medianRealTimeRatio: Number(done.medianRatio),
      lowestRealTimeRatio: Number(done.lowestRatio),
      windowSeconds,
      cpuMsPerSecond: (1000 * cpu) / windowSeconds,
      deliveredMB,
      cpuMsPerMB: deliveredMB > 0 ? (1000 * cpu) / deliveredMB : NaN,
      rssBeforeMB: rssBefore / 1e6,
      rssWithPlayersMB: rssWith / 1e6,
      memoryPerPlayerKB: (rssWith - rssBefore) / 1024 / options.players,
      connectSeconds,
      clientCpuMsPerSecond: Number(done.clientCpuMsPerSecond),
      relayMedianMs: latency.medianMs,
      relayP95Ms: latency.p95Ms,
      machineBusyPercent: (100 * (endJiffies.busy - startJiffies.busy)) / Math.max(1, endJiffies.total - startJiffies.total),
      ...(publisher.alive() ? {} : { error: `the publisher died: ${publisher.log().trim().slice(-200)}` }),
    };
  } finally {
    clients?.child.kill('SIGTERM');
    await publisher.stop();
  }
}

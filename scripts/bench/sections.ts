/** Each benchmark section over the three servers, and its table. */
import { FanoutResult, runFanout } from './fanout';
import { IdleResult, runIdle } from './idle';
import { IngestResult, runIngest } from './ingest';
import { FirstFrameResult, RelayLatencyResult, runFirstFrame, runRelayLatency } from './latency';
import { Peer, PeerKind, PeerOptions, startPeer } from './peers';
import { median, sleep } from './proc';
import { StreamsResult, runStreams } from './streams';
import { runThousand, ThousandResult } from './thousand';
import { ratios, Row, shortName, table } from './table';
import { CLIP_BYTES_PER_SECOND, FLOOR_NAME, runFloor } from './floor';

export const NAMES: Record<PeerKind, string> = { rxrtmp: 'rxrtmp', nginx: 'nginx-rtmp', nms: 'node-media-server' };

/** A server that could not run, or a run that failed: what the table shows instead. */
export interface Skipped {
  server: string;
  skipped: true;
  error: string;
}

const active = new Set<Peer>();

/** Stops whatever server is still running (on Ctrl-C). */
export async function stopActive(): Promise<void> {
  await Promise.all([...active].map((peer) => peer.stop()));
}

export async function withPeer<T extends { server: string }>(
  kind: PeerKind,
  missing: string | undefined,
  options: PeerOptions,
  name: string,
  run: (peer: Peer) => Promise<T>,
): Promise<T | Skipped> {
  if (missing !== undefined) return { server: name, skipped: true, error: `not run: ${missing}` };
  let peer: Peer | undefined;
  try {
    peer = await startPeer(kind, options);
    active.add(peer);
    return await run(peer);
  } catch (error) {
    return { server: name, skipped: true, error: error instanceof Error ? error.message : String(error) };
  } finally {
    if (peer !== undefined) {
      await peer.stop();
      active.delete(peer);
    }
    await sleep(500);
  }
}

const isSkipped = (value: object): value is Skipped => 'skipped' in value;

function pick<T extends object>(results: (T | Skipped)[], get: (r: T) => number | string | null | undefined): (number | string | null | undefined)[] {
  return results.map((r) => (isSkipped(r) ? undefined : get(r)));
}

function errorsOf(results: (object & { server: string })[]): string {
  const lines = results.filter((r): r is Skipped | (object & { server: string; error: string }) => 'error' in r && typeof r.error === 'string').map((r) => `  ${r.server}: ${r.error}`);
  return lines.length > 0 ? `notes:\n${lines.join('\n')}` : '';
}

export type Missing = Record<PeerKind, string | undefined>;

/** Of one server's repeated runs, the one with the median CPU per MB (the upper one of an even count). */
function medianRun(runs: (FanoutResult | Skipped)[]): FanoutResult | Skipped {
  const done = runs.filter((r): r is FanoutResult => !isSkipped(r)).sort((a, b) => a.cpuMsPerMB - b.cpuMsPerMB);
  return done[Math.floor(done.length / 2)] ?? runs[0]!;
}

/** The servers of the fan-out and idle sections: rxrtmp as `npm start` runs it, and on Node's defaults. */
const MAIN_SERVERS: [PeerKind, PeerOptions, string][] = [
  ['rxrtmp', {}, NAMES.rxrtmp],
  ['rxrtmp', { nodeDefaults: true }, 'rxrtmp (Node defaults)'],
  ['nginx', {}, NAMES.nginx],
  ['nms', {}, NAMES.nms],
];

/** Per server, the median over its runs of one figure: memory is noisier than CPU, so it is not taken from the run with the median CPU. */
function medianOverRuns(runs: (FanoutResult | Skipped)[][], get: (r: FanoutResult) => number): (number | undefined)[] {
  return runs.map((each) => {
    const values = each.filter((r): r is FanoutResult => !isSkipped(r)).map(get).filter(Number.isFinite);
    return values.length > 0 ? median(values) : undefined;
  });
}

export async function fanoutSection(missing: Missing, players: number[], seconds: number, warmupSeconds: number, repeat: number, print: (text: string) => void): Promise<(FanoutResult | Skipped)[]> {
  const all: (FanoutResult | Skipped)[] = [];
  for (const n of players) {
    const runs = MAIN_SERVERS.map((): (FanoutResult | Skipped)[] => []);
    // Rounds alternate the servers, so that a noisy minute on a shared machine hits all of them alike.
    for (let round = 0; round < repeat; round++) {
      for (const [i, [kind, options, name]] of MAIN_SERVERS.entries()) {
        runs[i]!.push(await withPeer(kind, missing[kind], options, name, async (peer) => ({ ...(await runFanout(peer, { players: n, seconds, warmupSeconds })), server: name })));
      }
    }
    for (const each of runs) all.push(...each);
    const results = runs.map((each) => medianRun(each));
    const columns = results.map((r) => r.server);
    const memory = (get: (r: FanoutResult) => number): (number | undefined)[] => medianOverRuns(runs, get);
    const eachRun = runs.map((each) => each.map((r) => (isSkipped(r) ? '-' : r.cpuMsPerMB.toFixed(1))).join(' / '));
    // At 50 players what they hold (about 1 MB) is of the order of the collector's sawtooth: every run is shown.
    const memoryEachRun = runs.map((each) => each.map((r) => (isSkipped(r) ? '-' : r.memoryPerMorePlayerKB.toFixed(0))).join(' / '));
    const rows: Row[] = [
      ...(repeat > 1 ? [{ label: `CPU ms per MB, each of ${repeat} runs`, cells: eachRun }] : []),
      { label: 'warm-up plays, one at a time (s)', cells: pick(results, (r: FanoutResult) => `${r.warmPlays} (${r.warmPlaySeconds.toFixed(0)} s)`) },
      { label: 'players connected', cells: pick(results, (r: FanoutResult) => `${r.connected}/${r.players}`) },
      { label: 'window s', cells: pick(results, (r: FanoutResult) => r.windowSeconds) },
      { label: 'server CPU s', cells: pick(results, (r: FanoutResult) => r.cpuSeconds), digits: 2 },
      { label: 'server CPU %', cells: pick(results, (r: FanoutResult) => r.cpuPercent) },
      { label: 'delivered MB (socket acked)', cells: pick(results, (r: FanoutResult) => r.deliveredMB) },
      { label: 'delivered MB/s', cells: pick(results, (r: FanoutResult) => r.deliveredMBps), digits: 2 },
      { label: 'wchar MB', cells: pick(results, (r: FanoutResult) => r.wcharMB) },
      { label: 'players received MB', cells: pick(results, (r: FanoutResult) => r.receivedMB) },
      { label: 'CPU ms per delivered MB', cells: pick(results, (r: FanoutResult) => r.cpuMsPerMB) },
      { label: `RSS before players MB (median, after ${warmupSeconds} s)`, cells: memory((r) => r.rssBeforeMB) },
      { label: `RSS with ${n} players MB (median)`, cells: memory((r) => r.rssWithPlayersMB) },
      { label: 'RSS spread in the window MB', cells: memory((r) => r.rssWindowSpreadMB) },
      { label: 'memory per player after the first KB', cells: memory((r) => r.memoryPerMorePlayerKB), digits: 0 },
      ...(repeat > 1 ? [{ label: `  the same, each of ${repeat} runs`, cells: memoryEachRun }] : []),
      { label: "the first player's one-off MB", cells: memory((r) => r.firstPlayerMB), digits: 2 },
      { label: 'RSS growth / all players KB', cells: memory((r) => r.memoryPerPlayerKB), digits: 0 },
      { label: 'V8 young generation MB', cells: memory((r) => r.youngGenerationMB) },
      { label: 'per player less young gen KB', cells: memory((r) => r.memoryPerPlayerBeyondYoungKB), digits: 0 },
      { label: 'live heap per player KB (after GC)', cells: memory((r) => r.liveHeapPerPlayerKB), digits: 1 },
      { label: 'players kept real time', cells: pick(results, (r: FanoutResult) => `${r.keptRealTime}/${r.players}`) },
      { label: 'relay latency under this load, median ms', cells: pick(results, (r: FanoutResult) => r.relayMedianMs), digits: 0 },
      { label: 'relay latency under this load, p95 ms', cells: pick(results, (r: FanoutResult) => r.relayP95Ms), digits: 0 },
      { label: 'median media/wall ratio', cells: pick(results, (r: FanoutResult) => r.medianRealTimeRatio), digits: 2 },
      { label: 'players CPU s (all rtmpdumps)', cells: pick(results, (r: FanoutResult) => r.playersCpuSeconds), digits: 2 },
      { label: 'machine busy % (2 cores)', cells: pick(results, (r: FanoutResult) => r.machineBusyPercent), digits: 0 },
    ];
    const which = repeat > 1 ? `; the run with the median CPU per MB of ${repeat}` : '';
    print(table(`1. fan-out: 1 publisher (2.6 Mbit/s), ${n} rtmpdump players, ${seconds} s window${which}`, columns, rows));
    print(
      ratios(columns, [
        { label: 'CPU per delivered MB', values: pick(results, (r: FanoutResult) => r.cpuMsPerMB) },
        { label: 'server CPU s', values: pick(results, (r: FanoutResult) => r.cpuSeconds) },
        { label: 'memory per player after the first', values: memory((r) => r.memoryPerMorePlayerKB) },
        { label: 'RSS growth / all players', values: memory((r) => r.memoryPerPlayerKB) },
        { label: 'per player less young gen', values: memory((r) => r.memoryPerPlayerBeyondYoungKB) },
      ]),
    );
    print(errorsOf(results));
  }
  return all;
}

/** One publisher and no players, rxrtmp as it reads alone and as it reads in a fan-out (paced). */
export async function ingestSection(missing: Missing, seconds: number, repeat: number, print: (text: string) => void): Promise<(IngestResult | Skipped)[]> {
  const servers: [PeerKind, PeerOptions, string][] = [
    ['rxrtmp', {}, 'rxrtmp'],
    ['rxrtmp', { mediaBatchFrom: 0 }, 'rxrtmp (paced)'],
    ['nginx', {}, NAMES.nginx],
    ['nms', {}, NAMES.nms],
  ];
  const runs = servers.map((): (IngestResult | Skipped)[] => []);
  for (let round = 0; round < repeat; round++) {
    for (const [i, [kind, options, name]] of servers.entries()) runs[i]!.push(await withPeer(kind, missing[kind], options, name, async (peer) => ({ ...(await runIngest(peer, seconds)), server: name })));
  }
  const results = runs.map((each) => {
    const done = each.filter((r): r is IngestResult => !isSkipped(r)).sort((a, b) => a.cpuMsPerSecond - b.cpuMsPerSecond);
    return done[Math.floor(done.length / 2)] ?? each[0]!;
  });
  const columns = results.map((r) => r.server);
  const which = repeat > 1 ? `; the median of ${repeat} runs` : '';
  print(
    table(`0. taking in one stream: ffmpeg publishes the 2.6 Mbit/s clip, no players, ${seconds} s${which}`, columns, [
      ...(repeat > 1 ? [{ label: `CPU ms/s, each of ${repeat} runs`, cells: runs.map((each) => each.map((r) => (isSkipped(r) ? '-' : r.cpuMsPerSecond.toFixed(1))).join(' / ')) }] : []),
      { label: 'server CPU ms per second', cells: pick(results, (r: IngestResult) => r.cpuMsPerSecond) },
      // nginx reads with recv(2), which syscr does not count.
      { label: 'read(2) calls per second', cells: pick(results, (r: IngestResult) => (r.server === NAMES.nginx ? 'recv' : r.readsPerSecond)), digits: 0 },
      { label: 'RSS MB', cells: pick(results, (r: IngestResult) => r.rssMB) },
    ]),
  );
  print(ratios(columns, [{ label: 'CPU per second', values: pick(results, (r: IngestResult) => r.cpuMsPerSecond) }]));
  print(errorsOf(results));
  return runs.flat();
}

export async function idleSection(missing: Missing, count: number, print: (text: string) => void): Promise<(IdleResult | Skipped)[]> {
  const results: (IdleResult | Skipped)[] = [];
  for (const [kind, options, name] of MAIN_SERVERS) results.push(await withPeer(kind, missing[kind], options, name, async (peer) => ({ ...(await runIdle(peer, count)), server: name })));
  const columns = results.map((r) => r.server);
  print(
    table(`2. ${count} idle connections (simple handshake + connect to live, 100 in flight)`, columns, [
      { label: 'connected / failed', cells: pick(results, (r: IdleResult) => `${r.connected}/${r.failed}`) },
      { label: 'still open', cells: pick(results, (r: IdleResult) => r.open), digits: 0 },
      { label: `time to all ${count} _results ms`, cells: pick(results, (r: IdleResult) => r.allConnectedMs), digits: 0 },
      { label: 'median connect ms', cells: pick(results, (r: IdleResult) => r.medianConnectMs), digits: 0 },
      { label: 'p95 connect ms', cells: pick(results, (r: IdleResult) => r.p95ConnectMs), digits: 0 },
      { label: 'server CPU ms per connect', cells: pick(results, (r: IdleResult) => r.cpuMsPerConnect), digits: 2 },
      { label: 'load client CPU ms per connect', cells: pick(results, (r: IdleResult) => r.clientCpuMsPerConnect), digits: 2 },
      { label: 'RSS before MB', cells: pick(results, (r: IdleResult) => r.rssBeforeMB) },
      { label: 'RSS with connections MB', cells: pick(results, (r: IdleResult) => r.rssAfterMB) },
      { label: 'memory per connection KB', cells: pick(results, (r: IdleResult) => r.memoryPerConnectionKB) },
      { label: 'per connection less young gen KB', cells: pick(results, (r: IdleResult) => r.memoryPerConnectionBeyondYoungKB) },
      { label: 'live heap per connection KB', cells: pick(results, (r: IdleResult) => r.liveHeapPerConnectionKB) },
      { label: 'CPU % while idle', cells: pick(results, (r: IdleResult) => r.idleCpuPercent) },
    ]),
  );
  print(
    ratios(columns, [
      { label: 'memory per connection', values: pick(results, (r: IdleResult) => r.memoryPerConnectionKB) },
      { label: 'time to all connected', values: pick(results, (r: IdleResult) => r.allConnectedMs) },
      { label: 'CPU per connect', values: pick(results, (r: IdleResult) => r.cpuMsPerConnect) },
    ]),
  );
  print(errorsOf(results));
  return results;
}

export async function latencySection(missing: Missing, plays: number, seconds: number, print: (text: string) => void): Promise<{ firstFrame: (FirstFrameResult | Skipped)[]; relay: (RelayLatencyResult | Skipped)[] }> {
  const firstFrame: (FirstFrameResult | Skipped)[] = [];
  const relay: (RelayLatencyResult | Skipped)[] = [];
  const runs: [PeerKind, boolean, string][] = [
    ['rxrtmp', true, 'rxrtmp'],
    ['rxrtmp', false, 'rxrtmp (no GOP cache)'],
    ['nginx', true, NAMES.nginx],
    ['nms', true, NAMES.nms],
  ];
  for (const [kind, gopCache, name] of runs) {
    firstFrame.push(await withPeer(kind, missing[kind], { gopCache }, name, (peer) => runFirstFrame(peer, plays)));
    if (gopCache) relay.push(await withPeer(kind, missing[kind], {}, name, (peer) => runRelayLatency(peer, seconds)));
  }
  const ffColumns = firstFrame.map((r) => r.server);
  print(
    table(`3a. time to first frame: RtmpClient plays a running ffmpeg publish (median of ${plays})`, ffColumns, [
      { label: 'plays with a key frame', cells: pick(firstFrame, (r: FirstFrameResult) => `${r.succeeded}/${r.plays}`) },
      { label: 'play → first video frame ms', cells: pick(firstFrame, (r: FirstFrameResult) => r.firstVideoMs) },
      { label: 'play → first key frame ms', cells: pick(firstFrame, (r: FirstFrameResult) => r.firstKeyFrameMs) },
      { label: 'p90 first key frame ms', cells: pick(firstFrame, (r: FirstFrameResult) => r.firstKeyFrameP90Ms) },
      { label: 'started on a key frame', cells: pick(firstFrame, (r: FirstFrameResult) => `${r.startedOnKeyFrame}/${r.plays}`) },
    ]),
  );
  print(errorsOf(firstFrame));
  const relayColumns = relay.map((r) => r.server);
  print(
    table(`3b. relay latency: RtmpClient publishes 30 fps × 5 KB stamped frames, another plays (${seconds} s)`, relayColumns, [
      { label: 'frames sent / measured', cells: pick(relay, (r: RelayLatencyResult) => `${r.sent}/${r.received}`) },
      { label: 'median ms', cells: pick(relay, (r: RelayLatencyResult) => r.medianMs) },
      { label: 'p95 ms', cells: pick(relay, (r: RelayLatencyResult) => r.p95Ms) },
      { label: 'max ms', cells: pick(relay, (r: RelayLatencyResult) => r.maxMs) },
    ]),
  );
  print(errorsOf(relay));
  return { firstFrame, relay };
}

/** Many streams with few players each (and one stream with a few): CPU per MB moved, and a probe stream's latency beside it. */
export async function streamsSection(missing: Missing, layouts: { streams: number; playersPerStream: number }[], seconds: number, warmupSeconds: number, repeat: number, print: (text: string) => void): Promise<(StreamsResult | Skipped)[]> {
  const all: (StreamsResult | Skipped)[] = [];
  for (const layout of layouts) {
    const runs = [...MAIN_SERVERS, undefined].map((): (StreamsResult | Skipped)[] => []);
    for (let round = 0; round < repeat; round++) {
      for (const [i, [kind, options, name]] of MAIN_SERVERS.entries()) {
        runs[i]!.push(await withPeer(kind, missing[kind], options, name, async (peer) => ({ ...(await runStreams(peer, { ...layout, seconds, warmupSeconds })), server: name })));
      }
      // The floor's sources write what the publishers were measured to write in this round.
      const measured = runs[0]![round];
      const bytesPerSecond = measured && !isSkipped(measured) && measured.receivedMB > 0 ? (measured.receivedMB * 1e6) / measured.windowSeconds / layout.streams : CLIP_BYTES_PER_SECOND;
      runs[MAIN_SERVERS.length]!.push(await runFloor({ ...layout, seconds, warmupSeconds, bytesPerSecond }));
    }
    for (const each of runs) all.push(...each);
    const results = runs.map((each) => {
      const done = each.filter((r): r is StreamsResult => !isSkipped(r)).sort((a, b) => a.cpuMsPerMovedMB - b.cpuMsPerMovedMB);
      return done[Math.floor(done.length / 2)] ?? each[0]!;
    });
    const columns = results.map((r) => r.server);
    const { streams, playersPerStream } = layout;
    const which = repeat > 1 ? `; the run with the median CPU per MB of ${repeat}` : '';
    print(
      table(`1b. ${streams} stream${streams > 1 ? 's' : ''} x ${playersPerStream} players: ${streams} ffmpeg publishers (2.6 Mbit/s each), ${streams * playersPerStream} rtmpdump players, ${warmupSeconds} s warm-up, ${seconds} s window${which}`, columns, [
        ...(repeat > 1 ? [{ label: `CPU ms per MB moved, each of ${repeat} runs`, cells: runs.map((each) => each.map((r) => (isSkipped(r) ? '-' : r.cpuMsPerMovedMB.toFixed(2))).join(' / ')) }] : []),
        { label: 'players connected', cells: pick(results, (r: StreamsResult) => `${r.connected}/${r.players}`) },
        { label: 'publishers alive', cells: pick(results, (r: StreamsResult) => `${r.publishersAlive}/${r.streams}`) },
        { label: 'server CPU ms per second', cells: pick(results, (r: StreamsResult) => r.cpuMsPerSecond) },
        { label: 'received MB (socket)', cells: pick(results, (r: StreamsResult) => r.receivedMB) },
        { label: 'delivered MB (socket acked)', cells: pick(results, (r: StreamsResult) => r.deliveredMB) },
        { label: 'CPU ms per MB moved (in + out)', cells: pick(results, (r: StreamsResult) => r.cpuMsPerMovedMB), digits: 2 },
        { label: 'CPU ms per delivered MB', cells: pick(results, (r: StreamsResult) => r.cpuMsPerDeliveredMB), digits: 2 },
        { label: 'read(2) calls per second', cells: pick(results, (r: StreamsResult) => (r.server === NAMES.nginx ? 'recv' : r.readsPerSecond)), digits: 0 },
        { label: 'RSS MB', cells: pick(results, (r: StreamsResult) => r.rssMB) },
        { label: 'players kept real time', cells: pick(results, (r: StreamsResult) => `${r.keptRealTime}/${r.players}`) },
        { label: 'probe stream latency under this load, median ms', cells: pick(results, (r: StreamsResult) => r.relayMedianMs), digits: 1 },
        { label: 'probe stream latency under this load, p95 ms', cells: pick(results, (r: StreamsResult) => r.relayP95Ms), digits: 1 },
        { label: 'machine busy % (2 cores)', cells: pick(results, (r: StreamsResult) => r.machineBusyPercent), digits: 0 },
      ]),
    );
    print(
      ratios(columns, [
        { label: 'CPU per MB moved', values: pick(results, (r: StreamsResult) => r.cpuMsPerMovedMB) },
        { label: 'CPU per delivered MB', values: pick(results, (r: StreamsResult) => r.cpuMsPerDeliveredMB) },
        { label: 'probe p95 latency', values: pick(results, (r: StreamsResult) => r.relayP95Ms) },
      ]),
    );
    print(overFloor(results));
    print(errorsOf(results));
  }
  return all;
}

/** Each server's CPU per MB moved over the Node.js relay floor's, measured in the same round. */
function overFloor(results: (StreamsResult | Skipped)[]): string {
  const floor = results.find((r): r is StreamsResult => !isSkipped(r) && r.server === FLOOR_NAME);
  if (!floor || !(floor.cpuMsPerMovedMB > 0)) return '';
  const parts = results.filter((r): r is StreamsResult => !isSkipped(r) && r !== floor).map((r) => `${shortName(r.server)} ${(r.cpuMsPerMovedMB / floor.cpuMsPerMovedMB).toFixed(2)}x`);
  return `CPU per MB moved over the Node.js relay floor's (nothing parsed, same bytes): ${parts.join(', ')}`;
}

/** One stream, a thousand players from one load-client process: real time, CPU and memory per player. */
export async function thousandSection(missing: Missing, players: number, seconds: number, print: (text: string) => void): Promise<(ThousandResult | Skipped)[]> {
  const servers: [PeerKind, PeerOptions, string][] = [
    ['rxrtmp', {}, NAMES.rxrtmp],
    ['nginx', {}, NAMES.nginx],
    ['nms', {}, NAMES.nms],
  ];
  const results: (ThousandResult | Skipped)[] = [];
  for (const [kind, options, name] of servers) results.push(await withPeer(kind, missing[kind], options, name, async (peer) => ({ ...(await runThousand(peer, { players, seconds })), server: name })));
  const columns = results.map((r) => r.server);
  print(
    table(`1c. ${players} players of one stream (one load-client process), ${seconds} s window`, columns, [
      { label: 'players with media', cells: pick(results, (r: ThousandResult) => `${r.withMedia}/${r.players}`) },
      { label: 'seconds until all played', cells: pick(results, (r: ThousandResult) => r.connectSeconds) },
      { label: 'players kept real time', cells: pick(results, (r: ThousandResult) => `${r.keptRealTime}/${r.players}`) },
      { label: 'median / lowest media/wall ratio', cells: pick(results, (r: ThousandResult) => `${r.medianRealTimeRatio.toFixed(2)} / ${r.lowestRealTimeRatio.toFixed(2)}`) },
      { label: 'server CPU ms per second', cells: pick(results, (r: ThousandResult) => r.cpuMsPerSecond) },
      { label: 'delivered MB (socket acked)', cells: pick(results, (r: ThousandResult) => r.deliveredMB) },
      { label: 'CPU ms per delivered MB', cells: pick(results, (r: ThousandResult) => r.cpuMsPerMB), digits: 2 },
      { label: 'RSS before players MB', cells: pick(results, (r: ThousandResult) => r.rssBeforeMB) },
      { label: `RSS with ${players} players MB`, cells: pick(results, (r: ThousandResult) => r.rssWithPlayersMB) },
      { label: 'memory per player KB', cells: pick(results, (r: ThousandResult) => r.memoryPerPlayerKB), digits: 0 },
      { label: 'probe stream latency, median ms', cells: pick(results, (r: ThousandResult) => r.relayMedianMs), digits: 1 },
      { label: 'probe stream latency, p95 ms', cells: pick(results, (r: ThousandResult) => r.relayP95Ms), digits: 1 },
      { label: 'load client CPU ms per second', cells: pick(results, (r: ThousandResult) => r.clientCpuMsPerSecond), digits: 0 },
      { label: 'machine busy % (2 cores)', cells: pick(results, (r: ThousandResult) => r.machineBusyPercent), digits: 0 },
    ]),
  );
  print(
    ratios(columns, [
      { label: 'CPU per delivered MB', values: pick(results, (r: ThousandResult) => r.cpuMsPerMB) },
      { label: 'memory per player', values: pick(results, (r: ThousandResult) => r.memoryPerPlayerKB) },
    ]),
  );
  print(errorsOf(results));
  return results;
}

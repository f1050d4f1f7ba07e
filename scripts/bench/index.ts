/**
 * The benchmark suite: rxrtmp against nginx-rtmp and node-media-server, each started here
 * on 127.0.0.1 with a config of its own. `npm run bench` (this file):
 *
 *   --players 50,100,200   fan-out player counts          --seconds 15   fan-out window
 *   --streams 20x2,1x10    many-streams layouts (streams x players each)
 *   --thousand 1000        players of one stream from one load-client process
 *   --repeat 1             fan-out runs per server and count (the table shows the median run)
 *   --warmup 30            seconds the publisher runs before the fan-out's memory baseline
 *   --connections 2000     idle connections               --plays 10     first-frame plays
 *   --only ingest,fanout,streams,thousand,idle,latency,interactive,cluster,encoder,protocol     (default: all)
 *   --servers rxrtmp,nginx,nms                             (default: all three)
 *   --out scripts/bench/results.json
 *
 * Prints a table per section and writes every figure to results.json. Loopback only;
 * every run is bounded in time and stops what it started.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { REPO } from './build';
import { prepareClip } from './clip';
import { cleanupBuild, PEER_KINDS, unavailable, versions } from './peers';
import { machine, quietMachine } from './proc';
import { fanoutSection, idleSection, ingestSection, latencySection, Missing, NAMES, stopActive, streamsSection, thousandSection } from './sections';
import { parseLayouts } from './streams';
import { runSubBench, SubBench } from './subbench';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

function numbers(text: string | undefined, fallback: number[]): number[] {
  if (text === undefined) return fallback;
  const values = text.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
  return values.length > 0 ? values : fallback;
}

const players = numbers(option('players'), [50, 100, 200]);
const layouts = parseLayouts(option('streams') ?? '20x2,1x10');
const thousand = numbers(option('thousand'), [1000])[0]!;
const seconds = numbers(option('seconds'), [15])[0]!;
const repeat = numbers(option('repeat'), [1])[0]!;
const warmup = numbers(option('warmup'), [30])[0]!;
const connections = numbers(option('connections'), [2000])[0]!;
const plays = numbers(option('plays'), [10])[0]!;
const only = new Set((option('only') ?? 'ingest,fanout,streams,thousand,idle,latency,interactive,cluster,encoder,protocol').split(','));
const servers = new Set((option('servers') ?? 'rxrtmp,nginx,nms').split(','));
const out = option('out') ?? join(__dirname, 'results.json');
// Bounds: nothing here may run for long or load the machine without end.
if (players.some((n) => n > 1000) || thousand > 2000 || layouts.some((l) => l.streams > 50 || l.streams * l.playersPerStream > 500) || seconds > 120 || warmup > 300 || connections > 5000 || repeat > 5) {
  console.error('refusing: at most 1000 players, 50 streams and 500 players in a layout, a 120 s window, a 300 s warm-up, 5000 connections and 5 repeats');
  process.exit(2);
}

const print = (text: string): void => {
  if (text !== '') console.log(text);
};

function printSubBench(title: string, result: SubBench): void {
  print(`\n== ${title}: ${result.script} (${result.status})`);
  for (const line of result.output) print(`  ${line}`);
  if (result.json !== null) print(`  ${JSON.stringify(result.json)}`);
  if (result.error !== undefined) print(`  error: ${result.error}`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const args = process.argv.slice(2);
  const info = machine();
  const command = `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
  print(`rxrtmp benchmark ${new Date().toISOString()}: ${info.cpuModel}, ${info.cores} cores, ${info.memoryGiB} GiB, node ${info.node}, Linux ${info.kernel}`);
  print(`command: ${command}`);
  const missing = Object.fromEntries(PEER_KINDS.map((kind) => [kind, servers.has(kind) ? unavailable(kind) : 'not selected (--servers)'])) as Missing;
  const peerVersions = versions();
  for (const kind of PEER_KINDS) {
    const why = missing[kind];
    print(`  ${NAMES[kind].padEnd(18)} ${why === undefined ? peerVersions[kind] : servers.has(kind) ? `NOT AVAILABLE: ${why}` : why}`);
  }
  print('Machine shared and noisy: fan-out and idle figures are single runs, or with --repeat the run with the median CPU; fan-out memory is the median of RSS samples over each window, and of the runs; first frame and latency are medians.');

  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    command,
    machine: info,
    versions: peerVersions,
    unavailable: Object.fromEntries(PEER_KINDS.filter((k) => missing[k] !== undefined).map((k) => [NAMES[k], missing[k]])),
    options: { players, layouts, thousand, seconds, warmup, repeat, connections, plays },
    notes: [
      'deliveredMB: bytes_acked on the server\'s established sockets over the window (ss -ti), RTMP chunk headers included; wcharMB: /proc/PID/io wchar, which counts write/writev (sockets, files, pipes) but not send/sendmsg, so nginx-rtmp (send(2)) shows ~0 there.',
      'receivedMB: the rtmpdump players\' own byte counts (FLV bytes written) over the same window.',
      'memory per player / per connection: the server\'s VmRSS difference divided by the count; for the node servers it includes heap not yet collected.',
      'kept real time: media seconds a player received >= 0.9 x (seconds it ran - 2 s startup allowance).',
      'node-media-server v4 has no gop_cache setting: it always caches the last GOP. It sends media on message stream 0, which RtmpClient ignores; the latency runs alias stream 0 to the playing stream.',
    ],
  };
  const save = (): void => {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(results, (_key, value: unknown) => (typeof value === 'number' && !Number.isInteger(value) ? Number(value.toFixed(3)) : value), 2)}\n`);
  };

  if (only.has('ingest') || only.has('fanout') || only.has('streams') || only.has('thousand') || only.has('latency')) prepareClip();
  if (only.has('ingest')) {
    results.ingest = await ingestSection(missing, seconds, repeat, print);
    save();
  }
  if (only.has('fanout')) {
    results.fanout = await fanoutSection(missing, players, seconds, warmup, repeat, print);
    save();
  }
  if (only.has('streams')) {
    results.streams = await streamsSection(missing, layouts, seconds, warmup, repeat, print);
    save();
  }
  if (only.has('thousand')) {
    results.thousand = await thousandSection(missing, thousand, seconds, print);
    save();
  }
  if (only.has('idle')) {
    results.idle = await idleSection(missing, connections, print);
    save();
  }
  if (only.has('latency')) {
    const { firstFrame, relay } = await latencySection(missing, plays, 5, print);
    results.firstFrame = firstFrame;
    results.relayLatency = relay;
    save();
  }
  if (only.has('interactive')) {
    await quietMachine();
    const interactive = await runSubBench('scripts/bench-interactive.ts', 600);
    printSubBench('3b. interactive: a call to the first frame showing it, over TCP and WebSocket', interactive);
    results.interactive = interactive.status === 'ok' ? interactive.json : { status: interactive.status, error: interactive.error ?? null };
    save();
  }
  if (only.has('cluster')) {
    await quietMachine();
    const cluster = await runSubBench('scripts/bench-cluster.ts', 1800);
    printSubBench('3c. cluster: first key frame on another process, egress and capacity under a CPU budget on one process and on a worker pool', cluster);
    results.cluster = cluster.status === 'ok' ? cluster.json : { status: cluster.status, error: cluster.error ?? null };
    save();
  }
  if (only.has('encoder')) {
    print(`\n(machine ${(await quietMachine()).toFixed(0)}% busy as the encoder bench starts)`);
    const encoder = await runSubBench('scripts/bench-screen-video.ts', 600);
    printSubBench('4. encoder', encoder);
    results.encoder = encoder.status === 'ok' ? encoder.json : { status: encoder.status, error: encoder.error ?? null };
    save();
  }
  if (only.has('protocol')) {
    await quietMachine();
    const protocol = await runSubBench('scripts/bench-protocol.ts', 300);
    printSubBench('5. protocol', protocol);
    results.protocol = protocol.status === 'ok' ? protocol.json : { status: protocol.status, error: protocol.error ?? null };
  }
  results.durationSeconds = Math.round((Date.now() - started) / 1000);
  save();
  const shown = relative(REPO, out);
  print(`\nwrote ${shown.startsWith('..') ? out : shown} (${results.durationSeconds} s in all)`);
}

let interrupted = false;
const interrupt = (): void => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.error('\ninterrupted: stopping the servers');
  void stopActive().finally(() => (cleanupBuild(), process.exit(130)));
};
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);

// A last bound on the whole run: no section may hang it.
const watchdog = setTimeout(() => {
  console.error('benchmark still running after 90 minutes: stopping');
  interrupt();
}, 90 * 60_000);
watchdog.unref();

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanupBuild());

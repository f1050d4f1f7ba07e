/**
 * Interactive rendering: how soon a call's effect is on the wire. A client plays the demo's
 * rendered scene and calls `moveCamera`; the answer carries the scene clock at the move, and
 * every frame stamped later shows it. Measured per call, at the client:
 *   answer   call sent → `_result` received
 *   effect   call sent → the first video message stamped after the move received
 * over TCP (rtmp://) and over WebSocket (ws://…/rtmp/demo), for Screen Video and (where the
 * ffmpeg plugin loads) H.264. Calls are spaced by a random 40–90 ms so they land at every
 * phase of the frame clock. The bound the issue sets is one frame interval plus encode time;
 * encode time is the server's own (time from a frame's render to its message, read as
 * the median gap between a frame's stamp and its arrival minus the loopback answer time).
 * The server runs in a child process: its CPU per call is shown beside the latency.
 *
 * Run: npx ts-node --transpile-only scripts/bench-interactive.ts [--calls 200]
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { RtmpClient } from '../lib';
import { DemoScene } from '../lib/demo/scene';
import { PluginRegistry } from '../lib/plugins/registry';
import { MessageType } from '../lib/protocol/message';
import { cpuSeconds, median, percentile, sleep } from './bench/proc';

const RATE = 30;
const at = process.argv.indexOf('--calls');
const CALLS = Math.min(1000, at >= 0 ? Number(process.argv[at + 1]) : 200);

interface Run {
  transport: 'tcp' | 'websocket';
  codec: string;
  answerMs: { median: number; p95: number };
  effectMs: { median: number; p95: number };
  /** Median time from the move to the render of the frame showing it (the scene clock's tick). */
  tickWaitMs: number;
  /** Median time from that render to the frame's arrival: encode, write, loopback, read. */
  renderToArrivalMs: number;
  withinBound: number;
  serverCpuMsPerSecond: number;
}

/** Median encode time of the scene's frames with a codec's encoder, in this process. */
async function encodeMs(codec: string): Promise<number> {
  const plugins = new PluginRegistry();
  await plugins.loadDirectory(join(__dirname, '..', 'plugins'));
  const encoder = plugins.createEncoder(codec);
  const scene = new DemoScene(640, 360);
  const times: number[] = [];
  try {
    await encoder.init(scene.width, scene.height);
    for (let i = 0; i < 90; i++) {
      const frame = scene.render((i * 1000) / RATE, { cameraX: 0, cameraY: 0 });
      const start = performance.now();
      await encoder.encode(frame, { keyFrame: i % 60 === 0 });
      if (i >= 30) times.push(performance.now() - start);
    }
  } finally {
    await encoder.close();
    await plugins.close();
  }
  return median(times);
}

async function measure(url: string, transport: Run['transport'], codec: string, serverPid: number, bound: number): Promise<Run> {
  const client = await RtmpClient.connect(url);
  const stream = await client.createStream();
  const arrivals: Array<{ timestamp: number; at: number }> = [];
  stream.media$.subscribe((m) => {
    if (m.typeId === MessageType.Video) arrivals.push({ timestamp: m.timestamp, at: performance.now() });
  });
  await stream.play(codec === 'screen-video' ? 'scene' : `scene?codec=${codec}`);
  while (arrivals.length < RATE * 2) await sleep(50);
  const answers: number[] = [];
  const effects: number[] = [];
  const renderToArrival: number[] = [];
  const tickWait: number[] = [];
  const cpuBefore = cpuSeconds(serverPid);
  const started = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const sent = performance.now();
    const answer = (await client.call('moveCamera', i % 2 === 0 ? 1 : -1, 0)) as { sceneTime: number };
    const answered = performance.now();
    answers.push(answered - sent);
    for (;;) {
      const shown = arrivals.find((a) => a.at >= sent && a.timestamp > answer.sceneTime);
      if (shown) {
        effects.push(shown.at - sent);
        // The server's clock read at about the middle of the round trip: how long the frame took from its render to here.
        renderToArrival.push(shown.at - (sent + (answered - sent) / 2 + (shown.timestamp - answer.sceneTime)));
        tickWait.push(shown.timestamp - answer.sceneTime);
        break;
      }
      await sleep(1);
    }
    arrivals.splice(0, arrivals.length - 10);
    await sleep(40 + Math.random() * 50);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(serverPid) - cpuBefore;
  await client.close();
  return {
    transport,
    codec,
    answerMs: { median: median(answers), p95: percentile(answers, 95) },
    effectMs: { median: median(effects), p95: percentile(effects, 95) },
    tickWaitMs: median(tickWait),
    renderToArrivalMs: median(renderToArrival),
    withinBound: effects.filter((e) => e <= bound).length / effects.length,
    serverCpuMsPerSecond: (cpu * 1000) / seconds,
  };
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, 'bench', 'interactive-server.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = /ready .*\n/.exec(out);
      if (line) resolve(line[0].trim());
    });
    child.once('exit', () => reject(new Error('the server exited before it was ready')));
  });
  const [, rtmpPort, httpPort, codecList] = ready.split(' ');
  const codecs = (codecList ?? '').split(',').filter((c) => c === 'screen-video' || c === 'h264');
  const runs: Run[] = [];
  try {
    for (const codec of codecs) {
      const encode = await encodeMs(codec);
      const bound = 1000 / RATE + encode;
      console.log(`${codec}: frame interval ${(1000 / RATE).toFixed(1)} ms + median encode ${encode.toFixed(1)} ms = bound ${bound.toFixed(1)} ms`);
      for (const transport of ['tcp', 'websocket'] as const) {
        const url = transport === 'tcp' ? `rtmp://127.0.0.1:${rtmpPort}/demo` : `ws://127.0.0.1:${httpPort}/rtmp/demo`;
        const run = await measure(url, transport, codec, child.pid!, bound);
        runs.push(run);
        console.log(
          `  ${transport.padEnd(9)} ${CALLS} calls: answer median ${run.answerMs.median.toFixed(1)} ms p95 ${run.answerMs.p95.toFixed(1)}; ` +
            `changed frame median ${run.effectMs.median.toFixed(1)} ms p95 ${run.effectMs.p95.toFixed(1)}; within bound ${(run.withinBound * 100).toFixed(0)}% (tick wait ${run.tickWaitMs.toFixed(1)}, render to arrival ${run.renderToArrivalMs.toFixed(1)}); server CPU ${run.serverCpuMsPerSecond.toFixed(0)} ms/s`,
        );
      }
    }
  } finally {
    child.stdin!.end();
    child.kill('SIGTERM');
  }
  console.log(JSON.stringify({ calls: CALLS, rate: RATE, runs }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

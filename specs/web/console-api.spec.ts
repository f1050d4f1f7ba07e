import test from 'ava';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { WebSocket } from 'ws';
import { RtmpClient } from '../../lib';
import { createWebServer, WebServer } from '../../lib/web/web-server';
import { delay, liveServer, until } from '../helpers/live';

const packr = new Packr({ useRecords: false });

async function consoleServer(): Promise<{ web: WebServer; base: string; url: string; close: () => Promise<void>; rtmpPort: number }> {
  const { server, registry, url, port } = await liveServer();
  const web = createWebServer(server, { live: registry, inspectIntervalMs: 100, sampleMs: 200 });
  const address = await web.listen(0, '127.0.0.1');
  return { web, base: `http://127.0.0.1:${address.port}`, url, rtmpPort: port, close: async () => { await web.close(); await server.close(); } };
}

const json = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;

/** ffmpeg publishing a generated H.264 + AAC stream in real time. */
function ffmpegPublisher(url: string): ChildProcess {
  return spawn('ffmpeg', ['-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-c:a', 'aac', '-t', '30', '-f', 'flv', url], { stdio: 'ignore' });
}

test('the machine is served as JSON from its definition, as Mermaid text and as an SVG laid out by elkjs', async (t) => {
  const { base, close } = await consoleServer();
  try {
    const machine = await json<{ states: { id: string }[]; transitions: { from: string; to: string; event: string }[] }>(`${base}/api/machine`);
    const states = machine.states.map((s) => s.id);
    t.deepEqual(states.sort(), ['authorizing', 'awaitingConnect', 'closed', 'closing', 'connected', 'handshake', 'streaming']);
    t.true(machine.transitions.some((e) => e.from === 'handshake' && e.to === 'awaitingConnect' && e.event === 'HANDSHAKE_DONE'));
    t.true(machine.transitions.some((e) => e.from === 'awaitingConnect' && e.to === 'closing' && e.event === 'after connectTimeout'));
    // The root's events are drawn once, from "any state", not from each of the seven states.
    t.deepEqual(machine.transitions.filter((e) => e.event === 'CLOSE').map((e) => `${e.from}>${e.to}`), ['*>closing']);
    t.deepEqual(machine.transitions.filter((e) => e.event === 'TRANSPORT_CLOSED').map((e) => `${e.from}>${e.to}`).sort(), ['*>closed', 'closing>closed']);
    // Targetless transitions (counting streams) are no edges.
    t.false(machine.transitions.some((e) => e.from === e.to));
    const mermaid = await (await fetch(`${base}/api/machine.mmd`)).text();
    t.regex(mermaid, /^stateDiagram-v2\n {2}\[\*\] --> handshake\n/);
    t.true(mermaid.includes('authorizing --> connected: CONNECT_ACCEPTED'));
    t.true(mermaid.includes('state "any state" as any_state') && mermaid.includes('any_state --> closing: CLOSE'));
    t.true(mermaid.includes('closed --> [*]'));
    // The README's copy of the diagram is the one the server gives.
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    t.is(/The connection machine, as `\/api\/machine\.mmd` gives it[\s\S]*?```mermaid\n([^`]*)```/.exec(readme)?.[1], mermaid);
    const svg = await (await fetch(`${base}/api/machine.svg`)).text();
    for (const state of states) t.true(svg.includes(`data-count="${state}"`), state);
    t.regex(svg, /<path class="edge" d="M [\d.]+ [\d.]+ L/);
    t.true(svg.includes('<g class="any-state">'));

    // Every machine the server runs: the sessions actor too, one state with the connection actors as children.
    const { machines } = await json<{ machines: { id: string; states: { id: string }[]; transitions: { from: string; to: string }[] }[] }>(`${base}/api/machines`);
    t.deepEqual(machines.map((m) => m.id), ['rtmpConnection', 'sessions']);
    t.deepEqual(machines[1]!.states.map((s) => s.id), ['sessions']);
    const sessionsSvg = await (await fetch(`${base}/api/machines/sessions.svg`)).text();
    t.true(sessionsSvg.includes('data-machine="sessions"') && sessionsSvg.includes('data-count="sessions"'));
    t.regex(await (await fetch(`${base}/api/machines/sessions.mmd`)).text(), /^stateDiagram-v2\n {2}\[\*\] --> sessions\n {2}sessions --> sessions: any event\n$/);
    t.deepEqual(await json(`${base}/api/machines/rtmpConnection`), machine);
    t.is((await fetch(`${base}/api/machines/nope.svg`)).status, 404);
  } finally {
    await close();
  }
});

test('connections appear with their state, history (transitions with their events, commands) and rates; a kick closes the socket within 2 s', async (t) => {
  const { base, url, close } = await consoleServer();
  const client = await RtmpClient.connect(url);
  try {
    type Rows = { connections: { id: string; state: string; app: string | null }[]; counts: Record<string, number> };
    await until(() => true);
    const listed = await json<Rows>(`${base}/api/connections`);
    t.is(listed.connections.length, 1);
    t.like(listed.connections[0], { app: 'live', state: 'connected' });
    t.is(listed.counts.connected, 1);
    t.is(listed.counts.handshake, 0);
    const id = listed.connections[0]!.id;
    const { history } = await json<{ history: { kind: string; from?: string; to?: string; event?: string; name?: string; direction?: string }[] }>(`${base}/api/connections/${id}/history`);
    t.true(history.some((e) => e.kind === 'state' && e.from === 'handshake' && e.to === 'awaitingConnect' && e.event === 'HANDSHAKE_DONE'));
    t.true(history.some((e) => e.kind === 'command' && e.direction === 'in' && e.name === 'connect'));
    t.true(history.some((e) => e.kind === 'command' && e.direction === 'out' && e.name === '_result'));
    t.is((await fetch(`${base}/api/connections/nope`, { method: 'DELETE' })).status, 404);
    const kickedAt = Date.now();
    const kicked = await fetch(`${base}/api/connections/${id}`, { method: 'DELETE' });
    t.is(kicked.status, 202);
    await client.closed;
    t.true(Date.now() - kickedAt < 2000, `closed after ${Date.now() - kickedAt} ms`);
    await until(() => true);
    await delay(50);
    t.is((await json<Rows>(`${base}/api/connections`)).connections.length, 0);
  } finally {
    await client.close().catch(() => undefined);
    await close();
  }
});

test('a client argument is shown by its shape unless the application opts in', async (t) => {
  const { base, url, close } = await consoleServer();
  const client = await RtmpClient.connect(url, { args: ['secret-token'] });
  try {
    const id = (await json<{ connections: { id: string }[] }>(`${base}/api/connections`)).connections[0]!.id;
    const text = JSON.stringify(await json<unknown>(`${base}/api/connections/${id}/history`));
    t.false(text.includes('secret-token'));
    t.true(text.includes('"string"'));
  } finally {
    await client.close();
    await close();
  }
});

/** Sample lines of the Prometheus text format, parsed: name, labels, value; throws on a line that is neither. */
function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

test('/metrics parses as Prometheus text, labels come from the machine only, and the series do not grow with connections', async (t) => {
  const { base, url, close } = await consoleServer();
  const clients: RtmpClient[] = [];
  try {
    clients.push(await RtmpClient.connect(url));
    const one = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
    const connected = one.find((s) => s.name === 'rxrtmp_connections' && s.labels.state === 'connected');
    t.is(connected?.value, 1);
    t.true(one.some((s) => s.name === 'rxrtmp_connections_accepted_total' && s.value === 1));
    t.true(one.some((s) => s.name === 'rxrtmp_state_transitions_total' && s.labels.from === 'authorizing' && s.labels.to === 'connected' && s.value === 1));
    t.true(one.some((s) => s.name === 'rxrtmp_handshake_duration_seconds_count' && s.value === 1));
    t.true(one.some((s) => s.name === 'rxrtmp_received_bytes_total' && s.value > 3073));
    t.true(one.some((s) => s.name === 'process_cpu_user_seconds_total'));
    t.true(one.some((s) => s.name === 'nodejs_eventloop_lag_seconds'));
    for (let i = 0; i < 4; i++) clients.push(await RtmpClient.connect(url));
    const five = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
    t.is(five.find((s) => s.name === 'rxrtmp_connections' && s.labels.state === 'connected')?.value, 5);
    const series = (samples: typeof one): string[] => samples.filter((s) => s.name.startsWith('rxrtmp_')).map((s) => `${s.name}${JSON.stringify(s.labels)}`).sort();
    t.deepEqual(series(five), series(one));
    const states = new Set(['handshake', 'awaitingConnect', 'authorizing', 'connected', 'streaming', 'closing', 'closed']);
    for (const s of five.filter((x) => x.name.startsWith('rxrtmp_'))) for (const [k, v] of Object.entries(s.labels)) if (k !== 'le') t.true(states.has(v), `${s.name} ${k}=${v}`);
  } finally {
    for (const c of clients) await c.close();
    await close();
  }
});

test('the inspector feed sends msgpack frames: everything first, then changes', async (t) => {
  const { base, url, close } = await consoleServer();
  const socket = new WebSocket(`${base.replace('http', 'ws')}/api/inspect`);
  const frames: { type: string; counts?: Record<string, number>; rows?: { id: string; state: string }[]; removed?: string[] }[] = [];
  socket.on('message', (data: Buffer) => frames.push(packr.unpack(data)));
  try {
    await until(() => frames.length > 0);
    t.is(frames[0]!.type, 'hello');
    t.is(frames[0]!.counts?.connected, 0);
    const client = await RtmpClient.connect(url);
    await until(() => frames.some((f) => f.type === 'delta' && f.counts?.connected === 1), 2000);
    const delta = frames.find((f) => f.type === 'delta' && f.counts?.connected === 1)!;
    t.is(delta.rows?.[0]?.state, 'connected');
    await client.close();
    await until(() => frames.some((f) => f.type === 'delta' && (f.removed?.length ?? 0) === 1), 3000);
    socket.send(Buffer.from('text'), { binary: false });
    await new Promise((resolve) => socket.once('close', resolve));
    t.pass();
  } finally {
    socket.terminate();
    await close();
  }
});

test('a live stream plays as HTTP-FLV (ffprobe reads H.264 and AAC) and is listed with its codecs; a stream that is not live is 404', async (t) => {
  const { base, url, close } = await consoleServer();
  const ffmpeg = ffmpegPublisher(`${url}/cam`);
  try {
    t.is((await fetch(`${base}/live/nothing.flv`)).status, 404);
    type Stream = { app: string; name: string; videoCodec: string | null; audioCodec: string | null; width: number | null; publisher: string | null };
    const deadline = Date.now() + 15_000;
    let stream: Stream | undefined;
    while (Date.now() < deadline) {
      const response = await fetch(`${base}/api/streams/live/cam`);
      if (response.status === 200) stream = (await response.json()) as Stream;
      if (stream?.width) break;
      await delay(200);
    }
    t.like(stream, { app: 'live', name: 'cam', width: 320 });
    t.regex(String(stream?.videoCodec), /avc|h264/i);
    t.truthy(stream?.publisher);
    const probe = await new Promise<string>((resolve, reject) =>
      execFile('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width', '-of', 'csv=p=0', `${base}/live/cam.flv`], { timeout: 15_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    t.regex(probe, /h264,320/);
    t.regex(probe, /aac/);
  } finally {
    ffmpeg.kill('SIGKILL');
    await close();
  }
});

test('a malformed request or upgrade is refused with 400 and logged; the server goes on', async (t) => {
  const { server, registry } = await liveServer();
  const lines: string[] = [];
  const logger = { debug: () => undefined, info: () => undefined, warn: (line: string) => void lines.push(line), error: (line: string) => void lines.push(line) };
  const web = createWebServer(server, { live: registry, logger });
  const { port } = await web.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${port}`;
  try {
    t.is((await fetch(`${base}/api/streams/%E0%A4%A/x`)).status, 400);
    const { connect } = await import('node:net');
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('GET http://[ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    t.regex(answer, /^HTTP\/1\.1 400/);
    t.true(lines.some((l) => /upgrade .* refused/.test(l)), lines.join('\n'));
    t.true(lines.some((l) => /refused: URI malformed/.test(l)), lines.join('\n'));
    t.is((await fetch(`${base}/healthz`)).status, 200);
  } finally {
    await web.close();
    await server.close();
  }
});

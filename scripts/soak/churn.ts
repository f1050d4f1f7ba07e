/**
 * The soak's traffic: actors that come and go against one server for as long as the
 * soak runs. Each actor is a loop; `stop()` ends every loop at its next step and
 * waits for it to let go of what it holds, so the server should end with nothing open.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { request } from 'node:http';
import { connect, createConnection, Socket } from 'node:net';
import { WebSocket } from 'ws';
import { RtmpClient } from '../../lib';
import type { ClientStream } from '../../lib/client';
import { recordedMedia } from '../../specs/helpers/live';

export interface ChurnTarget {
  rtmpPort: number;
  httpPort: number;
}

/** How much of each kind of traffic runs at once. */
export interface ChurnShape {
  publishers: number;
  players: number;
  /** Connect, call, create and delete a stream, leave: loops running back to back. */
  callers: number;
  /** Real peers: ffmpeg publishing and rtmpdump / ffprobe playing it. */
  realPeers: boolean;
  /** HTTP-FLV and WebSocket-FLV viewers, console API polls, inspector subscribers. */
  web: number;
  /** Peers that send garbage or stall and are then dropped. */
  hostile: number;
  /** Players of the server-rendered demo scene (Screen Video encoded while watched). */
  rendered: number;
}

/** What the actors did, counted as they did it. */
export interface ChurnCounts {
  connections: number;
  publishes: number;
  plays: number;
  calls: number;
  abrupt: number;
  realPeers: number;
  webViewers: number;
  apiPolls: number;
  hostile: number;
  renderedPlays: number;
  mediaMessagesReceived: number;
  /** Things that went wrong on the client side that should not have (refused play of a live stream…). */
  failures: string[];
}

const random = (from: number, to: number): number => from + Math.random() * (to - from);
const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];
/** The recording's span, to loop it with rising timestamps. */
const LOOP_MS = recordedMedia[recordedMedia.length - 1]!.timestamp + 40;

export class Churn {
  readonly counts: ChurnCounts = { connections: 0, publishes: 0, plays: 0, calls: 0, abrupt: 0, realPeers: 0, webViewers: 0, apiPolls: 0, hostile: 0, renderedPlays: 0, mediaMessagesReceived: 0, failures: [] };
  /** Names being published right now, for players to choose from. */
  private readonly live = new Set<string>();
  private readonly loops: Promise<void>[] = [];
  private readonly stopping = new AbortController();
  private sequence = 0;

  constructor(
    private readonly target: ChurnTarget,
    private readonly shape: ChurnShape,
  ) {
    // Every pausing actor listens for the stop at once.
    setMaxListeners(0, this.stopping.signal);
  }

  get running(): boolean {
    return !this.stopping.signal.aborted;
  }

  start(): void {
    const run = (count: number, loop: (slot: number) => Promise<void>): void => {
      for (let slot = 0; slot < count; slot++) this.loops.push(this.forever(() => loop(slot)));
    };
    run(this.shape.publishers, () => this.publishOnce());
    run(this.shape.players, (slot) => this.playOnce(slot % 4 === 3));
    run(this.shape.callers, () => this.callOnce());
    run(this.shape.web, (slot) => (slot % 3 === 0 ? this.pollOnce() : this.watchFlvOnce(slot % 3 === 2)));
    run(this.shape.hostile, () => this.hostileOnce());
    run(this.shape.rendered, () => this.renderedOnce());
    if (this.shape.realPeers) run(1, () => this.realPeersOnce());
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.loops);
  }

  /** Resolves after `ms`, or at once when the soak stops. */
  private pause(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      const signal = this.stopping.signal;
      signal.addEventListener('abort', done);
    });
  }

  private async forever(step: () => Promise<void>): Promise<void> {
    // Spread the actors' starts, so that they do not move in step.
    await this.pause(random(0, 2_000));
    while (this.running) {
      try {
        await step();
      } catch (error) {
        // A refusal under churn (the stream just ended) is expected; anything else is noted.
        const message = error instanceof Error ? error.message : String(error);
        if (!/not found|unpublish|closed|ECONNRESET|EPIPE|timed out/i.test(message)) this.note(message);
      }
      await this.pause(random(100, 1_000));
    }
  }

  private note(failure: string): void {
    if (this.counts.failures.length < 50) this.counts.failures.push(failure);
  }

  /** A client over a socket of our own, so that it can also leave without a goodbye. */
  private async client(app: string, websocket = false): Promise<{ client: RtmpClient; drop(): Promise<void> }> {
    this.counts.connections++;
    if (websocket) {
      const client = await RtmpClient.connect(`ws://127.0.0.1:${this.target.httpPort}/rtmp/${app}`);
      return { client, drop: () => client.close() };
    }
    const socket = createConnection({ host: '127.0.0.1', port: this.target.rtmpPort });
    socket.setNoDelay(true);
    const client = await RtmpClient.connectOver(socket, `rtmp://127.0.0.1:${this.target.rtmpPort}/${app}`);
    const abrupt = Math.random() < 0.3;
    return {
      client,
      drop: async () => {
        if (abrupt) {
          this.counts.abrupt++;
          socket.destroy();
          await client.closed;
        } else await client.close();
      },
    };
  }

  /** Publishes the recording in real time, looped, for 10–60 s; one publish in five records. */
  private async publishOnce(): Promise<void> {
    const name = `soak-${++this.sequence}`;
    const { client, drop } = await this.client('live');
    try {
      const stream = await client.createStream();
      await stream.publish(name, Math.random() < 0.2 ? 'record' : 'live');
      this.counts.publishes++;
      this.live.add(name);
      await this.sendFor(stream, random(10_000, 60_000));
    } finally {
      this.live.delete(name);
      await drop();
    }
  }

  private async sendFor(stream: ClientStream, ms: number): Promise<void> {
    const started = Date.now();
    let index = 0;
    let round = 0;
    while (this.running && Date.now() - started < ms) {
      const due = Date.now() - started;
      for (;;) {
        const message = recordedMedia[index]!;
        const at = message.timestamp + round * LOOP_MS;
        if (at > due) break;
        // The metadata once, at the start; the rest every round.
        if (round === 0 || message.typeId !== 18) stream.sendMedia({ typeId: message.typeId, timestamp: at, payload: message.payload });
        if (++index === recordedMedia.length) {
          index = 0;
          round++;
        }
      }
      await this.pause(40);
    }
  }

  /** Plays a live stream for 2–20 s; one player in four over WebSocket. */
  private async playOnce(websocket: boolean): Promise<void> {
    const name = pick([...this.live]);
    if (name === undefined) return this.pause(500);
    const { client, drop } = await this.client('live', websocket);
    try {
      const stream = await client.createStream();
      stream.media$.subscribe(() => this.counts.mediaMessagesReceived++);
      await stream.play(name);
      this.counts.plays++;
      await this.pause(random(2_000, 20_000));
    } finally {
      await drop();
    }
  }

  private async callOnce(): Promise<void> {
    const { client, drop } = await this.client('demo');
    try {
      const answer = await client.call('echo', 'soak', this.counts.calls);
      if (!Array.isArray(answer) || answer[0] !== 'soak') this.note(`echo answered ${JSON.stringify(answer)}`);
      this.counts.calls++;
      const stream = await client.createStream();
      stream.close();
    } finally {
      await drop();
    }
  }

  /** The rendered scene, watched for 3–15 s: its encoder starts with the first player and stops after the last. */
  private async renderedOnce(): Promise<void> {
    const { client, drop } = await this.client('demo');
    try {
      const stream = await client.createStream();
      stream.media$.subscribe(() => this.counts.mediaMessagesReceived++);
      await stream.play('scene');
      this.counts.renderedPlays++;
      await this.pause(random(3_000, 15_000));
    } finally {
      await drop();
    }
    await this.pause(random(2_000, 10_000));
  }

  /** The console's API and metrics, as a dashboard polls them. */
  private async pollOnce(): Promise<void> {
    for (const path of ['/api/connections', '/api/streams', '/metrics', '/healthz']) {
      await this.get(path);
      this.counts.apiPolls++;
    }
    // An inspector subscriber for a moment: it receives every connection's events.
    const inspector = new WebSocket(`ws://127.0.0.1:${this.target.httpPort}/api/inspect`);
    inspector.on('error', () => undefined);
    await this.pause(random(1_000, 5_000));
    inspector.terminate();
  }

  private get(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const call = request({ host: '127.0.0.1', port: this.target.httpPort, path }, (response) => {
        response.resume();
        response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`GET ${path}: ${response.statusCode}`))));
      });
      call.on('error', reject);
      call.end();
    });
  }

  /** An HTTP-FLV or WebSocket-FLV viewer of a live stream for 2–10 s. */
  private async watchFlvOnce(websocket: boolean): Promise<void> {
    const name = pick([...this.live]);
    if (name === undefined) return this.pause(500);
    this.counts.webViewers++;
    if (websocket) {
      const viewer = new WebSocket(`ws://127.0.0.1:${this.target.httpPort}/live/${name}.flv`);
      viewer.on('error', () => undefined);
      await this.pause(random(2_000, 10_000));
      viewer.terminate();
      return;
    }
    const viewer = request({ host: '127.0.0.1', port: this.target.httpPort, path: `/live/${name}.flv` }, (response) => response.resume());
    viewer.on('error', () => undefined);
    viewer.end();
    await this.pause(random(2_000, 10_000));
    viewer.destroy();
  }

  /** Garbage after the handshake byte, a handshake that stops halfway, or a chunk that never ends. */
  private async hostileOnce(): Promise<void> {
    this.counts.hostile++;
    const socket: Socket = connect(this.target.rtmpPort, '127.0.0.1');
    socket.on('error', () => undefined);
    const kind = Math.floor(Math.random() * 3);
    if (kind === 0) socket.write(Buffer.concat([Buffer.of(3), Buffer.alloc(1536, 7), Buffer.from(Array.from({ length: 4096 }, () => Math.floor(Math.random() * 256)))]));
    else if (kind === 1) socket.write(Buffer.concat([Buffer.of(3), Buffer.alloc(700)]));
    else socket.write(Buffer.of(6));
    await this.pause(random(1_000, 8_000));
    socket.destroy();
  }

  /** ffmpeg publishes for 20–60 s; rtmpdump and ffprobe come and go while it does. */
  private async realPeersOnce(): Promise<void> {
    const name = `ffmpeg-${++this.sequence}`;
    const url = `rtmp://127.0.0.1:${this.target.rtmpPort}/live/${name}`;
    const seconds = Math.round(random(20, 60));
    const ffmpeg = spawn('ffmpeg', ['-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-t', String(seconds), '-f', 'flv', url], { stdio: 'ignore' });
    this.counts.realPeers++;
    const ended = exited(ffmpeg);
    try {
      await this.pause(3_000);
      this.live.add(name);
      while (this.running && ffmpeg.exitCode === null) {
        const player = Math.random() < 0.5 ? spawn('rtmpdump', ['-q', '-v', '-r', url, '-o', '/dev/null'], { stdio: 'ignore' }) : spawn('ffprobe', ['-v', 'error', '-show_streams', url], { stdio: 'ignore' });
        this.counts.realPeers++;
        await Promise.race([exited(player), this.pause(random(3_000, 10_000))]);
        player.kill('SIGKILL');
        await exited(player);
        await this.pause(1_000);
      }
    } finally {
      this.live.delete(name);
      if (ffmpeg.exitCode === null) ffmpeg.kill(Math.random() < 0.5 ? 'SIGKILL' : 'SIGTERM');
      await ended;
    }
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

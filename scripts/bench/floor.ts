/**
 * The floor of any Node.js relay: what moving the streams scenario's bytes through Node.js
 * sockets costs when nothing is parsed. A child process relays each source socket's reads
 * to that source's sink sockets, one write per read per sink (what a relay that sends
 * each message as it arrives does); this process plays S sources writing at the clip's
 * measured byte rate in ffmpeg's pattern (about 110 writes a second) and S x P sinks that
 * read and discard. Measured like the servers: the relay's CPU over a window after the
 * same warm-up, over the bytes its sockets moved (`ss`).
 *
 * It answers "how close to what the bytes cost" with a number taken on the same machine
 * in the same run: a server can not go below it without leaving Node.js's socket layer.
 */
import { spawn } from 'node:child_process';
import { connect, Socket } from 'node:net';
import { measureWindow, StreamsOptions, StreamsResult } from './streams';
import { sleep } from './proc';

export const FLOOR_NAME = 'Node.js relay floor';

// Plain JavaScript run with `node -e`: no ts-node, nothing of rxrtmp, just sockets.
const RELAY = `'use strict';
const net = require('net');
const sinks = new Map();
const list = (id) => { let l = sinks.get(id); if (!l) { l = []; sinks.set(id, l); } return l; };
const server = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.once('data', (first) => {
    const targets = list(first[1]);
    if (first[0] === 0x53) socket.on('data', (data) => { for (const sink of targets) sink.write(data); });
    else { targets.push(socket); socket.on('data', () => {}); }
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;

/** The clip's nominal rate, 2.6 Mbit/s, for when no publisher was measured. */
export const CLIP_BYTES_PER_SECOND = 325_000;

/** ffmpeg's publisher writes, counted over a 2.6 Mbit/s clip: about 110 a second. */
const WRITES_PER_SECOND = 110;

export interface FloorOptions extends StreamsOptions {
  /** One source's bytes per second; the clip's measured rate when known. */
  bytesPerSecond: number;
}

export async function runFloor(options: FloorOptions): Promise<StreamsResult> {
  const relay = spawn(process.execPath, ['-e', RELAY], { stdio: ['ignore', 'pipe', 'inherit'] });
  const sockets: Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      relay.stdout.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
      relay.once('exit', () => reject(new Error('the floor relay exited')));
    });
    const open = (kind: 'S' | 'K', id: number): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(Buffer.from([kind.charCodeAt(0), id]));
          resolve(socket);
        });
        socket.on('error', reject);
        if (kind === 'K') socket.on('data', () => {});
        sockets.push(socket);
      });
    for (let i = 0; i < options.streams; i++) for (let p = 0; p < options.playersPerStream; p++) await open('K', i);
    await sleep(200);
    const perWrite = Math.round(options.bytesPerSecond / WRITES_PER_SECOND);
    for (let i = 0; i < options.streams; i++) {
      const source = await open('S', i);
      const payload = Buffer.alloc(perWrite, 0x78);
      // Paced by elapsed time, so a late timer catches up as ffmpeg's reads of a file would.
      const startedAt = Date.now();
      let written = 0;
      timers.push(
        setInterval(() => {
          const due = Math.floor(((Date.now() - startedAt) / 1000) * WRITES_PER_SECOND);
          for (; written < due; written++) source.write(payload);
        }, 1000 / WRITES_PER_SECOND),
      );
      await sleep(150);
    }
    const warmupSeconds = Math.max(3, options.warmupSeconds ?? 30);
    await sleep(warmupSeconds * 1000);
    const figures = await measureWindow(relay.pid!, port, options.seconds);
    const sinks = options.streams * options.playersPerStream;
    return {
      server: FLOOR_NAME,
      streams: options.streams,
      playersPerStream: options.playersPerStream,
      publishersAlive: options.streams,
      connected: sinks,
      warmupSeconds,
      ...figures,
      keptRealTime: sinks,
      players: sinks,
      // No RTMP, so no probe stream.
      relayMedianMs: Number.NaN,
      relayP95Ms: Number.NaN,
    };
  } finally {
    for (const timer of timers) clearInterval(timer);
    for (const socket of sockets) socket.destroy();
    relay.kill('SIGKILL');
  }
}

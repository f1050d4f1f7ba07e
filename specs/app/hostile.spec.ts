import test from 'ava';
import { spawn } from 'node:child_process';
import { connect, Socket } from 'node:net';
import { join } from 'node:path';
import { RtmpClient } from '../../lib';
import { MessageType, RtmpMessage } from '../../lib/protocol/message';
import { rssBytes } from '../../scripts/bench/proc';
import { delay, recordedMedia } from '../helpers/live';
import { RawPeer } from '../helpers/raw-peer';

const HOSTILE = { slowHandshakes: 334, partialChunks: 333, zeroWindowPlayers: 333 };
const ROUNDS = 4; // of the 4-second recording, paced in real time

/** The live server as `npm start` runs it, in a child process whose RSS is read from /proc. */
async function serverProcess(): Promise<{ pid: number; port: number; stop(): void }> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, '..', '..', 'scripts', 'bench', 'rxrtmp-server.ts'), '--port', '0', '--max-seconds', '300'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const ready = /ready (\d+)/.exec(out);
      if (ready) resolve(Number(ready[1]));
    });
    child.once('exit', () => reject(new Error('the server exited')));
  });
  return { pid: child.pid!, port, stop: () => child.kill('SIGKILL') };
}

test.serial('1000 hostile connections at once (slow handshakes, stalled partial chunks, zero-window players) leave RSS within baseline + 256 MB, and a real publisher\'s players lose no frame', async (t) => {
  t.timeout(120_000);
  const server = await serverProcess();
  const sockets: Socket[] = [];
  const peers: RawPeer[] = [];
  try {
    const url = `rtmp://127.0.0.1:${server.port}/live`;
    const source = await RtmpClient.connect(url);
    const publishing = await source.createStream();
    await publishing.publish('cam');
    const players = await Promise.all([0, 1].map(async () => {
      const client = await RtmpClient.connect(url);
      const stream = await client.createStream();
      const video: RtmpMessage[] = [];
      stream.media$.subscribe((m) => m.typeId === MessageType.Video && video.push(m));
      await stream.play('cam');
      return { client, video };
    }));
    await delay(500);
    const baseline = rssBytes(server.pid);

    // The hostile crowd. Slow handshakes: one byte now and one every 10 s.
    for (let i = 0; i < HOSTILE.slowHandshakes; i++) {
      const socket = connect(server.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(Buffer.of(3));
      sockets.push(socket);
    }
    const drip = setInterval(() => sockets.forEach((s) => s.writable && s.write(Buffer.of(0))), 10_000);
    // Stalled partial chunks: connected, then a message that promises 1 MB and stops after a chunk.
    for (let i = 0; i < HOSTILE.partialChunks; i++) {
      const peer = await RawPeer.connected(server.port, 'live');
      const header = Buffer.alloc(12);
      header[0] = 8;
      header.writeUIntBE(1_000_000, 4, 3);
      header[7] = MessageType.Video;
      peer.socket.write(Buffer.concat([header, Buffer.alloc(128)]));
      peers.push(peer);
    }
    // Zero-window players: they play the real stream and never read a byte.
    for (let i = 0; i < HOSTILE.zeroWindowPlayers; i++) {
      const peer = await RawPeer.connected(server.port, 'live');
      peer.command({ name: 'createStream', transactionId: 2, commandObject: null, args: [] });
      await peer.waitFor((c) => c.transactionId === 2);
      peer.command({ name: 'play', transactionId: 0, commandObject: null, args: ['cam'] }, 1);
      peer.socket.pause();
      peers.push(peer);
    }

    // The real publisher, in real time, while the crowd sits there.
    let sent = 0;
    let peak = 0;
    const started = Date.now();
    for (let round = 0; round < ROUNDS; round++) {
      for (const message of recordedMedia) {
        const due = started + round * 4000 + message.timestamp;
        if (due > Date.now()) await delay(due - Date.now());
        publishing.sendMedia({ typeId: message.typeId, timestamp: message.timestamp + round * 4000, payload: message.payload });
        if (message.typeId === MessageType.Video) sent++;
        peak = Math.max(peak, rssBytes(server.pid));
      }
    }
    await delay(1000);
    clearInterval(drip);
    const growthMB = (peak - baseline) / 2 ** 20;
    t.log(`server RSS baseline ${(baseline / 2 ** 20).toFixed(0)} MB, peak ${(peak / 2 ** 20).toFixed(0)} MB (+${growthMB.toFixed(0)} MB) with ${sockets.length + peers.length} hostile connections; ${sent} video messages sent`);
    t.true(growthMB < 256, `RSS grew ${growthMB.toFixed(0)} MB`);
    for (const [i, p] of players.entries()) t.is(p.video.length, sent, `player ${i} got every video message`);
    await Promise.all([source, ...players.map((p) => p.client)].map((c) => c.close()));
  } finally {
    for (const s of sockets) s.destroy();
    for (const p of peers) p.destroy();
    server.stop();
  }
});

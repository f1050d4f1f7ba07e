/**
 * Load client (its own process): COUNT players of one live stream on 127.0.0.1:PORT, each
 * with the simple handshake, `connect`, `createStream` and `play`, then reading what the
 * server sends and keeping, per player, its media time. A thousand rtmpdump processes
 * would need more CPU than this machine has; one process of these costs a fraction of a
 * core.
 *
 *   play-clients.ts --port N --stream NAME [--count 1000] [--concurrency 50] [--seconds 20] [--timeout 60]
 *
 * A line `done` on stdin ends the run early. A line `mark` on stdin is answered with `{"event":"mark","bytes":…}`: what the players have
 * received so far. Prints `{"event":"requested"}` once every player has sent `play` (so a publisher started
 * after it finds them all waiting), `{"event":"playing",…}` once every player has media (or --timeout passed), then
 * plays --seconds more and prints `{"event":"done",…}`: per player the media seconds it got
 * over the wall seconds since its first media, and whether that kept real time (>= 0.9).
 */
import { createConnection, Socket } from 'node:net';
import { parseRtmpUrl } from '../../lib/client/url';
import { connectingReader } from './raw-client';
import { ChunkDecoder } from '../../lib/protocol/chunk/decoder';
import { ChunkEncoder } from '../../lib/protocol/chunk/encoder';
import type { AmfValue } from '../../lib/protocol/amf/values';
import { decodeCommand, encodeCommand } from '../../lib/protocol/commands';
import { decodeControl, encodeControl } from '../../lib/protocol/control';
import { ChunkStreamIds, MessageType, RtmpMessage } from '../../lib/protocol/message';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] ?? fallback : fallback;
}

const port = Number(flag('--port', '1935'));
const streamName = flag('--stream', 'bench');
const count = Math.min(5000, Number(flag('--count', '1000')));
const concurrency = Number(flag('--concurrency', '50'));
const seconds = Math.min(300, Number(flag('--seconds', '20')));
const timeoutMs = Number(flag('--timeout', '60')) * 1000;
const target = parseRtmpUrl(`rtmp://127.0.0.1:${port}/live`);

class Playing {
  socket: Socket | undefined;
  /** Set once `play` is sent: the player waits for the stream from then on. */
  requested = false;
  firstMediaAt: number | undefined;
  firstTime: number | undefined;
  lastTime = 0;
  bytes = 0;
  closed = false;

  get mediaSeconds(): number {
    return this.firstTime === undefined ? 0 : (this.lastTime - this.firstTime) / 1000;
  }
}

const players: Playing[] = [];

let requestedAnnounced = false;
/** Announces, once, that every player has asked to play: a stream started after this finds them all waiting. */
function onRequested(): void {
  if (requestedAnnounced || players.length < count || players.some((p) => !p.requested)) return;
  requestedAnnounced = true;
  process.stdout.write(`${JSON.stringify({ event: 'requested', count })}\n`);
}

/** One player through play; `requested` settles once play is sent, the promise at its first media message. */
function playOne(player: Playing, requested: { resolve(): void; reject(error: Error): void }): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error): void => {
      requested.reject(error);
      reject(error);
    };
    const socket = createConnection({ host: '127.0.0.1', port });
    player.socket = socket;
    const encoder = new ChunkEncoder();
    const send = (message: RtmpMessage): void => void socket.write(encoder.encode(message));
    const command = (name: string, transactionId: number, streamId: number, args: AmfValue[]): void => {
      const { typeId, payload } = encodeCommand({ name, transactionId, commandObject: null, args }, 0);
      send({ chunkStreamId: streamId === 0 ? ChunkStreamIds.command : 8, timestamp: 0, typeId, streamId, payload });
    };
    let settled = false;
    const onMessage = (message: RtmpMessage): void => {
      if (message.typeId === MessageType.Video || message.typeId === MessageType.Audio) {
        player.lastTime = message.timestamp;
        if (player.firstTime === undefined) {
          player.firstTime = message.timestamp;
          player.firstMediaAt = performance.now();
          settled = true;
          resolve();
        }
        return;
      }
      if (message.typeId === MessageType.CommandAmf0) {
        const answer = decodeCommand(message.typeId, message.payload);
        if (answer.name === '_result' && answer.transactionId === 1) command('createStream', 2, 0, []);
        else if (answer.name === '_result' && answer.transactionId === 2) {
          const id = Number(answer.args[0]);
          command('play', 0, id, [streamName, -1]);
          player.requested = true;
          requested.resolve();
          onRequested();
        } else if (answer.name === '_error') fail(new Error(`${answer.name} to transaction ${answer.transactionId}`));
      } else if (message.typeId === MessageType.UserControl) {
        const control = decodeControl(message.typeId, message.payload);
        if (control.kind === 'pingRequest') send(encodeControl({ kind: 'pingResponse', timestamp: control.timestamp }));
      }
    };
    const decoder = new ChunkDecoder(onMessage, { maxMessageSize: 16 * 1024 * 1024, maxPendingBytes: 64 * 1024 * 1024 });
    const read = connectingReader(socket, target, decoder, send);
    socket.on('data', (data: Buffer) => {
      player.bytes += data.length;
      try {
        read(data);
      } catch (error) {
        socket.destroy();
        if (!settled) fail(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!settled) fail(new Error(error.code ?? error.message));
    });
    socket.on('close', () => {
      player.closed = true;
      if (!settled) fail(new Error('closed by the server'));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
let finish: () => void = () => undefined;
/** "done" on stdin ends the run before --seconds. */
const finishRequested = new Promise<void>((resolve) => (finish = resolve));

async function main(): Promise<void> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const errors = new Map<string, number>();
  let next = 0;
  const counted = (error: unknown): void => {
    const key = error instanceof Error ? error.message : String(error);
    errors.set(key, (errors.get(key) ?? 0) + 1);
  };
  const timeout = (): Promise<never> => sleep(Math.max(1, deadline - Date.now())).then(() => Promise.reject(new Error('timeout')));
  const media: Array<Promise<void>> = [];
  // A slot is free again once its player has asked to play: players of a stream that has
  // not started yet all wait for it together instead of 50 at a time.
  const worker = async (): Promise<void> => {
    while (next < count && Date.now() < deadline) {
      const player = new Playing();
      players[next++] = player;
      let slot!: { resolve(): void; reject(error: Error): void };
      const requested = new Promise<void>((resolve, reject) => (slot = { resolve, reject }));
      const first = playOne(player, slot);
      media.push(Promise.race([first, timeout()]).catch(counted));
      await Promise.race([requested, timeout()]).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  await Promise.all(media);
  const withMedia = players.filter((p) => p.firstMediaAt !== undefined).length;
  const cpu = process.cpuUsage();
  const playingAt = performance.now();
  process.stdout.write(`${JSON.stringify({ event: 'playing', count, withMedia, ms: Date.now() - started, errors: Object.fromEntries(errors) })}\n`);
  await Promise.race([sleep(seconds * 1000), finishRequested]);
  const now = performance.now();
  // Real time: media seconds over wall seconds since its first media, less 2 s for the GOP burst at the start.
  const ratios = players.map((p) => (p.firstMediaAt === undefined || p.closed ? 0 : p.mediaSeconds / Math.max(0.1, (now - p.firstMediaAt) / 1000 - 2)));
  const sorted = [...ratios].sort((a, b) => a - b);
  const used = process.cpuUsage(cpu);
  process.stdout.write(
    `${JSON.stringify({
      event: 'done',
      count,
      withMedia,
      open: players.filter((p) => !p.closed).length,
      keptRealTime: ratios.filter((r) => r >= 0.9).length,
      medianRatio: sorted[Math.floor(sorted.length / 2)] ?? 0,
      lowestRatio: sorted[0] ?? 0,
      receivedMB: players.reduce((sum, p) => sum + p.bytes, 0) / 1e6,
      clientCpuMsPerSecond: (used.user + used.system) / (now - playingAt),
    })}\n`,
  );
  for (const p of players) p.socket?.destroy();
  process.exit(0);
}

process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
// "mark" on stdin: the bytes every player has received so far, so that a caller can count
// what was delivered over a window of its own choosing, as the players saw it.
let marks = 0;
process.stdin.on('data', (data: Buffer) => {
  for (const line of data.toString().split('\n')) {
    if (line.trim() === 'done') finish();
    if (line.trim() !== 'mark') continue;
    const bytes = players.reduce((sum, p) => sum + (p?.bytes ?? 0), 0);
    process.stdout.write(`${JSON.stringify({ event: 'mark', mark: ++marks, bytes })}\n`);
  }
});
process.stdin.resume();
main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

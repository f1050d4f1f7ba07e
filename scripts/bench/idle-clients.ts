/**
 * Load client (its own process): opens COUNT TCP connections to 127.0.0.1:PORT, on each
 * the simple handshake and `connect` to app `live`, then holds them idle.
 *
 *   idle-clients.ts --port N [--count 2000] [--concurrency 100] [--timeout 60] [--hold 60]
 *
 * Built on lib/protocol alone (handshake, chunk codec, AMF commands): a few KB per
 * connection, so its own cost stays out of the way. Prints one JSON line when every
 * connection has its answer (or failed, or --timeout passed), then holds until stdin
 * closes, SIGTERM, or --hold seconds, and exits.
 */
import { createConnection, Socket } from 'node:net';
import { parseRtmpUrl } from '../../lib/client/url';
import { connectingReader } from './raw-client';
import { ChunkDecoder } from '../../lib/protocol/chunk/decoder';
import { ChunkEncoder } from '../../lib/protocol/chunk/encoder';
import { decodeCommand } from '../../lib/protocol/commands';
import { decodeControl, encodeControl } from '../../lib/protocol/control';
import { MessageType, RtmpMessage } from '../../lib/protocol/message';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const value = at >= 0 ? Number(process.argv[at + 1]) : NaN;
  return Number.isFinite(value) ? value : fallback;
}

const port = flag('--port', 1935);
const count = flag('--count', 2000);
const concurrency = flag('--concurrency', 100);
const timeoutMs = flag('--timeout', 60) * 1000;
const holdMs = flag('--hold', 60) * 1000;
const target = parseRtmpUrl(`rtmp://127.0.0.1:${port}/live`);

const sockets: Socket[] = [];
const errors = new Map<string, number>();

/** One connection through connect's `_result`; resolves with the elapsed ms, rejects on anything else. */
function openOne(perConnectionTimeout: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = createConnection({ host: '127.0.0.1', port });
    sockets.push(socket);
    const encoder = new ChunkEncoder();
    let settled = false;
    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        socket.destroy();
        reject(error);
      } else resolve(Date.now() - started);
    };
    const timer = setTimeout(() => settle(new Error('timeout')), perConnectionTimeout);
    const send = (message: RtmpMessage): void => void socket.write(encoder.encode(message));
    const onMessage = (message: RtmpMessage): void => {
      if (message.typeId === MessageType.CommandAmf0) {
        const command = decodeCommand(message.typeId, message.payload);
        if (command.transactionId === 1 && command.name === '_result') settle();
        else if (command.transactionId === 1 && command.name === '_error') settle(new Error('connect _error'));
      } else if (message.typeId === MessageType.UserControl) {
        const control = decodeControl(message.typeId, message.payload);
        // Idle, but alive: servers that ping get their answer.
        if (control.kind === 'pingRequest') send(encodeControl({ kind: 'pingResponse', timestamp: control.timestamp }));
      }
    };
    const decoder = new ChunkDecoder(onMessage);
    const read = connectingReader(socket, target, decoder, send);
    socket.on('data', (data: Buffer) => {
      try {
        read(data);
      } catch (error) {
        settle(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => settle(new Error(error.code ?? error.message)));
    socket.on('close', () => settle(new Error('closed by the server')));
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const cpuAtStart = process.cpuUsage();
  const deadline = started + timeoutMs;
  const times: number[] = [];
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < count && Date.now() < deadline) {
      next++;
      try {
        times.push(await openOne(Math.max(1, deadline - Date.now())));
      } catch (error) {
        failed++;
        const key = error instanceof Error ? error.message : String(error);
        errors.set(key, (errors.get(key) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const sorted = [...times].sort((a, b) => a - b);
  const open = sockets.filter((s) => !s.destroyed).length;
  process.stdout.write(
    `${JSON.stringify({
      event: 'connected',
      count,
      connected: times.length,
      failed,
      open,
      ms: Date.now() - started,
      medianConnectMs: sorted[Math.floor(sorted.length / 2)] ?? null,
      p95ConnectMs: sorted[Math.floor(sorted.length * 0.95)] ?? null,
      errors: Object.fromEntries(errors),
      clientRssMB: Math.round(process.memoryUsage().rss / 1e6),
      clientCpuMs: Math.round((process.cpuUsage(cpuAtStart).user + process.cpuUsage(cpuAtStart).system) / 1000),
    })}\n`,
  );
  const stop = (): void => {
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  setTimeout(stop, holdMs);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

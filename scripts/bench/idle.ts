/**
 * Many idle connections: idle-clients.ts in its own process opens COUNT connections
 * (handshake + connect), and the server's memory and CPU are read before, after and
 * while they sit idle.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Peer } from './peers';
import { sample, sleep } from './proc';

export interface IdleResult {
  server: string;
  count: number;
  connected: number;
  failed: number;
  /** Still open when the last answer came. */
  open: number;
  /** From the first connection attempt to the last connect `_result`. */
  allConnectedMs: number;
  medianConnectMs: number | null;
  p95ConnectMs: number | null;
  concurrency: number;
  rssBeforeMB: number;
  rssAfterMB: number;
  memoryPerConnectionKB: number;
  /** RSS growth per connection less V8's young-generation growth (equal to the above for nginx). */
  memoryPerConnectionBeyondYoungKB: number;
  /** Growth of the heap that is live after a full collection, per connection (Node.js servers). */
  liveHeapPerConnectionKB: number;
  /** Server CPU spent accepting all of them, per connection. */
  cpuMsPerConnect: number;
  /** The load client's own CPU for the connect phase, per connection (it shares the 2 cores). */
  clientCpuMsPerConnect: number;
  /** Server CPU while they sit idle. */
  idleCpuPercent: number;
  errors: Record<string, number>;
  error?: string;
}

interface ClientReport {
  event: string;
  connected: number;
  failed: number;
  open: number;
  ms: number;
  medianConnectMs: number | null;
  p95ConnectMs: number | null;
  errors: Record<string, number>;
  clientCpuMs: number;
}

const CLIENT = join(__dirname, 'idle-clients.ts');

export async function runIdle(peer: Peer, count: number, concurrency = 100, idleSeconds = 5): Promise<IdleResult> {
  const timeout = 90;
  await sleep(1_000);
  const before = sample(peer.pid);
  const memoryBefore = await peer.memory?.();
  const youngBefore = memoryBefore?.youngGeneration ?? 0;
  const script = `n=$(ulimit -n); if [ "$n" != unlimited ] && [ "$n" -lt 8192 ]; then ulimit -n 8192; fi; exec "$@"`;
  const args = ['-r', 'ts-node/register/transpile-only', CLIENT, '--port', String(peer.port), '--count', String(count), '--concurrency', String(concurrency), '--timeout', String(timeout), '--hold', '120'];
  const child = spawn('bash', ['-c', script, 'bash', process.execPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'], cwd: join(__dirname, '..', '..') });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4000)));
  const lines = createInterface({ input: child.stdout! });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const report = await new Promise<ClientReport>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no report from idle-clients within ${timeout + 30} s`)), (timeout + 30) * 1000);
      lines.on('line', (line) => {
        try {
          const parsed = JSON.parse(line) as ClientReport;
          if (parsed.event === 'connected') (clearTimeout(timer), resolve(parsed));
        } catch {
          /* not ours */
        }
      });
      void exited.then(() => (clearTimeout(timer), reject(new Error(`idle-clients exited: ${stderr.trim().slice(-400)}`))));
    });
    const connectedAt = sample(peer.pid);
    // Let the server settle (timers armed, buffers returned), then watch it idle.
    await sleep(2_000);
    const settled = sample(peer.pid);
    await sleep(idleSeconds * 1000);
    const idle = sample(peer.pid);
    const memoryIdle = await peer.memory?.();
    const youngIdle = memoryIdle?.youngGeneration ?? 0;
    return {
      server: peer.name,
      count,
      connected: report.connected,
      failed: report.failed,
      open: report.open,
      allConnectedMs: report.ms,
      medianConnectMs: report.medianConnectMs,
      p95ConnectMs: report.p95ConnectMs,
      concurrency,
      rssBeforeMB: before.rss / 1e6,
      rssAfterMB: idle.rss / 1e6,
      memoryPerConnectionKB: report.connected > 0 ? (idle.rss - before.rss) / 1024 / report.connected : NaN,
      memoryPerConnectionBeyondYoungKB: report.connected > 0 ? (idle.rss - youngIdle - (before.rss - youngBefore)) / 1024 / report.connected : NaN,
      liveHeapPerConnectionKB: ((memoryIdle?.heapUsedAfterGc ?? NaN) - (memoryBefore?.heapUsedAfterGc ?? NaN)) / 1024 / Math.max(1, report.connected),
      cpuMsPerConnect: report.connected > 0 ? (1000 * (connectedAt.cpu - before.cpu)) / report.connected : NaN,
      clientCpuMsPerConnect: report.connected > 0 ? report.clientCpuMs / report.connected : NaN,
      idleCpuPercent: (100 * (idle.cpu - settled.cpu)) / ((idle.at - settled.at) / 1000),
      errors: report.errors,
    };
  } finally {
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

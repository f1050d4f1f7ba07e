/** Readers of /proc for one process: CPU time, resident memory, bytes written; and the machine. */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

let clockTicks: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`), the unit of utime and stime. */
export function clkTck(): number {
  if (clockTicks === undefined) {
    const text = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim();
    const value = Number(text);
    clockTicks = Number.isFinite(value) && value > 0 ? value : 100;
  }
  return clockTicks;
}

/** utime + stime of the process, in seconds; children not included. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / clkTck();
}

function statusField(pid: number, name: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
  return match ? Number(match[1]) : NaN;
}

/** Resident set size (VmRSS), in bytes. */
export function rssBytes(pid: number): number {
  return statusField(pid, 'VmRSS') * 1024;
}

/**
 * Bytes the process handed to write-type system calls (/proc/PID/io `wchar`):
 * write/writev on sockets, files, pipes and terminals alike; sendto/sendmsg are not counted.
 */
export function writtenBytes(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const match = /^wchar:\s+(\d+)/m.exec(io);
  return match ? Number(match[1]) : NaN;
}

/** Read-type system calls the process has made (/proc/PID/io `syscr`): read, recv and the like. */
export function readCalls(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const match = /^syscr:\s+(\d+)/m.exec(io);
  return match ? Number(match[1]) : NaN;
}

export interface Sample {
  at: number;
  cpu: number;
  rss: number;
  written: number;
}

export function sample(pid: number): Sample {
  return { at: Date.now(), cpu: cpuSeconds(pid), rss: rssBytes(pid), written: writtenBytes(pid) };
}

/**
 * RSS of a process sampled every `everyMs` until stopped. A Node.js server's RSS rises and
 * falls with its collector's cycle by more than a few dozen players hold, so one sample
 * says more about where it fell in that cycle than about the players; a median of many does not.
 */
export function watchRss(pid: number, everyMs = 250): { stop(): number[] } {
  const values: number[] = [];
  const take = (): void => {
    // The process may exit between two samples; a timer that threw would take the bench down.
    try {
      const rss = rssBytes(pid);
      if (Number.isFinite(rss)) values.push(rss);
    } catch {
      // gone: the samples so far stand
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop(): number[] {
      clearInterval(timer);
      take();
      return values;
    },
  };
}

export function alive(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/stat`, 'utf8');
    return true;
  } catch {
    return false;
  }
}

export interface Machine {
  cpuModel: string;
  cores: number;
  node: string;
  kernel: string;
  memoryGiB: number;
}

export function machine(): Machine {
  let kernel = '';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    kernel = 'unknown';
  }
  const memTotal = /^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    kernel,
    memoryGiB: memTotal ? Math.round(Number(memTotal[1]) / 1024 / 1024) : 0,
  };
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Jiffies of the whole machine from /proc/stat: busy (all but idle and iowait) and total. */
export function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Waits (up to `limitMs`) for a second in which the machine is at most `busyPercent` busy,
 * so that a CPU-bound section does not start while the last one's processes wind down.
 * Returns how busy the last second was.
 */
export async function quietMachine(busyPercent = 15, limitMs = 20_000): Promise<number> {
  const until = Date.now() + limitMs;
  for (;;) {
    const start = machineJiffies();
    await sleep(1_000);
    const end = machineJiffies();
    const busy = (100 * (end.busy - start.busy)) / Math.max(1, end.total - start.total);
    if (busy <= busyPercent || Date.now() >= until) return busy;
  }
}

/** What one TCP socket has moved: bytes the peer acked (sent) and bytes received. */
export interface SocketCounts {
  acked: number;
  received: number;
}

/**
 * bytes_acked and bytes_received of every established TCP socket whose local port is
 * `port` (`ss -ti`), keyed by the peer's address: what the server moved at the socket
 * level, whatever system call it used (nginx-rtmp uses send(2), which wchar does not count).
 */
export function socketCounts(port: number): Promise<Map<string, SocketCounts>> {
  return new Promise((resolve) => {
    execFile('ss', ['-tinHO', 'state', 'established', `( sport = :${port} )`], { maxBuffer: 64 * 1024 * 1024, timeout: 10_000 }, (error, stdout) => {
      const counts = new Map<string, SocketCounts>();
      if (error) return resolve(counts);
      for (const line of stdout.split('\n')) {
        const fields = line.trim().split(/\s+/);
        const acked = /bytes_acked:(\d+)/.exec(line);
        const received = /bytes_received:(\d+)/.exec(line);
        // Recv-Q Send-Q Local Peer …: the peer address is the fourth field.
        if (fields.length > 3 && (acked || received)) counts.set(fields[3]!, { acked: Number(acked?.[1] ?? 0), received: Number(received?.[1] ?? 0) });
      }
      resolve(counts);
    });
  });
}

/** bytes_acked of every established socket on `port`, keyed by the peer's address (see socketCounts). */
export async function socketBytes(port: number): Promise<Map<string, number>> {
  const counts = await socketCounts(port);
  return new Map([...counts].map(([peer, c]) => [peer, c.acked]));
}

/** Bytes acked between two socketBytes readings; sockets new since the first count from zero. */
export function socketDelta(before: Map<string, number>, after: Map<string, number>): number {
  let sum = 0;
  for (const [peer, bytes] of after) sum += Math.max(0, bytes - (before.get(peer) ?? 0));
  return sum;
}

/** Bytes sent and received between two socketCounts readings; sockets new since the first count from zero. */
export function socketCountsDelta(before: Map<string, SocketCounts>, after: Map<string, SocketCounts>): SocketCounts {
  const sum = { acked: 0, received: 0 };
  for (const [peer, c] of after) {
    const was = before.get(peer);
    sum.acked += Math.max(0, c.acked - (was?.acked ?? 0));
    sum.received += Math.max(0, c.received - (was?.received ?? 0));
  }
  return sum;
}

export interface NodeMemory {
  rss: number;
  heapUsed: number;
  external: number;
  /** V8's young generation (new space and new large-object space), committed. */
  youngGeneration: number;
  /** Heap used right after a full collection (servers started with --expose-gc). */
  heapUsedAfterGc?: number;
  rssAfterGc?: number;
  /** `process.getActiveResourcesInfo()` counted by kind. */
  resources?: Record<string, number>;
}

/**
 * Asks a Node.js server started with `-r memory-probe.js` for its memory figures
 * (SIGUSR2, then a file the probe writes); undefined for other servers or on timeout.
 */
export async function nodeMemory(pid: number, timeout = 2_000): Promise<NodeMemory | undefined> {
  const path = join(tmpdir(), `rxrtmp-bench-memory-${pid}.json`);
  rmSync(path, { force: true });
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    return undefined;
  }
  for (const deadline = Date.now() + timeout; Date.now() < deadline; await sleep(20)) {
    if (!existsSync(path)) continue;
    const report = JSON.parse(readFileSync(path, 'utf8')) as NodeMemory;
    rmSync(path, { force: true });
    return report;
  }
  return undefined;
}

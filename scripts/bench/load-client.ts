/** `play-clients.ts` in a child process, and its report lines as they come. */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { sleep } from './proc';

const REPO = join(__dirname, '..', '..');

export interface LoadClientLine {
  event: string;
  [key: string]: unknown;
}

export interface LoadClient {
  child: ChildProcess;
  /** The first line of this event (and, with `match`, that shape); fails when the client exits first or `timeoutMs` passes. */
  next(event: string, timeoutMs?: number, match?: (line: LoadClientLine) => boolean): Promise<LoadClientLine>;
  /** Bytes its players have received so far. */
  received(): Promise<number>;
  /** Ends its run now: it reports `done`. */
  finish(): void;
  kill(): void;
}

export interface LoadClientOptions {
  port: number;
  stream: string;
  count: number;
  /** How long it plays after every player has media, unless `finish()` comes first. */
  seconds: number;
  /** How long its players may take to get media (s). */
  timeoutSeconds?: number;
}

export function startLoadClient(options: LoadClientOptions): LoadClient {
  // stdin is a pipe: the client exits when it closes, so it never outlives the bench.
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', join(__dirname, 'play-clients.ts'), '--port', String(options.port), '--stream', options.stream, '--count', String(options.count), '--seconds', String(options.seconds), '--timeout', String(options.timeoutSeconds ?? 90)],
    { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines: LoadClientLine[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout!.on('data', (data: Buffer) => {
    buffered += data.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) if (part.startsWith('{')) lines.push(JSON.parse(part) as LoadClientLine);
  });
  child.stderr!.on('data', (data: Buffer) => void (stderr = (stderr + data.toString()).slice(-2000)));
  const next = async (event: string, timeoutMs = Number.POSITIVE_INFINITY, match: (line: LoadClientLine) => boolean = () => true): Promise<LoadClientLine> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find((line) => line.event === event && match(line));
      if (found !== undefined) return found;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the load client gave no ${event} line: ${stderr.trim().slice(-400)}`);
      await sleep(20);
    }
  };
  let marks = 0;
  return {
    child,
    next,
    received: async () => {
      const mark = ++marks;
      child.stdin!.write('mark\n');
      return Number((await next('mark', 30_000, (line) => line.mark === mark)).bytes);
    },
    finish: () => void child.stdin!.write('done\n'),
    kill: () => void child.kill('SIGKILL'),
  };
}

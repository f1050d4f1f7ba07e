/** Runs one of the repo's own bench scripts in a child process and takes its JSON line. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './build';

export interface SubBench {
  script: string;
  status: 'ok' | 'not available' | 'failed';
  /** Its human-readable lines (everything but the JSON line). */
  output: string[];
  json: unknown;
  error?: string;
}

function isJsonObject(line: string): unknown {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function runSubBench(relative: string, timeoutSeconds = 300): Promise<SubBench> {
  const path = join(REPO, relative);
  if (!existsSync(path)) return { script: relative, status: 'not available', output: [], json: null };
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => void (stdout = (stdout + d.toString()).slice(-200_000)));
  child.stderr?.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4_000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSeconds * 1000);
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(-1));
    child.once('exit', (exitCode) => resolve(exitCode));
  });
  clearTimeout(timer);
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  let json: unknown = null;
  for (const line of lines) json = isJsonObject(line.trim()) ?? json;
  const output = lines.filter((line) => isJsonObject(line.trim()) === undefined);
  if (code !== 0 || json === null) {
    return { script: relative, status: 'failed', output, json, error: `exit ${String(code)}${code === null ? ' (killed after timeout)' : ''}: ${stderr.trim().slice(-600)}` };
  }
  return { script: relative, status: 'ok', output, json };
}

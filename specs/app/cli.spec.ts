import test from 'ava';
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { until } from '../helpers/raw-peer';
import { freePort } from '../helpers/ports';
import { readFileSync } from 'node:fs';

/** package.json's start script as node arguments (its first word is `node`): what `npm start` runs. */
function npmStartArgs(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  if (words[0] !== 'node') throw new Error(`the start script does not start with node: ${pkg.scripts.start}`);
  return words.slice(1);
}


test('npm start: serves RTMP and HTTP, logs connection events, and exits cleanly on SIGTERM', async (t) => {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const root = join(__dirname, '..', '..');
  const child = spawn(process.execPath, [...npmStartArgs(root), '--host', '127.0.0.1', '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await until(() => log.includes('http listening'), 20_000);
    const health = (await (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).json()) as { ok: boolean };
    t.true(health.ok);

    await new Promise((resolve) => execFile('rtmpdump', ['-r', `rtmp://127.0.0.1:${rtmpPort}/demo/x`, '-o', '/dev/null', '-m', '2'], { timeout: 10_000 }, resolve));
    await until(() => /conn 1 .* closed/.test(log), 5_000);
    t.regex(log, /conn 1 127\.0\.0\.1:\d+ accepted/);
    t.regex(log, /conn 1 127\.0\.0\.1:\d+ connected to demo/);

    child.kill('SIGTERM');
    t.is(await exited, 0);
    t.regex(log, /SIGTERM: shutting down/);
    t.regex(log, /rtmp server closed/);
  } finally {
    child.kill('SIGKILL');
  }
});

test('npm start refuses a bad port with a clear message', async (t) => {
  const root = join(__dirname, '..', '..');
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    execFile(process.execPath, ['-r', 'ts-node/register/transpile-only', 'lib/cli.ts', '--rtmp-port', 'abc'], { cwd: root, timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, output: stdout + stderr }),
    );
  });
  t.is(result.code, 1);
  t.regex(result.output, /--rtmp-port must be a port number, not abc/);
});

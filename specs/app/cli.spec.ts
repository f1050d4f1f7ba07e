import test from 'ava';
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { until } from '../helpers/raw-peer';
import { freePort } from '../helpers/ports';
import { readFileSync } from 'node:fs';
import { npmStartCommand } from '../../scripts/start-command';

test('npm start: serves RTMP and HTTP, logs connection events, and exits cleanly on SIGTERM', async (t) => {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const root = join(__dirname, '..', '..');
  const start = npmStartCommand(root);
  const child = spawn(process.execPath, [...start.nodeArgs, '--host', '127.0.0.1', '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort)], {
    cwd: root,
    env: { ...process.env, ...start.env },
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
    // The malloc settings of the start script reach the server (glibc reads them at start-up).
    const environ = readFileSync(`/proc/${child.pid}/environ`, 'latin1').split('\0');
    for (const [name, value] of Object.entries(start.env)) t.true(environ.includes(`${name}=${value}`), `${name} is set`);
    t.true(Object.keys(start.env).length > 0);

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

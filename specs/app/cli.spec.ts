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

/** The compiled command, as `npm install` puts it on the PATH (`bin.rxrtmp`). */
function rxrtmp(args: string[], timeout = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const root = join(__dirname, '..', '..');
  const bin = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: { rxrtmp: string } }).bin.rxrtmp;
  return new Promise((resolve) => {
    execFile(join(root, bin), args, { cwd: root, timeout }, (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }));
  });
}

test('the rxrtmp command: --help lists every flag with its default and exits 0', async (t) => {
  const { code, stdout } = await rxrtmp(['--help']);
  t.is(code, 0);
  for (const flag of ['--host', '--rtmp-port', '--http-port', '--rtmps-port', '--plugins', '--record-dir', '--tls-cert', '--tls-key', '--log-format', '--config', '--help', '--version']) t.true(stdout.includes(flag), flag);
  t.regex(stdout, /default: 1935/);
  t.regex((await rxrtmp(['--version'])).stdout, /^\d+\.\d+\.\d+\n$/);
});

test('the rxrtmp command refuses configuration mistakes with one line naming the key, and exit 2', async (t) => {
  for (const [args, message] of [
    [['--rtmp-port', 'abc'], /^rxrtmp: --rtmp-port must be a port number from 0 to 65535, not "abc"\n$/],
    [['--plugins', '/no/such/dir'], /^rxrtmp: --plugins \/no\/such\/dir: no such directory/],
    [['--nope'], /^rxrtmp: Unknown option '--nope'/],
  ] as const) {
    const { code, stderr } = await rxrtmp([...args]);
    t.is(code, 2, args.join(' '));
    t.regex(stderr, message);
    t.is(stderr.trim().split('\n').length, 1, 'one line');
  }
});

test('--log-format json: one JSON object per line with time, level and msg', async (t) => {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const root = join(__dirname, '..', '..');
  const child = spawn(process.execPath, [join(root, 'dist', 'lib', 'cli.js'), '--host', '127.0.0.1', '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), '--log-format', 'json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await until(() => out.includes('http listening'), 20_000);
    const lines = out.trim().split('\n').map((line) => JSON.parse(line) as { time: string; level: string; msg: string });
    t.true(lines.length >= 2);
    for (const line of lines) {
      t.false(Number.isNaN(Date.parse(line.time)));
      t.true(['info', 'warn', 'error'].includes(line.level));
      t.is(typeof line.msg, 'string');
    }
    t.true(lines.some((l) => /^rtmp listening on 127\.0\.0\.1:/.test(l.msg)));
  } finally {
    child.kill('SIGKILL');
  }
});

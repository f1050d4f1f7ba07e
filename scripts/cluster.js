'use strict';
// `npm run cluster [-- --workers N --redis-port P ...server flags]`: a Redis for the
// stream directory (Debian's redis-server, no persistence, loopback only) and the
// server with N workers on it (default: one per core). Other flags go to the server.
// Ctrl-C or SIGTERM stops both.
const { spawn, execFileSync } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { createConnection } = require('node:net');
const { availableParallelism, tmpdir } = require('node:os');
const { join } = require('node:path');

const args = process.argv.slice(2);
function take(flag, fallback) {
  const at = args.indexOf(flag);
  if (at < 0) return fallback;
  const [, value] = args.splice(at, 2);
  return value;
}
const redisPort = Number(take('--redis-port', '6390'));
const workers = take('--workers', String(availableParallelism()));

try {
  execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('rxrtmp cluster: redis-server is missing (apt-get install -y redis-server)');
  process.exit(2);
}

const accepts = (port) =>
  new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => (socket.destroy(), resolve(true)));
    socket.on('error', () => resolve(false));
  });

async function main() {
  if (await accepts(redisPort)) {
    console.error(`rxrtmp cluster: port ${redisPort} is taken; choose another with --redis-port`);
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-cluster-redis-'));
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'], { stdio: 'inherit' });
  for (let i = 0; i < 100 && !(await accepts(redisPort)); i++) await new Promise((r) => setTimeout(r, 50));
  console.error(`rxrtmp cluster: redis on 127.0.0.1:${redisPort}, ${workers} workers`);
  // As `npm start` runs the server: its environment words and node flags, then the flags here.
  const words = require('../package.json').scripts.start.trim().split(/\s+/);
  const env = { ...process.env };
  while (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
    const [name, ...value] = words.shift().split('=');
    env[name] = value.join('=');
  }
  const nodeArgs = words.slice(1).map((word) => (word.endsWith('.js') ? join(__dirname, '..', word) : word));
  const server = spawn(process.execPath, [...nodeArgs, '--workers', workers, '--redis', `redis://127.0.0.1:${redisPort}`, ...args], { stdio: 'inherit', env });
  const stop = (signal) => server.exitCode === null && server.kill(signal);
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  server.on('exit', (code) => {
    redis.kill('SIGTERM');
    redis.on('exit', () => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(code ?? 1);
    });
  });
}

main();

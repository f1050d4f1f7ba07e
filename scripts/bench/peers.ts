/**
 * The three servers, each started on a free loopback port with a config written here,
 * in a process of its own (its pid is the server's, so /proc can be read), with the
 * open-file limit raised for thousands of connections.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { accepts, freePort } from '../../specs/helpers/ports';
import { NGINX_BINARY as NGINX, NGINX_RTMP_MODULE as NGINX_RTMP, nginxConfig } from '../../specs/helpers/nginx';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildChild, ChildBuild } from './build';
import { npmStartCommand } from '../start-command';
import { nodeMemory, NodeMemory, sleep } from './proc';

/** Preloaded into the Node.js servers; see the file. */
const MEMORY_PROBE = join(__dirname, 'memory-probe.js');

export type PeerKind = 'rxrtmp' | 'nginx' | 'nms';
export const PEER_KINDS: readonly PeerKind[] = ['rxrtmp', 'nginx', 'nms'];

export interface Peer {
  name: string;
  pid: number;
  port: number;
  url: string;
  /** Node.js servers only (started with memory-probe.js): heap and young-generation figures. */
  memory?: () => Promise<NodeMemory | undefined>;
  stop(): Promise<void>;
}

export interface PeerOptions {
  /** rxrtmp only: installLive's gopCache (default true). */
  gopCache?: boolean;
  /** rxrtmp only: LiveOptions.mediaBatchFrom (0: every stream batches and is paced from the first message). */
  mediaBatchFrom?: number;
  /** rxrtmp only: LiveOptions.mediaFlushMs (0: never batch). */
  mediaFlushMs?: number;
  /** rxrtmp only: run on Node's default flags instead of those `npm start` gives it. */
  nodeDefaults?: boolean;
}

const NMS_DIR = join(tmpdir(), 'rxrtmp-bench-nms');
const NMS_PACKAGE = join(NMS_DIR, 'node_modules', 'node-media-server', 'package.json');
const OPEN_FILES = 8192;


function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Runs `command args` through bash, which raises the open-file limit and then execs it (same pid). */
function spawnWithFiles(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const script = `n=$(ulimit -n); if [ "$n" != unlimited ] && [ "$n" -lt ${OPEN_FILES} ]; then ulimit -n ${OPEN_FILES}; fi; exec "$@"`;
  return spawn('bash', ['-c', script, 'bash', command, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
}

async function launch(name: string, child: ChildProcess, port: number, dir: string | undefined, probed = false, timeout = 20_000): Promise<Peer> {
  let output = '';
  child.on('error', (error) => (output += `spawn failed: ${error.message}\n`));
  // Kept short: the servers log little at the levels chosen, but nothing may grow without bound.
  const keep = (d: Buffer): void => void (output = (output + d.toString()).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 4_000);
      await exited(child);
      clearTimeout(timer);
    }
    child.stdin?.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeout;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${name} did not start listening on ${port}: ${output.trim().slice(-600)}`);
    }
    await sleep(100);
  }
  if (child.pid === undefined) throw new Error(`${name}: no pid`);
  const pid = child.pid;
  return { name, pid, port, url: `rtmp://127.0.0.1:${port}/live`, stop, ...(probed ? { memory: () => nodeMemory(pid) } : {}) };
}

let build: ChildBuild | undefined;

async function startRxrtmp(options: PeerOptions): Promise<Peer> {
  build ??= buildChild();
  const port = await freePort();
  // RXRTMP_BENCH_NODE_ARGS, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof', profiles the server child.
  const nodeArgs = (process.env.RXRTMP_BENCH_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
  // As `npm start` runs it (its V8 flags and malloc settings), or on Node's and glibc's defaults.
  const start = npmStartCommand();
  const flags = options.nodeDefaults ? [] : start.nodeFlags;
  const startEnv = options.nodeDefaults ? {} : start.env;
  const args = ['--expose-gc', ...flags, '-r', MEMORY_PROBE, ...nodeArgs, build.entry, '--port', String(port), ...(options.gopCache === false ? ['--no-gop-cache'] : []), ...(options.mediaBatchFrom !== undefined ? ['--media-batch-from', String(options.mediaBatchFrom)] : []), ...(options.mediaFlushMs !== undefined ? ['--media-flush-ms', String(options.mediaFlushMs)] : [])];
  const child = spawnWithFiles(process.execPath, args, { ...process.env, ...startEnv, NODE_PATH: build.nodePath });
  const name = options.nodeDefaults ? 'rxrtmp (Node defaults)' : options.gopCache === false ? 'rxrtmp (no GOP cache)' : 'rxrtmp';
  return launch(name, child, port, undefined, true);
}


async function startNginx(): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-bench-nginx-'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(port, dir, { openFiles: OPEN_FILES, logLevel: 'warn' }));
  const child = spawnWithFiles(NGINX, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')]);
  return launch('nginx-rtmp', child, port, dir);
}

/** The NMS start script: RTMP only (no HTTP, no admin), its logger at warn. v4 always caches the last GOP. */
const NMS_SCRIPT = `'use strict';
const NodeMediaServer = require('node-media-server');
const logger = require('node-media-server/src/core/logger.js');
const [port, dataDir] = [Number(process.argv[2]), process.argv[3]];
const config = {
  bind: '127.0.0.1',
  notify: { url: '' },
  store: { path: dataDir + '/data' },
  auth: { play: false, publish: false, secret: '' },
  rtmp: { port },
  webadmin: { enable: false },
  record: { auto: false, path: dataDir + '/record' },
};
const nms = new NodeMediaServer(config, dataDir + '/config.json');
logger.level = 'warn';
nms.run();
const stop = () => Promise.race([nms.stop(), new Promise((r) => setTimeout(r, 2000))]).then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
`;

/** An install's failure in one line: execFileSync's message carries the whole stderr after it. */
const firstLine = (error: unknown): string => (error instanceof Error ? error.message.split('\n')[0]! : String(error));

/** Installs node-media-server@4 into a temp dir once; afterwards it is reused. */
export function ensureNms(): string | undefined {
  if (!existsSync(NMS_PACKAGE)) {
    try {
      execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', NMS_DIR, 'node-media-server@4'], { stdio: 'pipe', timeout: 240_000 });
    } catch (error) {
      return `npm install node-media-server@4 failed: ${firstLine(error)}`;
    }
  }
  if (!existsSync(NMS_PACKAGE)) return 'node-media-server did not install';
  writeFileSync(join(NMS_DIR, 'start-nms.js'), NMS_SCRIPT);
  return undefined;
}

async function startNms(): Promise<Peer> {
  const missing = ensureNms();
  if (missing !== undefined) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-bench-nms-run-'));
  const port = await freePort();
  const child = spawnWithFiles(process.execPath, ['--expose-gc', '-r', MEMORY_PROBE, join(NMS_DIR, 'start-nms.js'), String(port), dir]);
  return launch('node-media-server', child, port, dir, true);
}

export function startPeer(kind: PeerKind, options: PeerOptions = {}): Promise<Peer> {
  switch (kind) {
    case 'rxrtmp':
      return startRxrtmp(options);
    case 'nginx':
      return startNginx();
    case 'nms':
      return startNms();
  }
}

const nginxInstalled = (): boolean => existsSync(NGINX) && existsSync(NGINX_RTMP);

/** Installs nginx and libnginx-mod-rtmp with apt-get when they are missing and we may (root, Debian). */
export function ensureNginx(): string | undefined {
  if (nginxInstalled()) return undefined;
  const apt = '/usr/bin/apt-get';
  if (process.getuid?.() !== 0 || !existsSync(apt)) return 'nginx or libnginx-mod-rtmp not installed (apt-get install nginx libnginx-mod-rtmp)';
  try {
    const quiet = { stdio: 'pipe' as const, timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
    execFileSync(apt, ['update'], quiet);
    execFileSync(apt, ['install', '-y', 'nginx', 'libnginx-mod-rtmp'], quiet);
  } catch (error) {
    return `apt-get install nginx libnginx-mod-rtmp failed: ${firstLine(error)}`;
  }
  return nginxInstalled() ? undefined : 'nginx or libnginx-mod-rtmp did not install';
}

/** Why a peer cannot run here (after trying to install it), or undefined when it can. */
export function unavailable(kind: PeerKind): string | undefined {
  if (kind === 'nginx') return ensureNginx();
  if (kind === 'nms') return ensureNms();
  return undefined;
}

export function versions(): Record<PeerKind, string> {
  const run = (command: string, args: string[]): string => {
    try {
      return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch {
      return 'unknown';
    }
  };
  const repo = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  const nms = existsSync(NMS_PACKAGE) ? (JSON.parse(readFileSync(NMS_PACKAGE, 'utf8')) as { version: string }).version : 'not installed';
  return {
    rxrtmp: `${repo.version} on node ${process.version}`,
    nginx: `nginx ${run('dpkg-query', ['-W', '-f', '${Version}', 'nginx'])}, libnginx-mod-rtmp ${run('dpkg-query', ['-W', '-f', '${Version}', 'libnginx-mod-rtmp'])}`,
    nms: `node-media-server ${nms} on node ${process.version}`,
  };
}

export function cleanupBuild(): void {
  if (build !== undefined) rmSync(build.dir, { recursive: true, force: true });
  build = undefined;
}

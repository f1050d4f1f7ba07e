import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { accepts, freePort } from './ports';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's nginx and the RTMP module (packages `nginx` and `libnginx-mod-rtmp`). */
export const NGINX_BINARY = '/usr/sbin/nginx';
export const NGINX_RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

export interface NginxRtmp {
  port: number;
  /** `rtmp://127.0.0.1:PORT/live` */
  liveUrl: string;
  /** nginx's error log so far, for assertion messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Whether nginx and its RTMP module are installed, so specs can say why they skip. */
export function nginxAvailable(): boolean {
  return existsSync(NGINX_BINARY) && existsSync(NGINX_RTMP_MODULE);
}


/**
 * An nginx-rtmp configuration for one loopback port: a single process, no daemon, and
 * `application live { live on; }` with chunk size 4096. `openFiles` raises the
 * connection limit (the bench opens thousands); `logLevel` sets the error log's level.
 */
export function nginxConfig(port: number, dir: string, options: { openFiles?: number; logLevel?: string } = {}): string {
  const asRoot = process.getuid?.() === 0;
  return [
    `load_module ${NGINX_RTMP_MODULE};`,
    // With master_process off nginx switches no user; as root the directive only silences a warning.
    ...(asRoot ? ['user root;'] : []),
    'daemon off;',
    'master_process off;',
    `error_log ${join(dir, 'error.log')} ${options.logLevel ?? 'info'};`,
    `pid ${join(dir, 'nginx.pid')};`,
    ...(options.openFiles ? [`worker_rlimit_nofile ${options.openFiles};`] : []),
    `events { worker_connections ${options.openFiles ? options.openFiles - 100 : 64}; }`,
    'rtmp {',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    chunk_size 4096;',
    '    application live {',
    '      live on;',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts nginx-rtmp on a free loopback port with a config of its own in a temp dir,
 * as a child process in the foreground, and waits until the port accepts.
 */
export async function startNginx(timeout = 5_000): Promise<NginxRtmp> {
  if (!nginxAvailable()) {
    throw new Error(`nginx-rtmp is not installed (${NGINX_BINARY}, ${NGINX_RTMP_MODULE}): apt-get install nginx libnginx-mod-rtmp`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-nginx-'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(port, dir));
  const child = spawn(NGINX_BINARY, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.on('error', (error) => (output += `spawning nginx failed: ${error.message}\n`));
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const log = (): string => {
    const path = join(dir, 'error.log');
    return `${output}${existsSync(path) ? readFileSync(path, 'utf8') : ''}`;
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited(child);
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeout;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const why = log();
      await stop();
      throw new Error(`nginx did not start listening on ${port}:\n${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, liveUrl: `rtmp://127.0.0.1:${port}/live`, log, stop };
}

import cluster, { Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { DirectoryHost } from '../cluster/primary-directory';
import type { Logger } from '../session/options';

export interface WorkerPoolOptions {
  workers: number;
  /** Shared by the workers, so that they can pull from each other; made here when not given. */
  clusterSecret?: string;
  /** Keep the workers' stream directory here (no Redis): they ask it over IPC. */
  hostDirectory: boolean;
  logger: Logger;
}

/** A worker that dies this soon after it started is not restarted again at once. */
const QUICK_DEATH_MS = 5_000;
const RESTART_BACKOFF_MS = 1_000;

/**
 * `--workers N`: this process becomes node:cluster's primary. It forks N workers that
 * run the server, sharing its RTMP and HTTP ports, each a cluster node with an internal
 * listener of its own; it keeps their stream directory (unless they use Redis), restarts
 * a worker that dies, and on SIGTERM or SIGINT stops them all and exits. It serves no
 * client itself.
 */
export function runWorkerPool(options: WorkerPoolOptions): void {
  const secret = options.clusterSecret ?? randomBytes(32).toString('base64url');
  const env = { RXRTMP_CLUSTER_SECRET: secret, RXRTMP_WORKER: '1' };
  const started = new Map<Worker, number>();
  const directory = options.hostDirectory ? new DirectoryHost() : undefined;
  let stopping = false;
  const fork = (): void => {
    const worker = cluster.fork(env);
    started.set(worker, Date.now());
    if (directory) {
      const link = directory.attach(String(worker.id), (message) => {
        if (worker.isConnected()) worker.send(message);
      });
      worker.on('message', link.receive);
      worker.on('exit', link.gone);
    }
    worker.on('exit', (code, signal) => {
      const lived = Date.now() - (started.get(worker) ?? 0);
      started.delete(worker);
      if (stopping) {
        if (started.size === 0) process.exit(0);
        return;
      }
      options.logger.warn(`worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another`);
      // A worker that cannot start (a port in use, a bad plugin) would otherwise spin.
      setTimeout(fork, lived < QUICK_DEATH_MS ? RESTART_BACKOFF_MS : 0);
    });
  };
  for (let i = 0; i < options.workers; i++) fork();
  options.logger.info(`primary ${process.pid}: ${options.workers} workers`);
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    options.logger.info(`${signal}: stopping ${started.size} workers`);
    for (const worker of started.keys()) worker.process.kill('SIGTERM');
    if (started.size === 0) process.exit(0);
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Whether this process is a worker started by `runWorkerPool`. */
export const isPoolWorker = (): boolean => cluster.isWorker && process.env.RXRTMP_WORKER === '1';

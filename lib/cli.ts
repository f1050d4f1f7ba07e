#!/usr/bin/env node
/**
 * `rxrtmp` (`npm start`): the server with useful defaults. Flags override the config
 * file, which overrides the defaults; `rxrtmp --help` lists them all.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, helpText, readCliConfig } from './app/config';
import { createServer } from './app/server';
import { isPoolWorker, runWorkerPool } from './app/workers';
import { joinCluster } from './cluster/cluster';
import { DirectoryUnavailableError } from './cluster/directory';
import { RedisDirectory } from './cluster/redis-directory';
import { IpcDirectory } from './cluster/primary-directory';
import { installDemo } from './demo/demo-app';
import { installLive } from './media/live-app';
import { PluginRegistry } from './plugins/registry';
import { consoleLogger, jsonLogger } from './session/options';
import { createWebServer } from './web/web-server';

/** Where the bundled plugins are: beside lib/, in the source tree and in the compiled package alike. */
const ROOT = join(__dirname, '..');

async function main(): Promise<void> {
  const config = readCliConfig(process.argv.slice(2), ROOT);
  if (config === 'help') return void process.stdout.write(helpText(ROOT));
  if (config === 'version') {
    const manifest = [join(ROOT, 'package.json'), join(ROOT, '..', 'package.json')].find((path) => {
      try {
        return (JSON.parse(readFileSync(path, 'utf8')) as { name?: string }).name === 'rxrtmp';
      } catch {
        return false;
      }
    });
    return void process.stdout.write(`${manifest ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version : 'unknown'}\n`);
  }
  const logger = config.logFormat === 'json' ? jsonLogger : consoleLogger;
  if (config.workers > 1 && !isPoolWorker()) return runWorkerPool({ workers: config.workers, logger, hostDirectory: config.redis === undefined, ...(config.clusterSecret !== undefined ? { clusterSecret: config.clusterSecret } : {}) });
  const server = createServer({ ...config.server, logger });
  const plugins = new PluginRegistry();
  const { loaded, failed } = await plugins.loadDirectory(config.pluginDir).catch((error: unknown) => {
    logger.warn(`no plugins loaded from ${config.pluginDir}: ${error instanceof Error ? error.message : String(error)}`);
    return { loaded: [], failed: [] };
  });
  for (const plugin of loaded) logger.info(`plugin ${plugin.name} ${plugin.version}: ${plugin.codecs.map((c) => c.name).join(', ')}`);
  for (const { error } of failed) logger.warn(`plugin refused: ${error.message}`);
  installDemo(server, { plugins });
  const live = installLive(server, { logger, recordDir: config.recordDir });
  const secret = config.clusterSecret ?? process.env.RXRTMP_CLUSTER_SECRET;
  // Redis when given; else, in a worker pool, the primary keeps the directory.
  const directory = config.redis !== undefined ? await RedisDirectory.connect({ url: config.redis, logger }) : isPoolWorker() ? primaryDirectory() : undefined;
  const member =
    directory === undefined || secret === undefined
      ? undefined
      : await joinCluster(live, {
          directory,
          secret,
          internalHost: config.internalHost,
          ...(config.advertiseHost !== undefined ? { advertiseHost: config.advertiseHost } : {}),
          logger,
        });
  await server.listen({ host: config.host, port: config.rtmpPort });
  if (config.rtmpsPort !== undefined) await server.listenTls({ host: config.host, port: config.rtmpsPort, certFile: config.tlsCert!, keyFile: config.tlsKey! });
  const tls = config.tlsCert && config.tlsKey ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } : undefined;
  const web = createWebServer(server, { live, logger, ...(tls ? { tls } : {}), ...(member ? { cluster: member } : {}) });
  const address = await web.listen(config.httpPort, config.host);
  logger.info(
    `${tls ? 'https' : 'http'} listening on ${address.address}:${address.port}: console at /, demo at /demo, RTMP over ${tls ? 'wss' : 'ws'} at /rtmp, /api/connections, /api/streams, /metrics, /APP/NAME.flv`,
  );
  if (plugins.has('screen-video')) logger.info(`try: ffplay rtmp://127.0.0.1:${config.rtmpPort}/demo/scene`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: shutting down`);
    Promise.all([web.close(), server.close(), plugins.close(), member?.close()]).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`shutdown failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** This worker's end of the IPC channel to the primary's directory. */
function primaryDirectory(): IpcDirectory {
  return new IpcDirectory({
    send: (message) => process.send?.(message),
    onMessage: (listener) => process.on('message', listener),
    get connected() {
      return process.connected;
    },
  });
}

main().catch((error: unknown) => {
  // A configuration mistake is one line and exit 2; anything else (a port in use…) exit 1.
  if (error instanceof ConfigError) {
    process.stderr.write(`rxrtmp: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof DirectoryUnavailableError) {
    process.stderr.write(`rxrtmp: ${error.message}\n`);
    process.exit(1);
  }
  const code = (error as NodeJS.ErrnoException).code;
  process.stderr.write(`rxrtmp: ${code === 'EADDRINUSE' || code === 'EACCES' ? `cannot listen: ${(error as Error).message}` : error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});

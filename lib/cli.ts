/**
 * `npm start`: the server with useful defaults. Flags override the config file,
 * which overrides the defaults.
 *   --host 0.0.0.0  --rtmp-port 1935  --http-port 8080  --plugins ./plugins  --config rxrtmp.json
 *   --tls-cert cert.pem --tls-key key.pem   (the HTTP port serves HTTPS and wss://…/rtmp)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PluginRegistry } from './plugins/registry';
import { parseArgs } from 'node:util';
import { createServer, ServerOptions } from './app/server';
import { installDemo } from './demo/demo-app';
import { installLive } from './media/live-app';
import { consoleLogger } from './session/options';
import { createWebServer } from './web/web-server';

interface CliConfig {
  host: string;
  pluginDir: string;
  recordDir: string;
  rtmpPort: number;
  httpPort: number;
  /** PEM files: with both, the HTTP port serves HTTPS (and RTMP over wss). */
  tlsCert?: string;
  tlsKey?: string;
  server: ServerOptions;
}

function readConfig(argv: string[]): CliConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      'rtmp-port': { type: 'string' },
      'http-port': { type: 'string' },
      config: { type: 'string' },
      plugins: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
    strict: true,
  });
  const file = values.config ? (JSON.parse(readFileSync(values.config, 'utf8')) as Partial<CliConfig>) : {};
  const port = (text: string | undefined, fallback: number, name: string): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`--${name} must be a port number, not ${text}`);
    return value;
  };
  return {
    host: values.host ?? file.host ?? '0.0.0.0',
    recordDir: file.recordDir ?? 'recordings',
    pluginDir: values.plugins ?? file.pluginDir ?? join(__dirname, '..', 'plugins'),
    rtmpPort: port(values['rtmp-port'], file.rtmpPort ?? 1935, 'rtmp-port'),
    httpPort: port(values['http-port'], file.httpPort ?? 8080, 'http-port'),
    ...tlsFiles(values['tls-cert'] ?? file.tlsCert, values['tls-key'] ?? file.tlsKey),
    server: file.server ?? {},
  };
}

function tlsFiles(cert: string | undefined, key: string | undefined): { tlsCert?: string; tlsKey?: string } {
  if ((cert === undefined) !== (key === undefined)) throw new Error('--tls-cert and --tls-key go together: give both PEM files, or neither');
  return cert !== undefined && key !== undefined ? { tlsCert: cert, tlsKey: key } : {};
}

async function main(): Promise<void> {
  const config = readConfig(process.argv.slice(2));
  const server = createServer({ ...config.server, logger: consoleLogger });
  const plugins = new PluginRegistry();
  if (existsSync(config.pluginDir)) {
    const { loaded, failed } = await plugins.loadDirectory(config.pluginDir);
    for (const plugin of loaded) consoleLogger.info(`plugin ${plugin.name} ${plugin.version}: ${plugin.codecs.map((c) => c.name).join(', ')}`);
    for (const { error } of failed) consoleLogger.warn(`plugin refused: ${error.message}`);
  } else {
    consoleLogger.warn(`no plugin directory at ${config.pluginDir}: the demo scene has no encoder`);
  }
  installDemo(server, { plugins });
  const live = installLive(server, { logger: consoleLogger, recordDir: config.recordDir });
  await server.listen({ host: config.host, port: config.rtmpPort });
  const tls = config.tlsCert && config.tlsKey ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } : undefined;
  const web = createWebServer(server, { live, logger: consoleLogger, ...(tls ? { tls } : {}) });
  const address = await web.listen(config.httpPort, config.host);
  consoleLogger.info(
    `${tls ? 'https' : 'http'} listening on ${address.address}:${address.port}: console at /, demo at /demo, RTMP over ${tls ? 'wss' : 'ws'} at /rtmp, /api/connections, /api/streams, /metrics, /APP/NAME.flv`,
  );
  if (plugins.has('screen-video')) consoleLogger.info(`try: ffplay rtmp://127.0.0.1:${config.rtmpPort}/demo/scene`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    consoleLogger.info(`${signal}: shutting down`);
    Promise.all([web.close(), server.close(), plugins.close()]).then(
      () => process.exit(0),
      (error: unknown) => {
        consoleLogger.error(`shutdown failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  consoleLogger.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});

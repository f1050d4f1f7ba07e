/**
 * The server side of the interactive bench, in a process of its own (its CPU read from
 * /proc): the demo app with the bundled plugins, RTMP on TCP and over WebSocket.
 * Prints `ready RTMP_PORT HTTP_PORT`; exits when stdin closes, on SIGTERM, or after 600 s.
 */
import { join } from 'node:path';
import { createServer, silentLogger } from '../../lib';
import { installDemo } from '../../lib/demo/demo-app';
import { PluginRegistry } from '../../lib/plugins/registry';
import { createWebServer } from '../../lib/web/web-server';

async function main(): Promise<void> {
  const plugins = new PluginRegistry();
  await plugins.loadDirectory(join(__dirname, '..', '..', 'plugins'));
  const server = createServer({ logger: silentLogger });
  installDemo(server, { plugins });
  const rtmp = await server.listen({ host: '127.0.0.1', port: 0 });
  const web = createWebServer(server, {});
  const http = await web.listen(0, '127.0.0.1');
  process.stdout.write(`ready ${rtmp.port} ${http.port} ${plugins.codecs().join(',')}\n`);
  const stop = (): void => {
    setTimeout(() => process.exit(0), 2000).unref();
    void Promise.all([web.close(), server.close(), plugins.close()]).finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
  setTimeout(stop, 600_000).unref();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

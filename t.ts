import { createServer, consoleLogger } from './lib';
import { installLive } from './lib/media/live-app';
const server = createServer({ logger: consoleLogger });
const reg = installLive(server, { logger: consoleLogger });
reg.events$.subscribe(e => console.log('EVENT', e.type, e.stream.key, JSON.stringify(e.stream.streamInfo)));
server.listen({ port: 19353, host: '127.0.0.1' }).then(() => setTimeout(() => { server.close(); }, 12000));

import test from 'ava';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createServer, Logger, RtmpClient } from '../../lib';
import { until } from '../helpers/raw-peer';

test('a pino logger is a Logger: the server logs through it as JSON', async (t) => {
  const lines: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  const logger: Logger = pino({ base: null }, sink);
  const server = createServer({ logger });
  server.onConnect({ connect: () => true });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    const client = await RtmpClient.connect(`rtmp://127.0.0.1:${port}/app`);
    await client.close();
    await until(() => lines.some((l) => / closed/.test(l.msg)));
    t.true(lines.some((l) => l.level === 30 && /^rtmp listening on 127\.0\.0\.1:\d+$/.test(l.msg)));
    t.true(lines.some((l) => l.level === 30 && / accepted$/.test(l.msg)));
  } finally {
    await server.close();
  }
});

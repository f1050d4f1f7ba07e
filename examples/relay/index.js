'use strict';
// A live relay with connect-time authorization: publishers and players of app `live` must
// pass a token as the first connect argument (ffmpeg: -rtmp_conn S:TOKEN; rtmpdump: -C S:TOKEN).
// Publishing and playing are installLive's: GOP cache, slow players dropped, not waited for.
const { createServer, installLive, silentLogger } = require('rxrtmp');
const { timingSafeEqual } = require('node:crypto');

async function start({ port = 1935, host = '127.0.0.1', token, logger = silentLogger } = {}) {
  if (typeof token !== 'string' || token === '') throw new Error('the relay needs a token');
  const expected = Buffer.from(token);
  const server = createServer({ logger });
  // Registered before installLive's handlers, so it sees every connect first; undefined passes it on.
  server.onConnect({
    connect(_connection, request) {
      if (request.properties.app !== 'live') return undefined;
      const given = Buffer.from(typeof request.args[0] === 'string' ? request.args[0] : '');
      const ok = given.length === expected.length && timingSafeEqual(given, expected);
      return ok ? undefined : { reject: 'a valid token is needed to connect to live' };
    },
  });
  const live = installLive(server, { logger });
  const address = await server.listen({ host, port });
  return { port: address.port, live, close: () => server.close() };
}

module.exports = { start };

if (require.main === module) {
  const token = process.env.TOKEN;
  start({ port: Number(process.env.PORT ?? 1935), host: '0.0.0.0', token, logger: require('rxrtmp').consoleLogger }).then(({ port }) => console.log(`relay on rtmp://127.0.0.1:${port}/live (token from $TOKEN)`));
}

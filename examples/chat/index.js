'use strict';
// A chat room over RTMP: members connect to `chat` with their nickname as the connect
// argument; `say(text)` sends the text to every other member, which the server delivers
// by calling the member's own `message(from, text)` handler (a server-to-client invoke).
const { createServer, silentLogger } = require('rxrtmp');

async function start({ port = 1935, host = '127.0.0.1', logger = silentLogger } = {}) {
  const server = createServer({ logger });
  const members = new Map(); // Connection → nickname

  server.onConnect({
    connect(connection, request) {
      if (request.properties.app !== 'chat') return undefined;
      const [nickname] = request.args;
      if (typeof nickname !== 'string' || nickname === '') return { reject: 'connect to chat with your nickname as the first argument' };
      if ([...members.values()].includes(nickname)) return { reject: `${nickname} is taken` };
      members.set(connection, nickname);
      connection.onCall('say', async (call) => {
        const [text] = call.args;
        if (typeof text !== 'string') throw new Error('say(text) takes a string');
        const others = [...members.keys()].filter((member) => member !== connection);
        // Every other member is asked in parallel; one that fails to answer does not stop the rest.
        const answers = await Promise.allSettled(others.map((member) => member.invoke('message', nickname, text)));
        return { delivered: answers.filter((a) => a.status === 'fulfilled').length };
      });
      connection.onCall('who', () => [...members.values()]);
      return true;
    },
    disconnect(connection) {
      members.delete(connection);
    },
  });

  const address = await server.listen({ host, port });
  return { port: address.port, close: () => server.close() };
}

module.exports = { start };

if (require.main === module) {
  start({ port: Number(process.env.PORT ?? 1935), host: '0.0.0.0', logger: require('rxrtmp').consoleLogger }).then(({ port }) => console.log(`chat on rtmp://127.0.0.1:${port}/chat`));
}

'use strict';
// A server made of the exported operators alone, with no socket: bytes from an in-memory
// duplex go through acceptHandshake → demuxChunks → the command messages → dispatchCommands,
// whose handler answers connect and `add` with the protocol's encoders. The real client
// (RtmpClient.connectOver) talks to it over the other end of the pair.
const { Duplex, PassThrough } = require('node:stream');
const { filter, map } = require('rxjs');
const { acceptHandshake, demuxChunks, dispatchCommands, fromTransport, isCommandMessage, protocol, RtmpClient } = require('rxrtmp');

/** Two duplex ends joined back to back. */
function duplexPair() {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  return [Duplex.from({ readable: bToA, writable: aToB }), Duplex.from({ readable: aToB, writable: bToA })];
}

/** Serves one transport; resolves when it ends. `log` hears each command. */
function serve(transport, log = () => undefined) {
  const encoder = new protocol.ChunkEncoder();
  const reply = (command) => {
    const { typeId, payload } = protocol.encodeCommand(command);
    transport.write(encoder.encode({ chunkStreamId: 3, timestamp: 0, streamId: 0, typeId, payload }));
  };
  const handle = async ({ command }) => {
    log(command.name);
    if (command.name === 'connect') {
      return reply({ name: '_result', transactionId: command.transactionId, commandObject: { fmsVer: 'rxrtmp-example/1' }, args: [{ level: 'status', code: 'NetConnection.Connect.Success', description: 'hello from a pipeline' }] });
    }
    if (command.name === 'add') {
      const [a, b] = command.args;
      return reply({ name: '_result', transactionId: command.transactionId, commandObject: null, args: [a + b] });
    }
    if (command.transactionId > 0) reply({ name: '_error', transactionId: command.transactionId, commandObject: null, args: [{ level: 'error', code: 'NetConnection.Call.Failed', description: `no ${command.name} here` }] });
  };
  return new Promise((resolve, reject) => {
    fromTransport(transport)
      .pipe(
        acceptHandshake({ send: (bytes) => transport.write(bytes) }),
        demuxChunks(),
        filter(isCommandMessage),
        map((message) => ({ streamId: message.streamId, command: protocol.decodeCommand(message.typeId, message.payload) })),
        dispatchCommands(handle, reject),
      )
      .subscribe({ error: reject, complete: resolve });
  });
}

async function start() {
  const [serverEnd, clientEnd] = duplexPair();
  const heard = [];
  const served = serve(serverEnd, (name) => heard.push(name));
  const client = await RtmpClient.connectOver(clientEnd, 'rtmp://in-memory/example');
  return { client, heard, served, close: () => client.close() };
}

module.exports = { start, serve, duplexPair };

if (require.main === module) {
  start().then(async ({ client, heard, close }) => {
    console.log('connect said:', client.connectInfo);
    console.log('add(2, 40) =', await client.call('add', 2, 40));
    console.log('the pipeline heard:', heard.join(', '));
    await close();
  });
}

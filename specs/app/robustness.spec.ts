import test from 'ava';
import { connect } from 'node:net';
import { execFile } from 'node:child_process';
import { createServer, RtmpServer, ServerOptions } from '../../lib';
import { installDemo } from '../../lib/demo/demo-app';
import { MessageType } from '../../lib/protocol/message';
import { assertLogged, RawPeer, recordingLogger, until } from '../helpers/raw-peer';

async function serve(options: ServerOptions = {}): Promise<{ server: RtmpServer; port: number; log: ReturnType<typeof recordingLogger> }> {
  const log = recordingLogger();
  const server = createServer({ logger: log, ...options });
  installDemo(server);
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, port, log };
}

/** A healthy peer on the same server: connects to demo and gets an echo back. */
async function healthyEcho(port: number): Promise<void> {
  const peer = await RawPeer.open(port);
  try {
    await peer.shake();
    peer.connect('demo');
    await peer.waitFor((c) => c.name === '_result' && c.transactionId === 1);
    peer.command({ name: 'echo', transactionId: 2, commandObject: null, args: ['still', 'alive'] });
    const reply = await peer.waitFor((c) => c.transactionId === 2);
    if (reply.name !== '_result') throw new Error(`echo answered ${reply.name}`);
  } finally {
    peer.destroy();
  }
}

test('a connection killed mid-handshake is torn down and others carry on', async (t) => {
  const { server, port, log } = await serve();
  try {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.concat([Buffer.of(3), Buffer.alloc(700, 1)]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await until(() => server.connections.size === 0);
    await healthyEcho(port);
    await assertLogged(t, log, (l) => /conn 1 .* closed: peer closed/.test(l));
  } finally {
    await server.close();
  }
});

test('a stalled handshake is dropped after the handshake timeout', async (t) => {
  const { server, port, log } = await serve({ handshakeTimeout: 150 });
  try {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(Buffer.of(3));
    await closed;
    await assertLogged(t, log, (l) => l.includes('closed: handshake timed out'));
  } finally {
    await server.close();
  }
});

test('a wrong handshake version closes that connection with the reason logged', async (t) => {
  const { server, port, log } = await serve();
  try {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(Buffer.concat([Buffer.of(6), Buffer.alloc(1536)]));
    await closed;
    await assertLogged(t, log, (l) => l.includes('ERR_HANDSHAKE_VERSION'));
    await healthyEcho(port);
  } finally {
    await server.close();
  }
});

test('a connection killed mid-chunk and one killed mid-command leave the server unharmed', async (t) => {
  const { server, port } = await serve();
  try {
    const midChunk = await RawPeer.open(port);
    await midChunk.shake();
    midChunk.socket.write(Buffer.from('030000000000c8140000000002', 'hex'));
    midChunk.destroy();

    const midCommand = await RawPeer.connected(port, 'demo');
    midCommand.command({ name: 'echo', transactionId: 2, commandObject: null, args: ['x'] });
    midCommand.destroy();

    await until(() => server.connections.size === 0);
    await healthyEcho(port);
    t.pass();
  } finally {
    await server.close();
  }
});

test('a chunk size with the top bit set closes that one connection with ERR_CHUNK_SIZE', async (t) => {
  const { server, port, log } = await serve();
  try {
    const bad = await RawPeer.open(port);
    await bad.shake();
    bad.socket.write(Buffer.from('02000000000004010000000080000000', 'hex'));
    await bad.closed;
    await assertLogged(t, log, (l) => l.includes('ERR_CHUNK_SIZE'));
    await healthyEcho(port);
  } finally {
    await server.close();
  }
});

test('a malformed AMF command closes that one connection with the AMF error logged', async (t) => {
  const { server, port, log } = await serve();
  try {
    const bad = await RawPeer.open(port);
    await bad.shake();
    // A string that claims 0xFFFF bytes and carries two.
    bad.send({ chunkStreamId: 3, timestamp: 0, typeId: MessageType.CommandAmf0, streamId: 0, payload: Buffer.from('02ffff6162', 'hex') });
    await bad.closed;
    await assertLogged(t, log, (l) => l.includes('ERR_AMF_TRUNCATED'));
    await healthyEcho(port);
  } finally {
    await server.close();
  }
});

test('a message over the size limit closes the connection', async (t) => {
  const { server, port, log } = await serve({ maxMessageSize: 1000 });
  try {
    const bad = await RawPeer.open(port);
    await bad.shake();
    bad.socket.write(Buffer.from('04000000001000080100000000', 'hex'));
    await bad.closed;
    await assertLogged(t, log, (l) => l.includes('ERR_MESSAGE_TOO_LARGE'));
  } finally {
    await server.close();
  }
});

test('a peer that goes silent after connect is pinged, then dropped as dead', async (t) => {
  const { server, port, log } = await serve({ pingInterval: 100, idleTimeout: 400 });
  try {
    const peer = await RawPeer.open(port);
    await peer.shake();
    peer.connect('demo');
    await peer.closed;
    const pings = peer.received.filter((m) => m.typeId === MessageType.UserControl && m.payload.readUInt16BE(0) === 6);
    t.true(pings.length >= 1, 'the server sent a ping request');
    await assertLogged(t, log, (l) => /closed: peer sent nothing for/.test(l));
  } finally {
    await server.close();
  }
});

test('a ping request is answered with the same timestamp', async (t) => {
  const { server, port } = await serve();
  try {
    const peer = await RawPeer.connected(port, 'demo');
    peer.socket.write(Buffer.from('02000000000006040000000000060000abcd', 'hex'));
    await until(() => peer.received.some((m) => m.typeId === MessageType.UserControl && m.payload.readUInt16BE(0) === 7));
    const response = peer.received.find((m) => m.typeId === MessageType.UserControl && m.payload.readUInt16BE(0) === 7)!;
    t.is(response.payload.readUInt32BE(2), 0xabcd);
    peer.destroy();
  } finally {
    await server.close();
  }
});

test('the server acknowledges when the peer window is reached', async (t) => {
  const { server, port } = await serve();
  try {
    const peer = await RawPeer.connected(port, 'demo');
    peer.socket.write(Buffer.from('02000000000004050000000000001000', 'hex')); // window 4096
    for (let i = 0; i < 10; i++) peer.command({ name: 'echo', transactionId: 0, commandObject: null, args: ['x'.repeat(500)] });
    await until(() => peer.received.some((m) => m.typeId === MessageType.Acknowledgement));
    const ack = peer.received.find((m) => m.typeId === MessageType.Acknowledgement)!;
    t.true(ack.payload.readUInt32BE(0) >= 4096);
    peer.destroy();
  } finally {
    await server.close();
  }
});

test('connections beyond maxConnections are refused at accept', async (t) => {
  const { server, port, log } = await serve({ maxConnections: 1 });
  try {
    const first = await RawPeer.open(port);
    await first.shake();
    const second = connect(port, '127.0.0.1');
    second.on('error', () => undefined);
    await new Promise((resolve) => second.once('close', resolve));
    await assertLogged(t, log, (l) => l.includes('1 connections open'));
    first.destroy();
  } finally {
    await server.close();
  }
});

test('rtmpdump connects to a rejected app and is refused while the server goes on', async (t) => {
  const { server, port, log } = await serve();
  try {
    await new Promise((resolve) => execFile('rtmpdump', ['-r', `rtmp://127.0.0.1:${port}/nosuchapp/x`, '-o', '/dev/null', '-m', '3'], { timeout: 15_000 }, resolve));
    await assertLogged(t, log, (l) => l.includes('connect to nosuchapp rejected: No application accepts connections to nosuchapp.'));
    await healthyEcho(port);
  } finally {
    await server.close();
  }
});

test('a stream handler that throws while the connection closes is logged and the server goes on', async (t) => {
  const { server, port, log } = await serve();
  server.onConnect({ connect: (_c, r) => r.properties.app === 'app' || undefined });
  server.onStream({
    play: () => true,
    stop: () => {
      throw new Error('stop hook exploded');
    },
  });
  try {
    const peer = await RawPeer.connected(port, 'app');
    peer.command({ name: 'createStream', transactionId: 2, commandObject: null, args: [] });
    await peer.waitFor((c) => c.transactionId === 2);
    peer.command({ name: 'play', transactionId: 0, commandObject: null, args: ['x'] }, 1);
    await peer.waitFor((c) => c.name === 'onStatus' && JSON.stringify(c.args).includes('Play.Start'));
    peer.destroy();
    await assertLogged(t, log, (l) => l.includes('a stream handler threw: stop hook exploded'));
    await healthyEcho(port);
  } finally {
    await server.close();
  }
});

import { AddressInfo, createServer, Socket } from 'node:net';
import { AmfValue } from '../../lib/protocol/amf/values';
import { ChunkDecoder } from '../../lib/protocol/chunk/decoder';
import { ChunkEncoder } from '../../lib/protocol/chunk/encoder';
import { Command, decodeCommand, encodeCommand } from '../../lib/protocol/commands';
import { ControlMessage, decodeControl, encodeControl, PeerBandwidthLimit } from '../../lib/protocol/control';
import { HandshakeScheme, ServerHandshake } from '../../lib/protocol/handshake';
import { ChunkStreamIds, MessageType, RtmpMessage } from '../../lib/protocol/message';
import { status } from '../../lib/protocol/net-commands';

/** What the client sent, decoded, in arrival order. */
export type Received =
  | { kind: 'control'; message: RtmpMessage; control: ControlMessage }
  | { kind: 'command'; message: RtmpMessage; command: Command }
  | { kind: 'other'; message: RtmpMessage };

/**
 * A server built only on the protocol layer that a test scripts message by message,
 * to see exactly what the client writes and to send what no real server would.
 */
export class ScriptedPeer {
  scheme: HandshakeScheme | undefined;
  bytesSent = 0;
  readonly received: Received[] = [];
  readonly encoder = new ChunkEncoder();
  private readonly waiters: Array<{ test: (r: Received) => boolean; resolve: (r: Received) => void }> = [];

  constructor(readonly socket: Socket) {}

  writeRaw(bytes: Buffer): void {
    this.bytesSent += bytes.length;
    this.socket.write(bytes);
  }

  send(message: RtmpMessage): void {
    this.writeRaw(this.encoder.encode(message));
  }

  sendControl(control: ControlMessage): void {
    this.send(encodeControl(control));
  }

  sendCommand(name: string, transactionId: number, commandObject: AmfValue, args: AmfValue[], streamId = 0): void {
    const { typeId, payload } = encodeCommand({ name, transactionId, commandObject, args });
    this.send({ chunkStreamId: streamId === 0 ? ChunkStreamIds.command : ChunkStreamIds.data, timestamp: 0, typeId, streamId, payload });
  }

  /** Resolves with the first message received (already or later) that passes `test`. */
  next(test: (r: Received) => boolean, timeout = 3_000): Promise<Received> {
    const found = this.received.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('scripted server: the expected message never came')), timeout);
      this.waiters.push({ test, resolve: (r) => (clearTimeout(timer), resolve(r)) });
    });
  }

  command(name: string): Promise<Extract<Received, { kind: 'command' }>> {
    return this.next((r) => r.kind === 'command' && r.command.name === name) as Promise<Extract<Received, { kind: 'command' }>>;
  }

  control(kind: ControlMessage['kind']): Promise<Extract<Received, { kind: 'control' }>> {
    return this.next((r) => r.kind === 'control' && r.control.kind === kind) as Promise<Extract<Received, { kind: 'control' }>>;
  }

  /** @internal */
  receive(message: RtmpMessage): void {
    let entry: Received;
    if (message.typeId >= 1 && message.typeId <= 6) entry = { kind: 'control', message, control: decodeControl(message.typeId, message.payload) };
    else if (message.typeId === MessageType.CommandAmf0 || message.typeId === MessageType.CommandAmf3) {
      entry = { kind: 'command', message, command: decodeCommand(message.typeId, message.payload) };
    } else entry = { kind: 'other', message };
    this.received.push(entry);
    for (const waiter of [...this.waiters]) {
      if (waiter.test(entry)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(entry);
      }
    }
  }
}

export interface ScriptOptions {
  /** Answer connect as our server does (Window Ack Size, Set Peer Bandwidth, _result); default true. */
  acceptConnect?: boolean;
}

/** Listens on a loopback port; `script` runs once per client after the handshake. */
export async function startScripted(
  script: (peer: ScriptedPeer) => void | Promise<void>,
  options: ScriptOptions = {},
): Promise<{ url: string; peers: ScriptedPeer[]; close: () => Promise<void> }> {
  const peers: ScriptedPeer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const peer = new ScriptedPeer(socket);
    peers.push(peer);
    const handshake = new ServerHandshake();
    const decoder = new ChunkDecoder((message) => peer.receive({ ...message, payload: Buffer.from(message.payload) }));
    if (options.acceptConnect ?? true) {
      void peer.command('connect').then(({ command }) => {
        peer.sendControl({ kind: 'windowAcknowledgementSize', size: 2_500_000 });
        peer.sendControl({ kind: 'setPeerBandwidth', size: 2_500_000, limit: PeerBandwidthLimit.Dynamic });
        peer.sendCommand('_result', command.transactionId, { fmsVer: 'FMS/3,5,7,7009', capabilities: 31 }, [
          status('NetConnection.Connect.Success', 'Connection succeeded.'),
        ]);
      }, () => undefined);
    }
    socket.on('data', (data: Buffer) => {
      try {
        if (!handshake.done) {
          const step = handshake.push(data);
          peer.scheme = handshake.scheme;
          for (const out of step.output) peer.writeRaw(out);
          if (!step.done) return;
          void script(peer);
          if (step.leftover.length > 0) decoder.push(step.leftover);
          return;
        }
        decoder.push(data);
      } catch {
        socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `rtmp://127.0.0.1:${port}/scripted`,
    peers,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

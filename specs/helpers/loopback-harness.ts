import { createServer, Server, Socket } from 'node:net';
import { AddressInfo } from 'node:net';
import { ChunkDecoder } from '../../lib/protocol/chunk/decoder';
import { ChunkEncoder } from '../../lib/protocol/chunk/encoder';
import { decodeCommand, encodeCommand } from '../../lib/protocol/commands';
import { encodeControl, PeerBandwidthLimit } from '../../lib/protocol/control';
import { HandshakeScheme, ServerHandshake } from '../../lib/protocol/handshake';
import { ChunkStreamIds, MessageType, RtmpMessage } from '../../lib/protocol/message';
import { AmfValue } from '../../lib/protocol/amf/values';
import { NetCommand, parseNetCommand, status } from '../../lib/protocol/net-commands';

export interface HarnessSession {
  scheme: HandshakeScheme | undefined;
  commands: NetCommand[];
  error?: Error;
}

/**
 * The smallest server the protocol layer allows: handshake, chunk codec and the
 * connect / createStream answers. Enough to prove the codecs against real clients;
 * the real server lives in lib/session.
 */
export async function startHarness(): Promise<{ port: number; sessions: HarnessSession[]; close: () => Promise<void> }> {
  const sessions: HarnessSession[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const session: HarnessSession = { scheme: undefined, commands: [] };
    sessions.push(session);
    const handshake = new ServerHandshake();
    const encoder = new ChunkEncoder();
    const send = (message: RtmpMessage): boolean => socket.write(encoder.encode(message));
    const reply = (streamId: number, name: string, transactionId: number, ...args: AmfValue[]): void => {
      const { typeId, payload } = encodeCommand({ name, transactionId, commandObject: null, args });
      send({ chunkStreamId: ChunkStreamIds.command, timestamp: 0, typeId, streamId, payload });
    };
    const onMessage = (message: RtmpMessage): void => {
      if (message.typeId !== MessageType.CommandAmf0 && message.typeId !== MessageType.CommandAmf3) return;
      const command = parseNetCommand(decodeCommand(message.typeId, message.payload));
      session.commands.push(command);
      switch (command.kind) {
        case 'connect': {
          send(encodeControl({ kind: 'windowAcknowledgementSize', size: 2_500_000 }));
          send(encodeControl({ kind: 'setPeerBandwidth', size: 2_500_000, limit: PeerBandwidthLimit.Dynamic }));
          send(encodeControl({ kind: 'setChunkSize', size: 4096 }));
          encoder.chunkSize = 4096;
          const { typeId, payload } = encodeCommand({
            name: '_result',
            transactionId: command.transactionId,
            commandObject: { fmsVer: 'FMS/3,5,7,7009', capabilities: 31 },
            args: [{ ...status('NetConnection.Connect.Success', 'Connection succeeded.'), objectEncoding: command.properties.objectEncoding }],
          });
          send({ chunkStreamId: ChunkStreamIds.command, timestamp: 0, typeId, streamId: 0, payload });
          break;
        }
        case 'createStream':
          reply(0, '_result', command.transactionId, null, 1);
          break;
        case 'play':
        case 'publish':
          // Far enough: the client has done the handshake, connect and createStream.
          socket.end();
          break;
        default:
          break;
      }
    };
    const decoder = new ChunkDecoder(onMessage);
    socket.on('data', (data: Buffer) => {
      try {
        if (!handshake.done) {
          const step = handshake.push(data);
          session.scheme = handshake.scheme;
          for (const out of step.output) socket.write(out);
          if (step.done && step.leftover.length > 0) decoder.push(step.leftover);
          return;
        }
        decoder.push(data);
      } catch (error) {
        session.error = error as Error;
        socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    sessions,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

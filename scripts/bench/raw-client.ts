/** What the bench's load clients share: a connection's way in, on lib/protocol alone. */
import type { Socket } from 'node:net';
import { connectCommandObject } from '../../lib/client/connect-command';
import type { RtmpTarget } from '../../lib/client/url';
import type { ChunkDecoder } from '../../lib/protocol/chunk/decoder';
import { encodeCommand } from '../../lib/protocol/commands';
import { ClientHandshake } from '../../lib/protocol/handshake';
import { ChunkStreamIds, RtmpMessage } from '../../lib/protocol/message';

/**
 * Starts the simple handshake when `socket` connects, sends `connect` (transaction 1) to
 * `target` once it is done, and hands every chunk byte after it to `decoder`. The function
 * returned takes the socket's reads; it throws on bytes that do not parse.
 */
export function connectingReader(socket: Socket, target: RtmpTarget, decoder: ChunkDecoder, send: (message: RtmpMessage) => void): (data: Buffer) => void {
  const handshake = new ClientHandshake({ scheme: 'simple' });
  socket.on('connect', () => socket.write(handshake.start()));
  return (data) => {
    if (handshake.done) return decoder.push(data);
    const step = handshake.push(data);
    for (const bytes of step.output) socket.write(bytes);
    if (!step.done) return;
    const { typeId, payload } = encodeCommand({ name: 'connect', transactionId: 1, commandObject: connectCommandObject(target), args: [] }, 0);
    send({ chunkStreamId: ChunkStreamIds.command, timestamp: 0, typeId, streamId: 0, payload });
    if (step.leftover.length > 0) decoder.push(step.leftover);
  };
}

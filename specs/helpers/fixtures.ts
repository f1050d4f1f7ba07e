import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChunkDecoder } from '../../lib/protocol/chunk/decoder';
import { RtmpMessage } from '../../lib/protocol/message';

export const HANDSHAKE_BYTES = 1 + 1536 + 1536;

export function fixture(name: string): Buffer {
  return readFileSync(join(__dirname, '..', 'fixtures', name));
}

/** The chunk stream of a recorded session direction: everything after C0/C1/C2 (or S0/S1/S2). */
export function chunkBytes(name: string): Buffer {
  return fixture(name).subarray(HANDSHAKE_BYTES);
}

/** Decodes `bytes` fed in the pieces given by `sizes` (cycled), collecting every message. */
export function decodeInPieces(bytes: Buffer, sizes: number[] = [bytes.length]): RtmpMessage[] {
  const messages: RtmpMessage[] = [];
  const decoder = new ChunkDecoder((message) => messages.push({ ...message, payload: Buffer.from(message.payload) }));
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    decoder.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return messages;
}

import test from 'ava';
import fc from 'fast-check';
import { ChunkDecoder } from '../../lib/protocol/chunk/decoder';
import { chunkBodyLength, ChunkEncoder, chunkPieces, encodeChunkBody, encodeStandalone, writeChunkBody, writeChunkPieces } from '../../lib/protocol/chunk/encoder';
import { ProtocolError } from '../../lib/protocol/errors';
import { MessageType, RtmpMessage } from '../../lib/protocol/message';
import { encodeControl } from '../../lib/protocol/control';
import { decodeInPieces } from '../helpers/fixtures';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

function message(overrides: Partial<RtmpMessage> = {}): RtmpMessage {
  return { chunkStreamId: 4, timestamp: 0, typeId: MessageType.Audio, streamId: 1, payload: Buffer.alloc(10, 7), ...overrides };
}

function encodeAll(messages: RtmpMessage[], chunkSize = 128): Buffer {
  const encoder = new ChunkEncoder();
  encoder.chunkSize = chunkSize;
  return Buffer.concat(messages.map((m) => encoder.encode(m)));
}

function decodeAll(bytes: Buffer, chunkSize = 128): RtmpMessage[] {
  const out: RtmpMessage[] = [];
  const decoder = new ChunkDecoder((m) => out.push(m));
  decoder.chunkSize = chunkSize;
  decoder.push(bytes);
  return out;
}

test('decodes a type-0 chunk with a little-endian message stream id', (t) => {
  const bytes = hex('04 000010 000003 08 01000000 AABBCC');
  const [decoded] = decodeAll(bytes);
  t.deepEqual(decoded, { chunkStreamId: 4, timestamp: 16, typeId: 8, streamId: 1, payload: hex('AABBCC') });
});

test('reads 2-byte and 3-byte basic headers (chunk stream ids 64..65599)', (t) => {
  for (const id of [64, 319, 320, 65599]) {
    const encoded = encodeAll([message({ chunkStreamId: id })]);
    t.is(encoded.length, (id < 320 ? 2 : 3) + 11 + 10);
    t.is(decodeAll(encoded)[0]!.chunkStreamId, id);
  }
  t.deepEqual(hex('01 FF FF').subarray(1), Buffer.from([0xff, 0xff]));
  const [top] = decodeAll(Buffer.concat([hex('01 FF FF 000000 000001 08 00000000'), hex('AA')]));
  t.is(top!.chunkStreamId, 65599);
});

test('applies type-1, type-2 and type-3 headers as timestamp deltas (the spec example)', (t) => {
  // Spec example 1: fmt 0 at 1000, then fmt 2 delta 20, then two fmt 3 messages.
  const bytes = Buffer.concat([
    hex('03 0003E8 000002 08 01000000 0102'),
    hex('83 000014 0304'),
    hex('C3 0506'),
    hex('C3 0708'),
    hex('43 00000A 000001 09 09'),
  ]);
  const decoded = decodeAll(bytes);
  t.deepEqual(decoded.map((m) => m.timestamp), [1000, 1020, 1040, 1060, 1070]);
  t.deepEqual(decoded.map((m) => m.typeId), [8, 8, 8, 8, 9]);
  t.deepEqual(decoded.map((m) => m.streamId), [1, 1, 1, 1, 1]);
});

test('a type-3 header right after a type-0 header repeats the same timestamp', (t) => {
  const decoded = decodeAll(Buffer.concat([hex('03 000064 000001 08 01000000 01'), hex('C3 02')]));
  t.deepEqual(decoded.map((m) => m.timestamp), [100, 100]);
});

test('reassembles a message split into chunks of the current chunk size', (t) => {
  const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
  const bytes = encodeAll([message({ payload, typeId: 9 })]);
  // 1 + 11 header, 300 payload, two 1-byte continuation headers.
  t.is(bytes.length, 12 + 300 + 2);
  t.is(bytes[12 + 128], 0xc4);
  t.deepEqual(decodeAll(bytes)[0]!.payload, payload);
});

test('keeps one partial message per chunk stream when streams interleave', (t) => {
  const a = Buffer.alloc(200, 0xaa);
  const b = Buffer.alloc(200, 0xbb);
  const bytes = Buffer.concat([
    hex('04 000000 0000C8 08 01000000'), a.subarray(0, 128),
    hex('06 000000 0000C8 09 01000000'), b.subarray(0, 128),
    hex('C4'), a.subarray(128),
    hex('C6'), b.subarray(128),
  ]);
  const decoded = decodeAll(bytes);
  t.deepEqual(decoded.map((m) => m.chunkStreamId), [4, 6]);
  t.deepEqual(decoded[0]!.payload, a);
  t.deepEqual(decoded[1]!.payload, b);
});

test('reads an extended timestamp, and again on every type-3 continuation', (t) => {
  const payload = Buffer.alloc(200, 1);
  const bytes = encodeAll([message({ timestamp: 0x01000000, payload })]);
  // 1 + 11 + 4 extended, 128 payload, then C4 + the 4 extended bytes again, 72 payload.
  t.is(bytes.length, 16 + 128 + 5 + 72);
  t.deepEqual(bytes.subarray(16 + 128, 16 + 128 + 5), hex('C4 01000000'));
  const [decoded] = decodeAll(bytes);
  t.is(decoded!.timestamp, 0x01000000);
  t.deepEqual(decoded!.payload, payload);
});

test('reads an extended timestamp delta on type-1 and type-2 headers', (t) => {
  const bytes = Buffer.concat([
    hex('04 000001 000001 08 01000000 01'),
    hex('84 FFFFFF 01000000 02'),
  ]);
  t.deepEqual(decodeAll(bytes).map((m) => m.timestamp), [1, 0x01000001]);
});

test('timestamps wrap modulo 2^32', (t) => {
  const bytes = Buffer.concat([hex('04 FFFFFF 000001 08 01000000 FFFFFFF0 01'), hex('84 000020 02')]);
  t.deepEqual(decodeAll(bytes).map((m) => m.timestamp), [0xfffffff0, 0x10]);
});

test('Set Chunk Size changes how the very next chunk is read', (t) => {
  const big = Buffer.alloc(1000, 5);
  const encoder = new ChunkEncoder();
  const first = encoder.encode(encodeControl({ kind: 'setChunkSize', size: 4096 }));
  encoder.chunkSize = 4096;
  const second = encoder.encode(message({ payload: big }));
  t.is(second.length, 12 + 1000);
  const decoded = decodeAll(Buffer.concat([first, second]));
  t.is(decoded.length, 2);
  t.deepEqual(decoded[1]!.payload, big);
});

test('rejects a chunk size with the top bit set', (t) => {
  const error = t.throws(() => decodeAll(hex('02 000000 000004 01 00000000 80000000')), { instanceOf: ProtocolError });
  t.is(error?.code, 'ERR_CHUNK_SIZE');
});

test('rejects a chunk size of zero', (t) => {
  const error = t.throws(() => decodeAll(hex('02 000000 000004 01 00000000 00000000')), { instanceOf: ProtocolError });
  t.is(error?.code, 'ERR_CHUNK_SIZE');
});

test('Abort drops the partial message of the named chunk stream', (t) => {
  const bytes = Buffer.concat([
    hex('04 000000 0000C8 08 01000000'), Buffer.alloc(128, 1),
    hex('02 000000 000004 02 00000000 00000004'),
    hex('04 000005 000002 08 01000000 0A0B'),
  ]);
  const decoded = decodeAll(bytes);
  t.deepEqual(decoded.map((m) => m.typeId), [MessageType.Abort, 8]);
  t.deepEqual(decoded[1]!.payload, hex('0A0B'));
  t.is(decoded[1]!.timestamp, 5);
});

test('rejects a message longer than the configured limit', (t) => {
  const decoder = new ChunkDecoder(() => undefined, { maxMessageSize: 1000 });
  const error = t.throws(() => decoder.push(hex('04 000000 0003E9 08 01000000')), { instanceOf: ProtocolError });
  t.is(error?.code, 'ERR_MESSAGE_TOO_LARGE');
});

test('bounds the bytes of incomplete messages across chunk streams', (t) => {
  const decoder = new ChunkDecoder(() => undefined, { maxPendingBytes: 300 });
  const partial = (csid: number): Buffer => Buffer.concat([Buffer.of(csid), hex('000000 000400 08 01000000'), Buffer.alloc(128)]);
  decoder.push(partial(4));
  decoder.push(partial(5));
  const error = t.throws(() => decoder.push(partial(6)), { instanceOf: ProtocolError });
  t.is(error?.code, 'ERR_MESSAGE_TOO_LARGE');
});

test('rejects a first header on a chunk stream that is not type 0', (t) => {
  const error = t.throws(() => decodeAll(hex('44 000000 000001 08 00')), { instanceOf: ProtocolError });
  t.is(error?.code, 'ERR_CHUNK_NO_PREVIOUS_HEADER');
});

test('rejects a new message header in the middle of a message', (t) => {
  const bytes = Buffer.concat([hex('04 000000 0000C8 08 01000000'), Buffer.alloc(128), hex('44 000000 000001 08 00')]);
  const error = t.throws(() => decodeAll(bytes), { instanceOf: ProtocolError });
  t.is(error?.code, 'ERR_CHUNK_INTERRUPTED');
});

test('emits a zero-length message', (t) => {
  const [decoded] = decodeAll(hex('03 000000 000000 14 00000000'));
  t.is(decoded!.payload.length, 0);
});

test('hands out a view of the input, not a copy, when a message arrives in one piece', (t) => {
  const input = Buffer.concat([hex('04 000000 000003 08 01000000'), hex('010203')]);
  const [decoded] = decodeAll(input);
  t.is(decoded!.payload.buffer, input.buffer);
});

test('counts every byte received for acknowledgements', (t) => {
  const decoder = new ChunkDecoder(() => undefined);
  decoder.push(hex('04 000000 000003'));
  decoder.push(hex('08 01000000 010203'));
  t.is(decoder.bytesReceived, 15);
});

test('the encoder picks the smallest correct header type', (t) => {
  const encoder = new ChunkEncoder();
  const first = encoder.encode(message({ timestamp: 0 }));
  const sameSizeNewDelta = encoder.encode(message({ timestamp: 23 }));
  const sameDelta = encoder.encode(message({ timestamp: 46 }));
  const newLength = encoder.encode(message({ timestamp: 69, payload: Buffer.alloc(5) }));
  const newStream = encoder.encode(message({ timestamp: 92, streamId: 2 }));
  const backwards = encoder.encode(message({ timestamp: 10, streamId: 2 }));
  t.deepEqual([first, sameSizeNewDelta, sameDelta, newLength, newStream, backwards].map((b) => b[0]! >> 6), [0, 2, 3, 1, 0, 0]);
});

test('the encoder never uses type 3 for a new message right after type 0', (t) => {
  const encoder = new ChunkEncoder();
  encoder.encode(message({ timestamp: 0 }));
  t.is(encoder.encode(message({ timestamp: 0 }))[0]! >> 6, 2);
});

test('a standalone encoding decodes the same for any peer and the encoder continues after it', (t) => {
  const shared = encodeStandalone(message({ timestamp: 5000, payload: Buffer.alloc(300, 9) }), 128);
  const encoder = new ChunkEncoder();
  encoder.adopt(message({ timestamp: 5000, payload: Buffer.alloc(300, 9) }));
  const next = encoder.encode(message({ timestamp: 5040, payload: Buffer.alloc(300, 8) }));
  t.is(next[0]! >> 6, 2);
  const decoded = decodeAll(Buffer.concat([shared, next]));
  t.deepEqual(decoded.map((m) => m.timestamp), [5000, 5040]);
  t.deepEqual(decoded[1]!.payload, Buffer.alloc(300, 8));
});

test('the encoder refuses a payload over the 24-bit length', (t) => {
  const error = t.throws(() => new ChunkEncoder().encode(message({ payload: Buffer.alloc(0x1000000) })), { instanceOf: ProtocolError });
  t.is(error?.code, 'ERR_MESSAGE_TOO_LARGE');
});

const messageArbitrary = fc.record({
  chunkStreamId: fc.oneof(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 60, max: 400 }), fc.integer({ min: 2, max: 65599 })),
  timestamp: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 0xffffffff })),
  typeId: fc.constantFrom(8, 9, 18, 20),
  streamId: fc.integer({ min: 0, max: 3 }),
  payload: fc.uint8Array({ maxLength: 700 }).map((a) => Buffer.from(a)),
});

test('encode then decode returns the same messages for any sequence, chunk size and split', (t) => {
  fc.assert(
    fc.property(
      fc.array(messageArbitrary, { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 1024 }),
      fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 5 }),
      (messages, chunkSize, pieces) => {
        const encoder = new ChunkEncoder();
        encoder.chunkSize = chunkSize;
        const bytes = Buffer.concat(messages.map((m) => encoder.encode(m)));
        const out: RtmpMessage[] = [];
        const decoder = new ChunkDecoder((m) => out.push({ ...m, payload: Buffer.from(m.payload) }));
        decoder.chunkSize = chunkSize;
        let offset = 0;
        for (let i = 0; offset < bytes.length; i++) {
          const size = pieces[i % pieces.length]!;
          decoder.push(bytes.subarray(offset, offset + size));
          offset += size;
        }
        t.deepEqual(out, messages);
      },
    ),
    { numRuns: 300 },
  );
});

test('random bytes never throw anything but ProtocolError', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        new ChunkDecoder(() => undefined).push(Buffer.from(bytes));
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
      }
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('decodeInPieces helper agrees with a single push', (t) => {
  const bytes = encodeAll([message(), message({ timestamp: 20 })]);
  t.deepEqual(decodeInPieces(bytes, [1]), decodeAll(bytes).map((m) => ({ ...m, payload: Buffer.from(m.payload) })));
});

test('a shared chunk body plus a per-peer header decodes like a whole encoding', (t) => {
  const payload = Buffer.from(Array.from({ length: 9000 }, (_, i) => i % 251));
  const body = encodeChunkBody(payload, 4096, 6);
  t.is(body.length, 9000 + 2, 'two type-3 continuation headers');
  const peers = [new ChunkEncoder(), new ChunkEncoder()];
  for (const [i, encoder] of peers.entries()) {
    encoder.chunkSize = 4096;
    encoder.encode(message({ chunkStreamId: 6, typeId: 9, timestamp: 100 * i, payload: Buffer.alloc(10) }));
    const header = encoder.encodeHeader({ chunkStreamId: 6, typeId: 9, streamId: 1, timestamp: 100 * i + 40 }, payload.length)!;
    const decoded = decodeAll(Buffer.concat([encodeAll([message({ chunkStreamId: 6, typeId: 9, timestamp: 100 * i, payload: Buffer.alloc(10) })], 4096), header, body]), 4096);
    t.is(decoded.length, 2);
    t.deepEqual(decoded[1]!.payload, payload);
    t.is(decoded[1]!.timestamp, 100 * i + 40);
  }
});

test('a payload that fits one chunk is its own shared body, not a copy', (t) => {
  const payload = Buffer.alloc(100, 3);
  t.is(encodeChunkBody(payload, 128, 4), payload);
});

test('a chunk body written into a larger buffer is the shared body byte for byte, for 1-, 2- and 3-byte basic headers', (t) => {
  const payload = Buffer.from(Array.from({ length: 10_001 }, (_, i) => (i * 7) % 256));
  for (const chunkStreamId of [6, 64, 319, 320, 65_599]) {
    for (const chunkSize of [128, 4096, 10_000, 10_001]) {
      const body = encodeChunkBody(payload, chunkSize, chunkStreamId);
      const length = chunkBodyLength(payload.length, chunkSize, chunkStreamId);
      t.is(length, body.length, `length for csid ${chunkStreamId}, chunk size ${chunkSize}`);
      const out = Buffer.alloc(length + 20, 0xee);
      t.is(writeChunkBody(payload, chunkSize, chunkStreamId, out, 7), 7 + length);
      t.true(out.subarray(7, 7 + length).equals(body), `bytes for csid ${chunkStreamId}, chunk size ${chunkSize}`);
      t.is(out[6], 0xee, 'nothing before');
      t.is(out[7 + length], 0xee, 'nothing after');
    }
  }
});

test('a chunk body written from the payload cut into pieces is the same bytes, and the pieces are views, not copies', (t) => {
  const payload = Buffer.from(Array.from({ length: 10_001 }, (_, i) => (i * 11) % 256));
  for (const chunkStreamId of [6, 64, 320]) {
    for (const chunkSize of [128, 4096, 10_001]) {
      const pieces = chunkPieces(payload, chunkSize);
      t.is(pieces.length, Math.ceil(payload.length / chunkSize));
      t.true(pieces.every((piece) => piece.buffer === payload.buffer), 'views on the payload');
      const length = chunkBodyLength(payload.length, chunkSize, chunkStreamId);
      const out = Buffer.alloc(length + 20, 0xee);
      t.is(writeChunkPieces(pieces, chunkStreamId, out, 5), 5 + length);
      t.true(out.subarray(5, 5 + length).equals(encodeChunkBody(payload, chunkSize, chunkStreamId)), `csid ${chunkStreamId}, chunk size ${chunkSize}`);
      t.is(out[5 + length], 0xee, 'nothing after');
    }
  }
});

test('encodeHeader declines when an extended timestamp is needed', (t) => {
  t.is(new ChunkEncoder().encodeHeader({ chunkStreamId: 6, typeId: 9, streamId: 1, timestamp: 0x1000000 }, 10), undefined);
});

import test from 'ava';
import { PassThrough } from 'node:stream';
import { firstValueFrom, lastValueFrom, Observable, tap, toArray } from 'rxjs';
import { demuxChunks } from '../../lib/pipeline/demux';
import { acceptHandshake } from '../../lib/pipeline/handshake';
import { receiveMessages } from '../../lib/pipeline/inbound';
import { fromTransport } from '../../lib/pipeline/transport';
import { ProtocolError } from '../../lib/protocol/errors';
import { RtmpMessage } from '../../lib/protocol/message';
import { fixture, HANDSHAKE_BYTES } from '../helpers/fixtures';

/** ffmpeg publishing H.264 + AAC to nginx-rtmp, as recorded: C0, C1, C2, then the chunk stream. */
const session = fixture('ffmpeg-publish-h264-aac.c2s');

/** Writes `bytes` into a fresh transport in pieces of the given sizes (cycled), then ends it. */
function feed(transport: PassThrough, bytes: Buffer, sizes: number[]): void {
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    transport.write(bytes.subarray(offset, offset + size));
    offset += size;
  }
  transport.end();
}

interface Seen {
  messages: RtmpMessage[];
  reads: number;
  answers: number;
  done: number;
}

async function through(build: (transport: PassThrough, seen: Seen) => Observable<RtmpMessage>, sizes: number[]): Promise<Seen> {
  const transport = new PassThrough();
  const seen: Seen = { messages: [], reads: 0, answers: 0, done: 0 };
  const all = lastValueFrom(build(transport, seen).pipe(toArray()));
  feed(transport, session, sizes);
  seen.messages = (await all).map((m) => ({ ...m, payload: Buffer.from(m.payload) }));
  return seen;
}

const fused = (transport: PassThrough, seen: Seen) =>
  receiveMessages(transport, {
    handshake: { send: () => seen.answers++, done: () => seen.done++ },
    onRead: () => seen.reads++,
  });

const chained = (transport: PassThrough, seen: Seen) =>
  fromTransport(transport).pipe(
    tap(() => seen.reads++),
    acceptHandshake({ send: () => seen.answers++, done: () => seen.done++ }),
    demuxChunks(),
  );

for (const sizes of [[session.length], [HANDSHAKE_BYTES + 5, 4096], [1], [7, 1536, 333, 65536]]) {
  test(`receiveMessages gives what the operator chain gives, read in pieces of ${sizes.join(', ')}`, async (t) => {
    const [ours, theirs] = [await through(fused, sizes), await through(chained, sizes)];
    t.true(ours.messages.length > 300, `${ours.messages.length} messages`);
    t.deepEqual(ours.messages, theirs.messages);
    t.is(ours.reads, theirs.reads);
    t.is(ours.done, 1, 'the handshake is done once');
    t.is(ours.answers, theirs.answers);
  });
}

test('a handshake that does not parse errors the Observable', async (t) => {
  const transport = new PassThrough();
  const messages = firstValueFrom(receiveMessages(transport, { handshake: { send: () => undefined } }));
  transport.write(Buffer.from([0x09, ...Buffer.alloc(1536)]));
  const error = await t.throwsAsync(messages);
  t.true(error instanceof ProtocolError, String(error));
});

test('a chunk that breaks a limit errors the Observable, and nothing after it is emitted', async (t) => {
  const transport = new PassThrough();
  const seen: RtmpMessage[] = [];
  const done = new Promise<unknown>((resolve) =>
    receiveMessages(transport, { handshake: { send: () => undefined }, limits: { maxMessageSize: 1000 } }).subscribe({ next: (m) => seen.push(m), error: resolve }),
  );
  feed(transport, session, [session.length]);
  const error = await done;
  t.true(error instanceof ProtocolError && error.code === 'ERR_MESSAGE_TOO_LARGE', String(error));
  t.true(seen.every((m) => m.payload.length <= 1000));
});

test('unsubscribing lets go of the transport', (t) => {
  const transport = new PassThrough();
  const subscription = receiveMessages(transport, { handshake: { send: () => undefined } }).subscribe();
  t.is(transport.listenerCount('data'), 1);
  subscription.unsubscribe();
  for (const event of ['data', 'end', 'close', 'error']) t.is(transport.listenerCount(event), 0, event);
});

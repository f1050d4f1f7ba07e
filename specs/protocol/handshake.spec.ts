import test from 'ava';
import fc from 'fast-check';
import {
  ClientHandshake,
  HANDSHAKE_SIZE,
  HandshakeStep,
  PLAYER_KEY,
  PLAYER_KEY_FULL,
  SERVER_KEY,
  SERVER_KEY_FULL,
  ServerHandshake,
  locateDigest,
  verifyResponse,
} from '../../lib/protocol/handshake';
import { ProtocolError } from '../../lib/protocol/errors';

import { fixture } from '../helpers/fixtures';

// Recorded sessions (specs/fixtures, from the shared corpus): nginx-rtmp serving ffmpeg 5.1 and rtmpdump 2.4.
const ffmpegPlayC2s = fixture('ffmpeg-play-live.c2s');
const ffmpegPlayS2c = fixture('ffmpeg-play-live.s2c.head');
const ffmpegPublishC2s = fixture('ffmpeg-publish-h264-aac.c2s');
const ffmpegPublishS2c = fixture('ffmpeg-publish-h264-aac.s2c');
const rtmpdumpC2s = fixture('rtmpdump-connect-args.c2s');
const rtmpdumpS2c = fixture('rtmpdump-connect-args.s2c');

const END = 1 + 2 * HANDSHAKE_SIZE;
/** C1/S1 and C2/S2 within one direction of a session. */
const first = (stream: Buffer): Buffer => stream.subarray(1, 1 + HANDSHAKE_SIZE);
const second = (stream: Buffer): Buffer => stream.subarray(1 + HANDSHAKE_SIZE, END);

/** Deterministic randomness: a seeded xorshift, so outputs are reproducible and comparable. */
const seeded = (seed: number) => (size: number): Buffer => {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  seed = x;
  return out;
};

/** Randomness that hands out given buffers in order, checking each request's size. */
const scripted = (...buffers: Buffer[]) => (size: number): Buffer => {
  const next = buffers.shift();
  if (!next || next.length !== size) throw new Error(`unexpected randomBytes(${size})`);
  return Buffer.from(next);
};

const digestOf = (packet: Buffer, key: Buffer): Buffer => {
  const found = locateDigest(packet, key);
  if (!found) throw new Error('no digest');
  return packet.subarray(found.offset, found.offset + 32);
};

const joined = (step: HandshakeStep): Buffer => Buffer.concat(step.output);

const isCode = (code: string) => ({ instanceOf: ProtocolError, code });

test('ffmpeg C1 carries a digest-first digest signed with the 30-byte player key', (t) => {
  const c1 = first(ffmpegPlayC2s);
  t.is(ffmpegPlayC2s[0], 3);
  t.deepEqual([...c1.subarray(4, 8)], [0x09, 0x00, 0x7c, 0x02]);
  t.deepEqual(locateDigest(c1, PLAYER_KEY), { scheme: 'digest-first', offset: 494 });
  t.is(locateDigest(c1, SERVER_KEY), undefined);
  // ffmpeg's C1 is deterministic: the publishing session sent the same bytes.
  t.true(first(ffmpegPublishC2s).equals(c1));
});

test("nginx's S1 digest verifies with the 36-byte server key in the digest-first layout", (t) => {
  for (const s2c of [ffmpegPlayS2c, ffmpegPublishS2c]) {
    const s1 = first(s2c);
    t.is(s2c[0], 3);
    t.deepEqual([...s1.subarray(4, 8)], [0x0d, 0x0e, 0x0a, 0x0d]);
    t.is(locateDigest(s1, SERVER_KEY)?.scheme, 'digest-first');
    t.is(locateDigest(s1, PLAYER_KEY), undefined);
  }
});

test("nginx's S2 is signed with a key derived from ffmpeg's C1 digest and the 68-byte server key", (t) => {
  const c1Digest = digestOf(first(ffmpegPlayC2s), PLAYER_KEY);
  for (const s2c of [ffmpegPlayS2c, ffmpegPublishS2c]) {
    const s2 = second(s2c);
    t.true(verifyResponse(s2, c1Digest, SERVER_KEY_FULL));
    t.false(verifyResponse(s2, c1Digest, PLAYER_KEY_FULL));
    t.false(verifyResponse(s2, c1Digest, SERVER_KEY));
  }
});

test("ffmpeg signs C2 from nginx's S1 digest when playing, and echoes S1 when publishing", (t) => {
  const playS1Digest = digestOf(first(ffmpegPlayS2c), SERVER_KEY);
  t.true(verifyResponse(second(ffmpegPlayC2s), playS1Digest, PLAYER_KEY_FULL));
  t.false(verifyResponse(second(ffmpegPlayC2s), playS1Digest, SERVER_KEY_FULL));
  t.true(second(ffmpegPublishC2s).equals(first(ffmpegPublishS2c)));
});

test("server answers rtmpdump's simple C1 with S1[4..7] zero and S2 = C1", (t) => {
  const server = new ServerHandshake({ randomBytes: seeded(7), now: () => 0x01020304 });
  const out = joined(server.push(rtmpdumpC2s.subarray(0, 1 + HANDSHAKE_SIZE)));
  t.is(server.scheme, 'simple');
  t.deepEqual([...server.clientVersion!], [0, 0, 0, 0]);
  t.is(out.length, END);
  t.is(out[0], 3);
  const s1 = first(out);
  t.is(s1.readUInt32BE(0), 0x01020304);
  t.deepEqual([...s1.subarray(4, 8)], [0, 0, 0, 0]);
  t.true(second(out).equals(first(rtmpdumpC2s)));
});

test("server answers ffmpeg's C1 with a digest S1 and an S2 signed from C1's digest, as nginx did", (t) => {
  const nginxS2 = second(ffmpegPlayS2c);
  const server = new ServerHandshake({ randomBytes: scripted(seeded(3)(1528), nginxS2.subarray(0, 1504)) });
  const out = joined(server.push(ffmpegPlayC2s.subarray(0, 1 + HANDSHAKE_SIZE)));
  t.is(server.scheme, 'digest-first');
  t.deepEqual([...server.clientVersion!], [0x09, 0x00, 0x7c, 0x02]);
  const s1 = first(out);
  t.deepEqual([...s1.subarray(4, 8)], [0x04, 0x05, 0x00, 0x01]);
  t.is(locateDigest(s1, SERVER_KEY)?.scheme, 'digest-first');
  const c1Digest = digestOf(first(ffmpegPlayC2s), PLAYER_KEY);
  t.true(verifyResponse(second(out), c1Digest, SERVER_KEY_FULL));
  // Same C1 and same random part as nginx used: the signature must come out identical.
  t.true(second(out).equals(nginxS2));
});

test("client reproduces ffmpeg's C1 and signed C2 byte for byte and accepts nginx's answer", (t) => {
  const c1 = first(ffmpegPlayC2s);
  const c2 = second(ffmpegPlayC2s);
  const client = new ClientHandshake({
    now: () => c1.readUInt32BE(0),
    randomBytes: scripted(c1.subarray(8), c2.subarray(0, 1504)),
  });
  t.true(client.start().equals(ffmpegPlayC2s.subarray(0, 1 + HANDSHAKE_SIZE)));
  const step = client.push(ffmpegPlayS2c);
  t.true(joined(step).equals(c2));
  t.true(step.done);
  t.is(step.leftover.length, 0);
  t.is(client.scheme, 'digest-first');
});

test("client echoes S1 as C2 when the server answers its digest C1 simply (nginx's rtmpdump answer)", (t) => {
  const client = new ClientHandshake({ randomBytes: seeded(5) });
  client.start();
  const step = client.push(rtmpdumpS2c);
  t.true(step.done);
  t.is(client.scheme, 'simple');
  t.true(joined(step).equals(first(rtmpdumpS2c)));
  t.true(step.leftover.equals(rtmpdumpS2c.subarray(END)));
});

test("server accepts every recorded C2 without checking it (signed, echoed S1, rtmpdump's echo)", (t) => {
  for (const c2s of [ffmpegPlayC2s, ffmpegPublishC2s, rtmpdumpC2s]) {
    const server = new ServerHandshake();
    t.true(server.push(c2s.subarray(0, END)).done);
  }
});

test('server returns everything after C2 as leftover: the start of the connect chunk', (t) => {
  for (const c2s of [ffmpegPlayC2s, rtmpdumpC2s]) {
    const step = new ServerHandshake().push(c2s);
    t.true(step.done);
    t.true(step.leftover.equals(c2s.subarray(END)));
    t.is(step.leftover[0], 0x03); // fmt 0, chunk stream 3
    t.is(step.leftover.subarray(12, 22).toString('latin1'), '\x02\x00\x07connect');
  }
});

test('server fed byte by byte gives the same output as fed at once, sent exactly when C1 completes', (t) => {
  for (const c2s of [ffmpegPlayC2s, rtmpdumpC2s]) {
    const whole = new ServerHandshake({ randomBytes: seeded(9), now: () => 42 });
    const expected = joined(whole.push(c2s.subarray(0, END)));
    const server = new ServerHandshake({ randomBytes: seeded(9), now: () => 42 });
    const out: Buffer[] = [];
    for (let i = 0; i < END; i++) {
      const step = server.push(c2s.subarray(i, i + 1));
      t.is(step.output.length > 0, i === HANDSHAKE_SIZE, `output at byte ${i}`);
      t.is(step.done, i === END - 1);
      out.push(...step.output);
    }
    t.true(Buffer.concat(out).equals(expected));
  }
});

test('any split of a recorded c2s yields the same output and the same leftover bytes', (t) => {
  const expected = joined(new ServerHandshake({ randomBytes: seeded(11), now: () => 1 }).push(ffmpegPlayC2s));
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 1, max: ffmpegPlayC2s.length - 1 }), { maxLength: 12 }), (cuts) => {
      const bounds = [0, ...cuts.sort((a, b) => a - b), ffmpegPlayC2s.length];
      const server = new ServerHandshake({ randomBytes: seeded(11), now: () => 1 });
      const out: Buffer[] = [];
      const rest: Buffer[] = [];
      for (let i = 0; i + 1 < bounds.length; i++) {
        const piece = ffmpegPlayC2s.subarray(bounds[i], bounds[i + 1]);
        if (server.done) rest.push(piece);
        else {
          const step = server.push(piece);
          out.push(...step.output);
          rest.push(step.leftover);
        }
      }
      return Buffer.concat(out).equals(expected) && Buffer.concat(rest).equals(ffmpegPlayC2s.subarray(END));
    }),
  );
  t.pass();
});

test('client and server complete the simple handshake with each other', (t) => {
  const client = new ClientHandshake({ scheme: 'simple', randomBytes: seeded(1) });
  const server = new ServerHandshake({ randomBytes: seeded(2) });
  const c01 = client.start();
  t.deepEqual([...c01.subarray(5, 9)], [0, 0, 0, 0]);
  const s = server.push(c01);
  const c = client.push(joined(s));
  t.true(c.done);
  t.is(client.scheme, 'simple');
  t.true(joined(c).equals(first(joined(s))), 'C2 echoes S1');
  const end = server.push(Buffer.concat([...c.output, Buffer.from('next')]));
  t.true(end.done);
  t.is(server.scheme, 'simple');
  t.is(end.leftover.toString(), 'next');
});

for (const layout of ['digest-first', 'key-first'] as const) {
  test(`client and server complete the digest handshake with each other (${layout})`, (t) => {
    const client = new ClientHandshake({ layout, randomBytes: seeded(21) });
    const server = new ServerHandshake({ randomBytes: seeded(22) });
    const c01 = client.start();
    t.is(locateDigest(c01.subarray(1), PLAYER_KEY)?.scheme, layout);
    const s = joined(server.push(c01));
    t.is(server.scheme, layout);
    t.is(locateDigest(first(s), SERVER_KEY)?.scheme, layout, 'S1 uses the layout C1 used');
    const c = client.push(s);
    t.true(c.done);
    t.is(client.scheme, layout);
    t.true(verifyResponse(joined(c), digestOf(first(s), SERVER_KEY), PLAYER_KEY_FULL), 'C2 is signed');
    t.true(server.push(joined(c)).done);
  });
}

test('wrong C0/S0 versions throw ERR_HANDSHAKE_VERSION on the first byte', (t) => {
  const rtmpe = t.throws(() => new ServerHandshake().push(Buffer.from([6])), isCode('ERR_HANDSHAKE_VERSION'));
  t.regex(rtmpe!.message, /0x06.*RTMPE/);
  const zero = t.throws(() => new ServerHandshake().push(Buffer.from([0])), isCode('ERR_HANDSHAKE_VERSION'));
  t.regex(zero!.message, /0x00/);
  const client = new ClientHandshake();
  client.start();
  t.throws(() => client.push(Buffer.from([6])), isCode('ERR_HANDSHAKE_VERSION'));
  t.throws(() => client.push(Buffer.from([3])), isCode('ERR_HANDSHAKE_STATE'), 'a failed handshake stays failed');
});

test('C1 with a nonzero version but a garbage digest falls back to the simple answer', (t) => {
  const c1 = seeded(31)(HANDSHAKE_SIZE);
  c1.writeUInt32BE(0x0a0b0c0d, 4);
  const server = new ServerHandshake({ randomBytes: seeded(32) });
  const out = joined(server.push(Buffer.concat([Buffer.from([3]), c1])));
  t.is(server.scheme, 'simple');
  t.deepEqual([...server.clientVersion!], [0x0a, 0x0b, 0x0c, 0x0d]);
  t.deepEqual([...first(out).subarray(4, 8)], [0, 0, 0, 0]);
  t.true(second(out).equals(c1));
});

test('client rejects an S1 whose digest was tampered with, and an S2 with a bad signature', (t) => {
  const badS1 = Buffer.from(ffmpegPlayS2c);
  badS1[1 + 100] ^= 0x01; // inside nginx's S1 digest (offset 89..120)
  const client = new ClientHandshake();
  client.start();
  t.throws(() => client.push(badS1), isCode('ERR_HANDSHAKE_DIGEST'));

  // S2 is checked against our own C1's digest, so replay ffmpeg's C1 exactly.
  const c1 = first(ffmpegPlayC2s);
  const badS2 = Buffer.from(ffmpegPlayS2c);
  badS2[END - 1] ^= 0x80;
  const replay = new ClientHandshake({ now: () => 0, randomBytes: scripted(c1.subarray(8), seeded(4)(1504)) });
  replay.start();
  t.throws(() => replay.push(badS2), isCode('ERR_HANDSHAKE_DIGEST'));
});

test('state errors: pushing after done, pushing before start, starting twice', (t) => {
  const server = new ServerHandshake();
  t.true(server.push(rtmpdumpC2s.subarray(0, END)).done);
  t.throws(() => server.push(Buffer.from([3])), isCode('ERR_HANDSHAKE_STATE'));
  const client = new ClientHandshake();
  t.throws(() => client.push(Buffer.from([3])), isCode('ERR_HANDSHAKE_STATE'));
  client.start();
  t.throws(() => client.start(), isCode('ERR_HANDSHAKE_STATE'));
});

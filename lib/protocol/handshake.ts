import { createHmac, randomBytes as cryptoRandomBytes, timingSafeEqual } from 'node:crypto';
import { ProtocolError } from './errors';

/**
 * The RTMP handshake as a pure state machine: bytes in, bytes to send out. No
 * sockets, timers or logging, so the session decides how to write and when to
 * give up on a stalled peer, and tests can replay recorded sessions exactly.
 *
 * Wire layout, both directions: a version byte (C0/S0), then two 1536-byte
 * packets (C1/S1, then C2/S2). Anything after C2/S2 is already chunk stream.
 */

export const HANDSHAKE_SIZE = 1536;
export const RTMP_VERSION = 3;
/** RTMPE (encrypted RTMP) announces itself with this C0; we do not speak it. */
const RTMPE_VERSION = 6;
const DIGEST_SIZE = 32;
/** Each of the two layouts picks the digest position within a 728-byte window. */
const DIGEST_WINDOW = 728;

const KEY_TAIL = Buffer.from('F0EEC24A8068BEE82E00D0D1029E7E576EEC5D2D29806FAB93B8E636CFEB31AE', 'hex');
/** Signs a client's C1 digest (30 bytes). */
export const PLAYER_KEY = Buffer.from('Genuine Adobe Flash Player 001', 'ascii');
/** Signs a server's S1 digest (36 bytes). */
export const SERVER_KEY = Buffer.from('Genuine Adobe Flash Media Server 001', 'ascii');
/** Derives the key that signs C2 from S1's digest (62 bytes). */
export const PLAYER_KEY_FULL = Buffer.concat([PLAYER_KEY, KEY_TAIL]);
/** Derives the key that signs S2 from C1's digest (68 bytes). */
export const SERVER_KEY_FULL = Buffer.concat([SERVER_KEY, KEY_TAIL]);

/** C1[4..8] as ffmpeg sends it; any nonzero value announces the digest scheme. */
const CLIENT_DIGEST_VERSION = Buffer.from([0x09, 0x00, 0x7c, 0x02]);
const SERVER_DIGEST_VERSION = Buffer.from([0x04, 0x05, 0x00, 0x01]);

export type DigestLayout = 'digest-first' | 'key-first';
export type HandshakeScheme = 'simple' | DigestLayout;

export interface HandshakeOptions {
  randomBytes?: (size: number) => Buffer;
  /** Milliseconds; written into C1/S1 modulo 2^32 (the field is an epoch-free uint32). */
  now?: () => number;
}

export interface HandshakeStep {
  output: Buffer[];
  done: boolean;
  /** Bytes past C2/S2 (the start of the chunk stream); empty unless done. */
  leftover: Buffer;
}

const hmac = (key: Buffer, data: Buffer | Buffer[]): Buffer => {
  const h = createHmac('sha256', key);
  for (const part of Array.isArray(data) ? data : [data]) h.update(part);
  return h.digest();
};

/** Where the digest would sit in `packet` if it used `layout`; the offset bytes precede the window, so the digest never overwrites them. */
export function digestOffset(packet: Buffer, layout: DigestLayout): number {
  const base = layout === 'digest-first' ? 8 : 772;
  const sum = packet[base]! + packet[base + 1]! + packet[base + 2]! + packet[base + 3]!;
  return (sum % DIGEST_WINDOW) + base + 4;
}

/** HMAC-SHA256 over the 1536-byte packet with the 32 digest bytes at `offset` left out. */
export function computeDigest(packet: Buffer, offset: number, key: Buffer): Buffer {
  return hmac(key, [packet.subarray(0, offset), packet.subarray(offset + DIGEST_SIZE, HANDSHAKE_SIZE)]);
}

/** Tries both layouts, digest-first first (what ffmpeg, Flash and nginx use). */
export function locateDigest(packet: Buffer, key: Buffer): { scheme: DigestLayout; offset: number } | undefined {
  if (packet.length < HANDSHAKE_SIZE) return undefined;
  for (const scheme of ['digest-first', 'key-first'] as const) {
    const offset = digestOffset(packet, scheme);
    const expected = computeDigest(packet, offset, key);
    if (timingSafeEqual(expected, packet.subarray(offset, offset + DIGEST_SIZE))) return { scheme, offset };
  }
  return undefined;
}

/** Writes a digest into a filled packet in place, in the given layout; returns its offset. */
export function signPacket(packet: Buffer, layout: DigestLayout, key: Buffer): number {
  const offset = digestOffset(packet, layout);
  computeDigest(packet, offset, key).copy(packet, offset);
  return offset;
}

/**
 * The C2/S2 signature: the last 32 bytes sign the first 1504 with a key derived
 * from the peer's C1/S1 digest, which proves we saw (and could verify) that packet.
 */
export function responseSignature(response: Buffer, peerDigest: Buffer, fullKey: Buffer): Buffer {
  return hmac(hmac(fullKey, peerDigest), response.subarray(0, HANDSHAKE_SIZE - DIGEST_SIZE));
}

export function verifyResponse(response: Buffer, peerDigest: Buffer, fullKey: Buffer): boolean {
  if (response.length < HANDSHAKE_SIZE) return false;
  return timingSafeEqual(responseSignature(response, peerDigest, fullKey), response.subarray(HANDSHAKE_SIZE - DIGEST_SIZE, HANDSHAKE_SIZE));
}

/** Builds the 1504 random bytes + signature form of C2/S2. */
function signedResponse(random: Buffer, peerDigest: Buffer, fullKey: Buffer): Buffer {
  const response = Buffer.alloc(HANDSHAKE_SIZE);
  random.copy(response, 0, 0, HANDSHAKE_SIZE - DIGEST_SIZE);
  responseSignature(response, peerDigest, fullKey).copy(response, HANDSHAKE_SIZE - DIGEST_SIZE);
  return response;
}

function checkVersion(byte: number, who: 'C0' | 'S0'): void {
  if (byte === RTMP_VERSION) return;
  const hex = `0x${byte.toString(16).padStart(2, '0')}`;
  const why = byte === RTMPE_VERSION ? ' (RTMPE, encrypted RTMP, is not supported)' : ` (only version ${RTMP_VERSION} is supported)`;
  throw new ProtocolError('ERR_HANDSHAKE_VERSION', `${who} requests RTMP version ${hex}${why}`, 0);
}

const isZero = (bytes: Buffer): boolean => bytes.every((b) => b === 0);

/**
 * Shared input side: reads exactly one version byte and two 1536-byte packets,
 * whatever the split of the pushes, then hands back the rest untouched. A
 * preallocated packet buffer keeps memory bounded however the peer dribbles.
 */
abstract class HandshakeParty {
  protected readonly random: (size: number) => Buffer;
  protected readonly now: () => number;
  private stage: 'version' | 'first' | 'second' | 'done' | 'failed' = 'version';
  private packet = Buffer.alloc(HANDSHAKE_SIZE);
  private filled = 0;

  constructor(options: HandshakeOptions = {}) {
    this.random = options.randomBytes ?? cryptoRandomBytes;
    this.now = options.now ?? Date.now;
  }

  get done(): boolean {
    return this.stage === 'done';
  }

  protected abstract onVersion(byte: number): void;
  protected abstract onFirst(packet: Buffer): Buffer[];
  protected abstract onSecond(packet: Buffer): void;

  protected readyToPush(): void {}

  push(data: Buffer): HandshakeStep {
    if (this.stage === 'done' || this.stage === 'failed') {
      throw new ProtocolError('ERR_HANDSHAKE_STATE', `handshake already ${this.stage === 'done' ? 'complete' : 'failed'}; no more bytes accepted`);
    }
    this.readyToPush();
    try {
      return this.consume(data);
    } catch (error) {
      this.stage = 'failed';
      throw error;
    }
  }

  private consume(data: Buffer): HandshakeStep {
    const output: Buffer[] = [];
    let pos = 0;
    while (pos < data.length && this.stage !== 'done') {
      if (this.stage === 'version') {
        // Checked on arrival so a wrong version is rejected without waiting for C1.
        this.onVersion(data[pos++]!);
        this.stage = 'first';
        continue;
      }
      const take = Math.min(HANDSHAKE_SIZE - this.filled, data.length - pos);
      data.copy(this.packet, this.filled, pos, pos + take);
      this.filled += take;
      pos += take;
      if (this.filled < HANDSHAKE_SIZE) break;
      const packet = this.packet;
      this.packet = Buffer.alloc(HANDSHAKE_SIZE);
      this.filled = 0;
      if (this.stage === 'first') {
        output.push(...this.onFirst(packet));
        this.stage = 'second';
      } else {
        this.onSecond(packet);
        this.stage = 'done';
      }
    }
    const done = this.stage === 'done';
    return { output, done, leftover: done ? data.subarray(pos) : Buffer.alloc(0) };
  }

  /** time (4) + version (4) + 1528 random bytes. */
  protected firstPacket(version: Buffer): Buffer {
    const packet = Buffer.alloc(HANDSHAKE_SIZE);
    packet.writeUInt32BE(this.now() >>> 0, 0);
    version.copy(packet, 4);
    this.randomInto(packet, 8);
    return packet;
  }

  protected randomInto(target: Buffer, start: number, end = HANDSHAKE_SIZE): void {
    const bytes = this.random(end - start);
    if (bytes.length < end - start) throw new RangeError(`randomBytes returned ${bytes.length} bytes, ${end - start} wanted`);
    bytes.copy(target, start, 0, end - start);
  }
}

export class ServerHandshake extends HandshakeParty {
  private c1Scheme: HandshakeScheme | undefined;
  private c1Version: Buffer | undefined;

  /** Which layout C1 used; 'simple' also covers a nonzero version whose digest did not verify. */
  get scheme(): HandshakeScheme | undefined {
    return this.c1Scheme;
  }

  /** C1[4..8]: the client's announced version (zero for the simple handshake). */
  get clientVersion(): Buffer | undefined {
    return this.c1Version;
  }

  protected onVersion(byte: number): void {
    checkVersion(byte, 'C0');
  }

  protected onFirst(c1: Buffer): Buffer[] {
    this.c1Version = Buffer.from(c1.subarray(4, 8));
    // A nonzero version with a digest that verifies in neither layout (an odd or
    // broken client) still gets an answer: the simple one, which every client accepts.
    const found = isZero(this.c1Version) ? undefined : locateDigest(c1, PLAYER_KEY);
    this.c1Scheme = found?.scheme ?? 'simple';
    const s0 = Buffer.from([RTMP_VERSION]);
    if (!found) {
      // Zeros in S1[4..7] make ffmpeg and librtmp skip their S1 digest check.
      return [Buffer.concat([s0, this.firstPacket(Buffer.alloc(4)), Buffer.from(c1)])];
    }
    const s1 = this.firstPacket(SERVER_DIGEST_VERSION);
    signPacket(s1, found.scheme, SERVER_KEY);
    const s2Random = Buffer.alloc(HANDSHAKE_SIZE - DIGEST_SIZE);
    this.randomInto(s2Random, 0, s2Random.length);
    const c1Digest = c1.subarray(found.offset, found.offset + DIGEST_SIZE);
    return [Buffer.concat([s0, s1, signedResponse(s2Random, c1Digest, SERVER_KEY_FULL)])];
  }

  /** C2 is not checked: ffmpeg signs it when playing but echoes S1 when publishing, rtmpdump echoes. */
  protected onSecond(): void {}
}

export interface ClientHandshakeOptions extends HandshakeOptions {
  /** Default 'digest', as ffmpeg and Flash Player send. */
  scheme?: 'simple' | 'digest';
  /** Where the C1 digest goes in digest mode; default 'digest-first' (ffmpeg's). */
  layout?: DigestLayout;
}

export class ClientHandshake extends HandshakeParty {
  private readonly wantDigest: boolean;
  private readonly layout: DigestLayout;
  private c1Digest: Buffer | undefined;
  private started = false;
  private s1Scheme: HandshakeScheme | undefined;

  constructor(options: ClientHandshakeOptions = {}) {
    super(options);
    this.wantDigest = (options.scheme ?? 'digest') === 'digest';
    this.layout = options.layout ?? 'digest-first';
  }

  /** How the server answered: the layout of S1's digest, or 'simple'. Known after S1. */
  get scheme(): HandshakeScheme | undefined {
    return this.s1Scheme;
  }

  /** C0 + C1, to send before anything else. */
  start(): Buffer {
    if (this.started) throw new ProtocolError('ERR_HANDSHAKE_STATE', 'client handshake already started');
    this.started = true;
    const c1 = this.firstPacket(this.wantDigest ? CLIENT_DIGEST_VERSION : Buffer.alloc(4));
    if (this.wantDigest) {
      const offset = signPacket(c1, this.layout, PLAYER_KEY);
      this.c1Digest = Buffer.from(c1.subarray(offset, offset + DIGEST_SIZE));
    }
    return Buffer.concat([Buffer.from([RTMP_VERSION]), c1]);
  }

  protected override readyToPush(): void {
    if (!this.started) throw new ProtocolError('ERR_HANDSHAKE_STATE', 'push() before start(): C0+C1 must be sent first');
  }

  protected onVersion(byte: number): void {
    checkVersion(byte, 'S0');
  }

  protected onFirst(s1: Buffer): Buffer[] {
    if (isZero(s1.subarray(4, 8))) {
      this.s1Scheme = 'simple';
      return [Buffer.from(s1)];
    }
    // Same rule as ffmpeg and librtmp: a nonzero S1 version promises a valid digest.
    const found = locateDigest(s1, SERVER_KEY);
    if (!found) throw new ProtocolError('ERR_HANDSHAKE_DIGEST', 'S1 announces a digest (nonzero version) but its digest verifies in neither layout');
    this.s1Scheme = found.scheme;
    const c2Random = Buffer.alloc(HANDSHAKE_SIZE - DIGEST_SIZE);
    this.randomInto(c2Random, 0, c2Random.length);
    const s1Digest = s1.subarray(found.offset, found.offset + DIGEST_SIZE);
    return [signedResponse(c2Random, s1Digest, PLAYER_KEY_FULL)];
  }

  protected onSecond(s2: Buffer): void {
    // Only a server that answered in kind signs S2; a simple answer echoes C1 instead.
    if (!this.c1Digest || this.s1Scheme === 'simple') return;
    if (!verifyResponse(s2, this.c1Digest, SERVER_KEY_FULL)) {
      throw new ProtocolError('ERR_HANDSHAKE_DIGEST', "S2's signature does not match our C1 digest");
    }
  }
}

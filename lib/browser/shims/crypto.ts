// node:crypto for the browser build: the handshake's HMAC-SHA256 (synchronous, as the handshake is) and random bytes.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';

export function randomBytes(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)));
  return bytes;
}

export function createHmac(algorithm: string, key: Uint8Array): { update(data: Uint8Array): ReturnType<typeof createHmac>; digest(): Buffer } {
  if (algorithm !== 'sha256') throw new Error(`the browser build has HMAC-SHA256 only, not ${algorithm}`);
  const parts: Uint8Array[] = [];
  const mac = {
    update(data: Uint8Array) {
      parts.push(data);
      return mac;
    },
    digest: () => Buffer.from(hmac(sha256, key, Buffer.concat(parts))),
  };
  return mac;
}

export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) throw new RangeError('timingSafeEqual: inputs differ in length');
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

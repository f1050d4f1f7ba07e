import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Authorization, AuthorizationRequest, Authorizer, StreamAction } from './authorizer';

/**
 * Signed tokens, carried in the stream name's query (`cam?token=…`):
 *
 *   v1.KID.ACTION.EXPIRY.NONCE.MAC
 *
 * where MAC is base64url(HMAC-SHA256(key[KID], "v1\nKID\nACTION\nAPP\nNAME\nEXPIRY\nNONCE")).
 * The app and stream name are not in the token but under its MAC, so a token opens one
 * stream for one action until EXPIRY (Unix seconds). Keys are looked up by id, so they can
 * be rotated with both in place for a while.
 */
export interface TokenOptions {
  /** Secrets by key id; each at least 32 bytes. */
  keys: Record<string, string | Buffer>;
  /** A token that expires further ahead than this is refused (seconds; default 86400). */
  maxLifetime?: number;
  /** A publish token works once, until it expires (its nonce is remembered till then). */
  oneTimePublish?: boolean;
  /** The query parameter the token is in (default `token`). */
  parameter?: string;
  /** Seconds since the epoch (tests pass a fixed clock). */
  now?: () => number;
}

export interface TokenClaims {
  keyId: string;
  action: StreamAction;
  app: string;
  name: string;
  /** Unix seconds. */
  expires: number;
  /** Unique per token (default: 12 random bytes, base64url). */
  nonce?: string;
}

const VERSION = 'v1';
const FIELD = /^[A-Za-z0-9_-]{1,64}$/;

function mac(key: string | Buffer, claims: Required<TokenClaims>): Buffer {
  return createHmac('sha256', key).update([VERSION, claims.keyId, claims.action, claims.app, claims.name, String(claims.expires), claims.nonce].join('\n')).digest();
}

/** A token for `claims`, signed with `key`. */
export function signToken(key: string | Buffer, claims: TokenClaims): string {
  const nonce = claims.nonce ?? randomBytes(12).toString('base64url');
  if (!FIELD.test(claims.keyId) || !FIELD.test(nonce)) throw new TypeError('key id and nonce are 1–64 characters of A–Z, a–z, 0–9, _ and -');
  const full = { ...claims, nonce };
  return [VERSION, claims.keyId, claims.action, String(claims.expires), nonce, mac(key, full).toString('base64url')].join('.');
}

export class TokenAuthorizer implements Authorizer {
  private readonly keys: Map<string, Buffer>;
  private readonly maxLifetime: number;
  private readonly parameter: string;
  private readonly now: () => number;
  /** Nonces of publish tokens used, with their expiry (one-time mode). */
  private readonly spent = new Map<string, number>();

  constructor(private readonly options: TokenOptions) {
    this.keys = new Map(Object.entries(options.keys).map(([id, key]) => [id, Buffer.from(key)]));
    for (const [id, key] of this.keys) {
      if (!FIELD.test(id)) throw new TypeError(`token key id ${JSON.stringify(id)}: 1–64 characters of A–Z, a–z, 0–9, _ and -`);
      if (key.length < 32) throw new TypeError(`token key ${id}: at least 32 bytes (it has ${key.length})`);
    }
    this.maxLifetime = options.maxLifetime ?? 86_400;
    this.parameter = options.parameter ?? 'token';
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  authorize(request: AuthorizationRequest): Authorization {
    const token = request.query.get(this.parameter);
    if (token === null || token === '') return { allow: false, reason: `no ${this.parameter}` };
    const parts = token.split('.');
    if (parts.length !== 6 || parts[0] !== VERSION) return { allow: false, reason: 'malformed token' };
    const [, keyId, action, expiresText, nonce, given] = parts as [string, string, string, string, string, string];
    const key = this.keys.get(keyId);
    if (key === undefined) return { allow: false, reason: 'unknown key id' };
    if (action !== 'publish' && action !== 'play') return { allow: false, reason: 'malformed token' };
    if (!/^\d{1,12}$/.test(expiresText) || !FIELD.test(nonce)) return { allow: false, reason: 'malformed token' };
    const expires = Number(expiresText);
    const expected = mac(key, { keyId, action, app: request.app, name: request.name, expires, nonce });
    const signature = Buffer.from(given, 'base64url');
    // Constant time over the MAC; the length is not secret.
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return { allow: false, reason: 'bad signature' };
    // Checked after the MAC, so that only a genuine token learns why it failed.
    if (action !== request.action) return { allow: false, reason: `a ${action} token does not allow ${request.action}` };
    const now = this.now();
    if (expires <= now) return { allow: false, reason: 'token expired' };
    if (expires - now > this.maxLifetime) return { allow: false, reason: `token lives longer than ${this.maxLifetime} s` };
    if (action === 'publish' && this.options.oneTimePublish) {
      this.forgetSpent(now);
      if (this.spent.has(nonce)) return { allow: false, reason: 'publish token already used' };
      this.spent.set(nonce, expires);
    }
    return { allow: true };
  }

  private forgetSpent(now: number): void {
    for (const [nonce, expires] of this.spent) if (expires <= now) this.spent.delete(nonce);
  }
}

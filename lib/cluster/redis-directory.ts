import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { pack, unpack } from 'msgpackr';
import { BehaviorSubject, distinctUntilChanged, Observable, Subject } from 'rxjs';
import type { Logger } from '../session/options';
import { ClaimResult, ClusterNode, DirectoryEvent, DirectoryUnavailableError, StreamClaim, StreamDirectory } from './directory';

export interface RedisDirectoryOptions {
  /** `redis://host:port[/db]`. */
  url: string;
  /** Key and channel prefix, so that several clusters share one Redis (default `rxrtmp:`). */
  prefix?: string;
  /** A node's registration lives this long unless renewed (ms, default 3000); a dead node's streams can be taken over after it. */
  nodeLeaseMs?: number;
  /** A stream claim lives this long unless renewed (ms, default 6000). */
  streamLeaseMs?: number;
  /** A command that takes longer fails, and what needed it fails with it (ms, default 1500). */
  commandTimeoutMs?: number;
  logger?: Logger;
}

/** What a claim's value holds; the epoch is kept beside it, raised by the same script that sets it. */
interface ClaimValue {
  node: string;
  address: string;
  claimedAt: number;
  /** Makes every claim's bytes unique, so compare-and-extend and compare-and-delete match only it. */
  nonce: string;
}

/**
 * Claims a key: sets it when it is free, or when it holds exactly `expected` and that
 * holder's node lease has lapsed (or `force`: the holder is this node); the epoch is
 * raised in the same step, to at least Redis's clock in milliseconds, so that it still
 * rises after a Redis that kept nothing comes back. Answers {epoch} or {0, current value, current epoch}.
 *   KEYS: stream, epoch, holder's node   ARGV: value, lease ms, expected ('' = none), 'force' | ''
 */
const CLAIM = `
local current = redis.call('GET', KEYS[1])
if current then
  if ARGV[3] == '' or current ~= ARGV[3] then return {0, current, redis.call('GET', KEYS[2])} end
  if ARGV[4] ~= 'force' and redis.call('EXISTS', KEYS[3]) == 1 then return {0, current, redis.call('GET', KEYS[2])} end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local now = redis.call('TIME')
local epoch = math.max(tonumber(redis.call('GET', KEYS[2]) or '0') + 1, tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
redis.call('SET', KEYS[2], epoch)
return {epoch}`;

/** Compare-and-extend: renews a lease only for the value that took it. */
const EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/** Compare-and-delete: lets go only of the value this node set. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type ClaimReply = [number] | [number, Buffer, Buffer | null];

interface Scripts {
  rxrtmpClaimBuffer(stream: string, epoch: string, holder: string, value: Buffer, lease: number, expected: Buffer | string, force: string): Promise<ClaimReply>;
  rxrtmpExtend(key: string, value: Buffer, lease: number): Promise<number>;
  rxrtmpRelease(key: string, value: Buffer): Promise<number>;
}

interface Held {
  value: Buffer;
  claim: StreamClaim;
}

/**
 * The stream directory on Redis (7 or later): `SET NX` with a lease per claim, renewed
 * by compare-and-extend and released by compare-and-delete; an epoch counter per key;
 * node registrations with their own lease; claims and releases announced on a channel.
 * Commands are not queued while Redis is away: they fail at once, so a play that needs
 * the directory fails fast instead of hanging.
 */
export class RedisDirectory implements StreamDirectory {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly scripts: Scripts;
  private readonly prefix: string;
  private readonly nodeLeaseMs: number;
  private readonly streamLeaseMs: number;
  private readonly events = new Subject<DirectoryEvent>();
  private readonly availability = new BehaviorSubject(false);
  private readonly held = new Map<string, Held>();
  private node: ClusterNode | undefined;
  private nodeValue: Buffer | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly options: RedisDirectoryOptions) {
    this.prefix = options.prefix ?? 'rxrtmp:';
    this.nodeLeaseMs = options.nodeLeaseMs ?? 3_000;
    this.streamLeaseMs = options.streamLeaseMs ?? 6_000;
    const common = {
      lazyConnect: true,
      commandTimeout: options.commandTimeoutMs ?? 1_500,
      // Reconnect for ever, a little apart: leases come back after Redis does.
      retryStrategy: (attempt: number) => Math.min(100 * attempt, 1_000),
      maxRetriesPerRequest: 0,
    };
    this.redis = new Redis(options.url, { ...common, enableOfflineQueue: false });
    this.subscriber = new Redis(options.url, { ...common, enableOfflineQueue: true, autoResubscribe: true });
    this.redis.defineCommand('rxrtmpClaim', { numberOfKeys: 3, lua: CLAIM });
    this.redis.defineCommand('rxrtmpExtend', { numberOfKeys: 1, lua: EXTEND });
    this.redis.defineCommand('rxrtmpRelease', { numberOfKeys: 1, lua: RELEASE });
    this.scripts = this.redis as unknown as Scripts;
    for (const connection of [this.redis, this.subscriber]) {
      // Errors arrive as close/reconnect too; logged once per kind of failure, not per retry.
      let lastError = '';
      connection.on('error', (error: Error) => {
        if (error.message === lastError) return;
        lastError = error.message;
        options.logger?.warn(`redis ${options.url}: ${error.message}`);
      });
      connection.on('ready', () => (lastError = ''));
    }
    this.redis.on('ready', () => {
      if (this.availability.value) return;
      this.availability.next(true);
      void this.restore();
    });
    this.redis.on('close', () => this.availability.next(false));
    this.subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
      try {
        this.events.next(unpack(message) as DirectoryEvent);
      } catch (error) {
        options.logger?.warn(`cluster: an undecodable directory event was ignored: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }

  /** Connects (both the command and the subscriber connection) and resolves once Redis answers. */
  static async connect(options: RedisDirectoryOptions): Promise<RedisDirectory> {
    const directory = new RedisDirectory(options);
    try {
      await Promise.all([directory.redis.connect(), directory.subscriber.connect()]);
      await directory.subscriber.subscribe(directory.channel);
    } catch (error) {
      directory.redis.disconnect();
      directory.subscriber.disconnect();
      throw new DirectoryUnavailableError(`${options.url}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return directory;
  }

  get events$(): Observable<DirectoryEvent> {
    return this.events.asObservable();
  }

  get available$(): Observable<boolean> {
    return this.availability.pipe(distinctUntilChanged());
  }

  get available(): boolean {
    return this.availability.value;
  }

  private get channel(): string {
    return `${this.prefix}events`;
  }

  private streamKey(key: string): string {
    return `${this.prefix}stream:${key}`;
  }

  private epochKey(key: string): string {
    return `${this.prefix}epoch:${key}`;
  }

  private nodeKey(id: string): string {
    return `${this.prefix}node:${id}`;
  }

  async join(node: ClusterNode): Promise<void> {
    this.node = node;
    this.nodeValue = Buffer.from(pack(node));
    await this.command(() => this.redis.set(this.nodeKey(node.id), this.nodeValue!, 'PX', this.nodeLeaseMs));
    const every = Math.max(50, Math.floor(Math.min(this.nodeLeaseMs, this.streamLeaseMs) / 3));
    this.renewTimer ??= setInterval(() => void this.renew(), every);
  }

  async claim(key: string): Promise<ClaimResult> {
    const node = this.node;
    if (node === undefined) throw new Error('join the directory before claiming');
    const fields: ClaimValue = { node: node.id, address: node.address, claimedAt: Date.now(), nonce: randomBytes(8).toString('base64url') };
    const value = Buffer.from(pack(fields));
    let expected: Buffer | string = '';
    let holder = '-';
    let force = '';
    for (let attempt = 0; ; attempt++) {
      const reply = await this.command(() => this.scripts.rxrtmpClaimBuffer(this.streamKey(key), this.epochKey(key), this.nodeKey(holder), value, this.streamLeaseMs, expected, force));
      if (reply[0] > 0) {
        const claim: StreamClaim = { key, node: fields.node, address: fields.address, epoch: Number(reply[0]), claimedAt: fields.claimedAt };
        this.held.set(key, { value, claim });
        await this.announce({ type: 'claimed', claim });
        return { claimed: claim };
      }
      const current = reply[1]!;
      const held = this.decode(key, current, reply[2] ?? null);
      // Once more, expecting exactly what is there: it is ours from before, or its node may be dead.
      if (attempt > 0) return { heldBy: held };
      expected = current;
      holder = held.node;
      force = held.node === node.id ? 'force' : '';
    }
  }

  async release(key: string): Promise<void> {
    const held = this.held.get(key);
    if (held === undefined) return;
    this.held.delete(key);
    const released = await this.command(() => this.scripts.rxrtmpRelease(this.streamKey(key), held.value));
    if (released) await this.announce({ type: 'released', key, epoch: held.claim.epoch });
  }

  async lookup(key: string): Promise<StreamClaim | undefined> {
    const [value, epoch] = await this.command(() => this.redis.mgetBuffer(this.streamKey(key), this.epochKey(key)));
    return value ? this.decode(key, value, epoch ?? null) : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.renewTimer);
    if (this.available) {
      await Promise.allSettled([...this.held.keys()].map((key) => this.release(key)));
      if (this.node) await this.redis.del(this.nodeKey(this.node.id)).catch(() => undefined);
    }
    this.held.clear();
    this.redis.disconnect();
    this.subscriber.disconnect();
    this.availability.next(false);
    this.availability.complete();
    this.events.complete();
  }

  private decode(key: string, value: Buffer, epoch: Buffer | null): StreamClaim {
    const fields = unpack(value) as ClaimValue;
    return { key, node: fields.node, address: fields.address, epoch: epoch ? Number(epoch.toString()) : 0, claimedAt: fields.claimedAt };
  }

  /** Best effort: a missed announcement costs a waiting edge its next lookup, not correctness. */
  private async announce(event: DirectoryEvent): Promise<void> {
    await this.command(() => this.redis.publish(this.channel, Buffer.from(pack(event)))).catch(() => undefined);
  }

  /** A command now, or a DirectoryUnavailableError at once when Redis is away. */
  private async command<T>(run: () => Promise<T>): Promise<T> {
    if (this.closed) throw new DirectoryUnavailableError('the directory is closed');
    if (!this.available) throw new DirectoryUnavailableError(`${this.options.url} is not connected`);
    try {
      return await run();
    } catch (error) {
      throw new DirectoryUnavailableError(error instanceof Error ? error.message : String(error));
    }
  }

  /** Keeps this node's lease and its claims' leases; a claim found gone is taken again if nobody else has it. */
  private async renew(): Promise<void> {
    if (!this.available || this.node === undefined) return;
    try {
      const kept = await this.scripts.rxrtmpExtend(this.nodeKey(this.node.id), this.nodeValue!, this.nodeLeaseMs);
      if (!kept) await this.redis.set(this.nodeKey(this.node.id), this.nodeValue!, 'PX', this.nodeLeaseMs);
      for (const [key, held] of [...this.held]) {
        if (await this.scripts.rxrtmpExtend(this.streamKey(key), held.value, this.streamLeaseMs)) continue;
        await this.reclaim(key, held);
      }
    } catch {
      // Redis went away mid-renewal: `ready` restores everything when it is back.
    }
  }

  private async reclaim(key: string, held: Held): Promise<void> {
    if (this.held.get(key) !== held) return;
    this.held.delete(key);
    const result = await this.claim(key);
    if ('heldBy' in result) {
      this.options.logger?.warn(`cluster: ${key} was claimed by ${result.heldBy.node} (epoch ${result.heldBy.epoch}) while this node's claim had lapsed`);
      this.events.next({ type: 'lost', claim: held.claim });
    }
  }

  /** Redis is back: this node's registration first, then each claim it held (taken again if it lapsed meanwhile). */
  private async restore(): Promise<void> {
    if (this.node === undefined || this.closed) return;
    try {
      await this.redis.set(this.nodeKey(this.node.id), this.nodeValue!, 'PX', this.nodeLeaseMs);
      for (const [key, held] of [...this.held]) {
        if (await this.scripts.rxrtmpExtend(this.streamKey(key), held.value, this.streamLeaseMs)) continue;
        await this.reclaim(key, held);
      }
      this.options.logger?.info(`cluster: directory ${this.options.url} is back; ${this.held.size} claims held`);
    } catch (error) {
      this.options.logger?.warn(`cluster: restoring claims failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

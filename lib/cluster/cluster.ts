import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Subscription } from 'rxjs';
import { createServer, RtmpServer, ServerOptions } from '../app/server';
import { authorizeStreams } from '../auth/authorizer';
import { signToken, TokenAuthorizer } from '../auth/tokens';
import type { LiveFederation, LiveRegistry, Refusal } from '../media/registry';
import type { Logger } from '../session/options';
import { ClusterNode, DirectoryEvent, DirectoryUnavailableError, StreamClaim, StreamDirectory } from './directory';
import { EdgePull, PullInfo } from './edge-pull';

export interface ClusterOptions {
  directory: StreamDirectory;
  /** Shared by every node of the cluster: signs and checks the tokens of edge pulls (at least 32 bytes). */
  secret: string | Buffer;
  /** Unique in the cluster (default: host name, pid and a random suffix). */
  nodeId?: string;
  /** The internal listener, where other nodes pull this node's streams (default 127.0.0.1 on a free port). */
  internalHost?: string;
  internalPort?: number;
  /** The host other nodes reach the internal listener at (default internalHost). */
  advertiseHost?: string;
  /** Apps whose streams are shared across the cluster (default ['live']). */
  apps?: string[];
  /** A pull closes this long after its last local player left (ms, default 10000). */
  pullIdleMs?: number;
  /** A play that needs the directory fails after this long without an answer (ms, default 2000). */
  lookupTimeoutMs?: number;
  /**
   * A publish of a name another node holds waits this long for that node's lease to
   * lapse (it may have died, its encoder reconnecting here) before it is refused (ms, default 4000).
   */
  claimWaitMs?: number;
  /** Options of the internal listener's server (limits, timeouts). */
  internalServer?: ServerOptions;
  logger?: Logger;
}

export interface ClusterStatus {
  node: ClusterNode;
  directoryAvailable: boolean;
  /** Stream keys this node holds claims on, for its own publishers. */
  claimed: string[];
  pulling: PullInfo[];
}

const TOKEN_KEY_ID = 'cluster';
const TOKEN_LIFETIME_S = 60;
const TICK_MS = 250;
/** How often a stream with waiting players is looked up, besides the directory's announcements. */
const LOOKUP_EVERY_MS = 1_000;

/**
 * This process as a node of a cluster: it claims in the directory every stream
 * published here, serves those streams to other nodes on its internal listener, and
 * pulls streams published elsewhere when a player here wants them, one pull per
 * stream, never more than one hop from the publisher. Made by `joinCluster`.
 */
export class ClusterMember implements LiveFederation {
  readonly node: ClusterNode;
  private readonly pulls = new Map<string, EdgePull>();
  /** Keys claimed for a local publisher, and keys published while the directory was away (to claim when it is back). */
  private readonly claimed = new Set<string>();
  private readonly unclaimed = new Set<string>();
  private readonly idleSince = new Map<string, number>();
  private readonly lastLookup = new Map<string, number>();
  private readonly subscriptions: Subscription[] = [];
  private readonly tick: NodeJS.Timeout;
  private readonly apps: Set<string>;
  private closed = false;

  /** @internal use `joinCluster`. */
  constructor(
    private readonly registry: LiveRegistry,
    private readonly internal: RtmpServer,
    node: ClusterNode,
    private readonly options: ClusterOptions,
  ) {
    this.node = node;
    this.apps = new Set(options.apps ?? ['live']);
    this.subscriptions.push(options.directory.events$.subscribe((event) => this.onDirectoryEvent(event)));
    this.subscriptions.push(
      registry.events$.subscribe((event) => {
        if (event.type === 'unpublished' && this.claimed.has(event.stream.key)) {
          // After this turn: a takeover publishes the next source in the same call.
          setImmediate(() => this.releaseIfUnowned(event.stream.key));
        }
        if (event.type === 'published' && registry.ownerOf(event.stream) instanceof EdgePull) {
          // Other nodes pulling this name from here would be two hops from its publisher: they look it up again.
          for (const player of event.stream.players) {
            if (internal.connections.has(player.stream.connection)) player.stream.connection.close(`${event.stream.key} is no longer published on this node`);
          }
        }
      }),
    );
    this.tick = setInterval(() => this.housekeep(), TICK_MS);
    this.tick.unref();
    registry.federation = this;
  }

  /** What `/api/cluster` shows. */
  get status(): ClusterStatus {
    return { node: this.node, directoryAvailable: this.options.directory.available, claimed: [...this.claimed], pulling: this.pulling };
  }

  /** The streams this node pulls from others now. */
  get pulling(): PullInfo[] {
    return [...this.pulls.values()].map((pull) => pull.info);
  }

  async admitPublish(app: string, name: string): Promise<Refusal | undefined> {
    if (!this.apps.has(app)) return undefined;
    const key = `${app}/${name}`;
    const live = this.registry.get(app, name);
    const owner = live && this.registry.ownerOf(live);
    // Published here already: the registry decides (refused, or taken over), the claim stays.
    if (owner !== undefined && !(owner instanceof EdgePull)) return undefined;
    const deadline = Date.now() + (this.options.claimWaitMs ?? 4_000);
    for (;;) {
      let result;
      try {
        result = await this.options.directory.claim(key);
      } catch (error) {
        // Ingest does not stop for the directory: the stream goes on here and is claimed when it is back.
        this.options.logger?.warn(`cluster: publishing ${key} without a claim: ${message(error)}`);
        this.unclaimed.add(key);
        return undefined;
      }
      if ('claimed' in result) {
        this.claimed.add(key);
        this.unclaimed.delete(key);
        // This node is the owner now: a pull of the same name gives way to the publisher.
        this.pulls.get(key)?.close('published here');
        return undefined;
      }
      if (Date.now() >= deadline) {
        return { reject: `${name} is already being published on node ${result.heldBy.node}`, code: 'NetStream.Publish.BadName' };
      }
      await delay(Math.min(250, Math.max(0, deadline - Date.now())));
    }
  }

  async admitPlay(app: string, name: string): Promise<Refusal | undefined> {
    if (!this.apps.has(app)) return undefined;
    const key = `${app}/${name}`;
    if (this.pulls.has(key) || this.claimed.has(key)) return undefined;
    let claim: StreamClaim | undefined;
    try {
      claim = await withTimeout(this.options.directory.lookup(key), this.options.lookupTimeoutMs ?? 2_000);
    } catch (error) {
      this.options.logger?.warn(`cluster: play of ${key} refused: ${message(error)}`);
      return { reject: `${name} cannot be looked up: ${message(error)}`, code: 'NetStream.Play.Failed' };
    }
    this.lastLookup.set(key, Date.now());
    // Nowhere yet: the player waits here, and the claim's announcement starts the pull.
    if (claim !== undefined && claim.node !== this.node.id) this.follow(claim);
    return undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.tick);
    this.subscriptions.forEach((s) => s.unsubscribe());
    if (this.registry.federation === this) this.registry.federation = undefined;
    for (const pull of this.pulls.values()) pull.close('leaving the cluster');
    this.pulls.clear();
    await Promise.all([this.internal.close(), this.options.directory.close()]);
  }

  /** Pulls `claim`'s stream, unless a pull of the same or a later claim runs already: an edge follows one owner. */
  private follow(claim: StreamClaim): void {
    if (this.closed || claim.node === this.node.id) return;
    const current = this.pulls.get(claim.key);
    if (current !== undefined) {
      if (claim.epoch <= current.claim.epoch) return;
      if (claim.node === current.claim.node && claim.address === current.claim.address) {
        current.claim = claim;
        return;
      }
      current.close(`${claim.key} moved to node ${claim.node} (epoch ${claim.epoch})`);
    }
    const slash = claim.key.indexOf('/');
    const [app, name] = [claim.key.slice(0, slash), claim.key.slice(slash + 1)];
    const local = this.registry.get(app, name);
    const owner = local && this.registry.ownerOf(local);
    if (owner !== undefined && !(owner instanceof EdgePull)) return; // A local publisher won here; the directory will say who is right.
    const token = signToken(this.options.secret, { keyId: TOKEN_KEY_ID, action: 'play', app, name, expires: Math.floor(Date.now() / 1000) + TOKEN_LIFETIME_S });
    const pull = new EdgePull(app, name, claim, this.registry, token, this.options.logger);
    this.pulls.set(claim.key, pull);
    this.idleSince.delete(claim.key);
    void pull.ended.then((reason) => {
      if (this.pulls.get(claim.key) === pull) this.pulls.delete(claim.key);
      // Players still here look the stream up again at once: its owner may have moved.
      this.lastLookup.delete(claim.key);
      if (pull.state === 'closed' && !this.closed) this.options.logger?.info(`cluster: pull of ${claim.key} ended: ${reason}`);
    });
    void pull.start(this.options.lookupTimeoutMs ?? 2_000);
  }

  private onDirectoryEvent(event: DirectoryEvent): void {
    if (event.type === 'lost') {
      this.claimed.delete(event.claim.key);
      this.options.logger?.warn(`cluster: this node lost its claim on ${event.claim.key}; its local players keep the local publisher, other nodes follow the new owner`);
      return;
    }
    if (event.type !== 'claimed' || event.claim.node === this.node.id) return;
    const { claim } = event;
    // Follow it when a pull runs already (the owner moved), or when players here wait for it.
    if (this.pulls.has(claim.key) || this.waitingPlayers(claim.key) > 0) this.follow(claim);
  }

  /** Players here of `key` (not counting other nodes' pulls), and one more while anything taps it (HTTP-FLV viewers). */
  private waitingPlayers(key: string): number {
    const slash = key.indexOf('/');
    const live = this.registry.get(key.slice(0, slash), key.slice(slash + 1));
    let count = live?.tapped ? 1 : 0;
    for (const player of live?.players ?? []) if (!this.internal.connections.has(player.stream.connection)) count++;
    return count;
  }

  private async releaseIfUnowned(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const live = this.registry.get(key.slice(0, slash), key.slice(slash + 1));
    const owner = live && this.registry.ownerOf(live);
    if (owner !== undefined && !(owner instanceof EdgePull)) return;
    this.claimed.delete(key);
    await this.options.directory.release(key).catch((error: unknown) => this.options.logger?.warn(`cluster: release of ${key} failed (its lease will lapse): ${message(error)}`));
  }

  private housekeep(): void {
    const now = Date.now();
    // Pulls nobody here watches close after pullIdleMs.
    for (const [key, pull] of this.pulls) {
      if (this.waitingPlayers(key) > 0) {
        this.idleSince.delete(key);
        continue;
      }
      const since = this.idleSince.get(key) ?? now;
      this.idleSince.set(key, since);
      if (now - since >= (this.options.pullIdleMs ?? 10_000)) {
        this.idleSince.delete(key);
        pull.close(`no players for ${this.options.pullIdleMs ?? 10_000} ms`);
      }
    }
    if (!this.options.directory.available) return;
    // Streams published while the directory was away are claimed now that it is back.
    for (const key of this.unclaimed) void this.claimLate(key);
    // Players waiting for a stream nobody here publishes: announcements start pulls; this catches a missed one.
    for (const live of this.registry.list()) {
      if (!this.apps.has(live.app) || this.pulls.has(live.key) || this.claimed.has(live.key) || this.waitingPlayers(live.key) === 0) continue;
      const owner = this.registry.ownerOf(live);
      if (owner !== undefined && !(owner instanceof EdgePull)) continue;
      if (now - (this.lastLookup.get(live.key) ?? 0) < LOOKUP_EVERY_MS) continue;
      this.lastLookup.set(live.key, now);
      this.options.directory.lookup(live.key).then(
        (claim) => claim && this.follow(claim),
        () => undefined,
      );
    }
    for (const key of this.lastLookup.keys()) if (this.waitingPlayers(key) === 0) this.lastLookup.delete(key);
  }

  private async claimLate(key: string): Promise<void> {
    this.unclaimed.delete(key);
    const slash = key.indexOf('/');
    const live = this.registry.get(key.slice(0, slash), key.slice(slash + 1));
    const owner = live && this.registry.ownerOf(live);
    if (owner === undefined || owner instanceof EdgePull) return;
    try {
      const result = await this.options.directory.claim(key);
      if ('claimed' in result) this.claimed.add(key);
      else this.options.logger?.warn(`cluster: ${key} was published here while the directory was away, and node ${result.heldBy.node} claimed it meanwhile; players elsewhere follow that node`);
    } catch {
      this.unclaimed.add(key);
    }
  }
}

/**
 * Makes this process a node of a cluster: starts the internal listener other nodes
 * pull from (cluster-token authorized, streams published here only), registers the
 * node in the directory, and hooks the live registry so that publishes claim their
 * names and plays of streams published elsewhere pull them.
 */
export async function joinCluster(registry: LiveRegistry, options: ClusterOptions): Promise<ClusterMember> {
  const secret = Buffer.from(options.secret);
  if (secret.length < 32) throw new TypeError(`the cluster secret needs at least 32 bytes (it has ${secret.length})`);
  const apps = new Set(options.apps ?? ['live']);
  const internal = createServer({ logger: options.logger, ...options.internalServer });
  internal.onConnect({ connect: (_connection, request) => (apps.has(request.properties.app) ? true : undefined) });
  internal.onStream(authorizeStreams(new TokenAuthorizer({ keys: { [TOKEN_KEY_ID]: secret }, maxLifetime: TOKEN_LIFETIME_S * 2 }), options.logger));
  internal.onStream({
    // Only what a publisher here feeds: a stream this node pulls itself is not passed on (one hop at most).
    play(stream, request) {
      const app = stream.connection.app!;
      const live = registry.get(app, request.streamName);
      const owner = live && registry.ownerOf(live);
      if (owner === undefined || owner instanceof EdgePull) return { reject: `${live?.name ?? request.streamName} is not published on this node`, code: 'NetStream.Play.StreamNotFound' };
      registry.play(app, request.streamName, stream);
      return true;
    },
    playing: (stream) => registry.startPlaying(stream),
    stop: (stream) => registry.stop(stream),
  });
  const host = options.internalHost ?? '127.0.0.1';
  // exclusive: under node:cluster each worker needs a port of its own, not the primary's shared one.
  const address: AddressInfo = await internal.listen({ host, port: options.internalPort ?? 0, exclusive: true });
  const node: ClusterNode = {
    id: options.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    address: `${options.advertiseHost ?? host}:${address.port}`,
    pid: process.pid,
    startedAt: Date.now(),
  };
  try {
    await options.directory.join(node);
  } catch (error) {
    await internal.close();
    throw error instanceof DirectoryUnavailableError ? error : new DirectoryUnavailableError(message(error));
  }
  options.logger?.info(`cluster: node ${node.id} joined; streams served to other nodes at ${node.address}`);
  return new ClusterMember(registry, internal, node, { ...options, secret });
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DirectoryUnavailableError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

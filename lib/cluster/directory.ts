import type { Observable } from 'rxjs';

/** One server process of a cluster, as the others see it. */
export interface ClusterNode {
  id: string;
  /** `host:port` of its internal RTMP listener, where edges pull its streams from. */
  address: string;
  pid: number;
  startedAt: number;
}

/** Who publishes `app/name` now. */
export interface StreamClaim {
  key: string;
  node: string;
  address: string;
  /** Raised on every claim of the key: a later owner always has a higher epoch. */
  epoch: number;
  claimedAt: number;
}

export type ClaimResult = { claimed: StreamClaim } | { heldBy: StreamClaim };

export type DirectoryEvent =
  | { type: 'claimed'; claim: StreamClaim }
  | { type: 'released'; key: string; epoch: number }
  /** A claim this node held was taken or expired (its lease lapsed while the engine was away). */
  | { type: 'lost'; claim: StreamClaim };

/** The engine cannot be reached: what is flowing goes on, what needs it fails fast with this. */
export class DirectoryUnavailableError extends Error {
  constructor(cause: string) {
    super(`the cluster directory is unavailable (${cause})`);
    this.name = 'DirectoryUnavailableError';
  }
}

/**
 * Which process publishes which stream, with leases so that a process that dies lets
 * go of its streams by itself. The engine keeps this node's lease and its claims'
 * leases renewed while it runs, and restores them when it comes back after an outage.
 * `RedisDirectory` is the built-in engine; another store fits behind this interface.
 */
export interface StreamDirectory {
  /** Registers this node; it must join before it claims. */
  join(node: ClusterNode): Promise<void>;
  /**
   * Claims a stream key for this node. A key held by a node whose own lease has lapsed
   * (it died) is taken over; one held by a live node is not.
   */
  claim(key: string): Promise<ClaimResult>;
  /** Lets go of a claim this node holds; a claim since taken by another is left alone. */
  release(key: string): Promise<void>;
  lookup(key: string): Promise<StreamClaim | undefined>;
  /** Claims and releases anywhere in the cluster, and claims of this node that were lost. */
  readonly events$: Observable<DirectoryEvent>;
  /** Whether the engine is reachable now. */
  readonly available$: Observable<boolean>;
  readonly available: boolean;
  /** Releases every claim and this node's registration, then disconnects. */
  close(): Promise<void>;
}

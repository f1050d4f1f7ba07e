import { BehaviorSubject, distinctUntilChanged, Observable, Subject } from 'rxjs';
import { ClaimResult, ClusterNode, DirectoryEvent, DirectoryUnavailableError, StreamClaim, StreamDirectory } from './directory';

/**
 * The stream directory of one machine's worker pool, kept by node:cluster's primary
 * and asked over the workers' IPC channel: `--workers N` without Redis. There are no
 * leases to renew: the primary knows when a worker dies, and its registration and
 * claims go with it at once.
 */

/** What travels on the IPC channel, tagged so that other messages pass by. */
export type DirectoryMessage =
  | { rxrtmpDirectory: 'request'; id: number; op: 'join'; node: ClusterNode }
  | { rxrtmpDirectory: 'request'; id: number; op: 'claim' | 'release' | 'lookup'; key: string }
  | { rxrtmpDirectory: 'reply'; id: number; result?: ClaimResult | StreamClaim | null; error?: string }
  | { rxrtmpDirectory: 'event'; event: DirectoryEvent };

export const isDirectoryMessage = (message: unknown): message is DirectoryMessage => typeof message === 'object' && message !== null && 'rxrtmpDirectory' in message;

/** One worker's side of the channel: node:cluster's `process`, or a pair of functions in a test. */
export interface DirectoryChannel {
  send(message: DirectoryMessage): void;
  onMessage(listener: (message: unknown) => void): void;
  readonly connected: boolean;
}

/** The primary's side: every worker's node and claims, answered and announced over IPC. */
export class DirectoryHost {
  private readonly nodes = new Map<string, { node: ClusterNode; worker: string }>();
  private readonly claims = new Map<string, StreamClaim>();
  private readonly epochs = new Map<string, number>();
  private readonly workers = new Map<string, (message: DirectoryMessage) => void>();

  /** A worker's channel: `send` reaches it; call `receive` with what it sends, and `gone` when it exits. */
  attach(worker: string, send: (message: DirectoryMessage) => void): { receive(message: unknown): void; gone(): void } {
    this.workers.set(worker, send);
    return {
      receive: (message) => {
        if (!isDirectoryMessage(message) || message.rxrtmpDirectory !== 'request') return;
        // A worker is our own code, but the channel is still input: a request of no known shape is answered with an error.
        const known = message.op === 'join' ? typeof message.node?.id === 'string' && typeof message.node.address === 'string' : ['claim', 'release', 'lookup'].includes(message.op) && typeof (message as { key?: unknown }).key === 'string';
        send(known ? this.answer(worker, message) : { rxrtmpDirectory: 'reply', id: message.id, error: `not a directory request: ${JSON.stringify(message).slice(0, 200)}` });
      },
      gone: () => this.forget(worker),
    };
  }

  private answer(worker: string, request: Extract<DirectoryMessage, { rxrtmpDirectory: 'request' }>): DirectoryMessage {
    const reply = (result: ClaimResult | StreamClaim | null): DirectoryMessage => ({ rxrtmpDirectory: 'reply', id: request.id, result });
    if (request.op === 'join') {
      this.nodes.set(request.node.id, { node: request.node, worker });
      return reply(null);
    }
    const node = [...this.nodes.values()].find((n) => n.worker === worker)?.node;
    if (request.op === 'lookup') return reply(this.claims.get(request.key) ?? null);
    if (node === undefined) return { rxrtmpDirectory: 'reply', id: request.id, error: 'join the directory before claiming' };
    if (request.op === 'release') {
      if (this.claims.get(request.key)?.node === node.id) {
        const released = this.claims.get(request.key)!;
        this.claims.delete(request.key);
        this.broadcast({ type: 'released', key: request.key, epoch: released.epoch });
      }
      return reply(null);
    }
    const held = this.claims.get(request.key);
    // A holder whose worker has gone has gone with it (forget); one that lives keeps the name.
    if (held !== undefined && held.node !== node.id) return reply({ heldBy: held });
    const epoch = Math.max((this.epochs.get(request.key) ?? 0) + 1, Date.now());
    this.epochs.set(request.key, epoch);
    const claim: StreamClaim = { key: request.key, node: node.id, address: node.address, epoch, claimedAt: Date.now() };
    this.claims.set(request.key, claim);
    this.broadcast({ type: 'claimed', claim });
    return reply({ claimed: claim });
  }

  private forget(worker: string): void {
    this.workers.delete(worker);
    for (const [id, entry] of this.nodes) {
      if (entry.worker !== worker) continue;
      this.nodes.delete(id);
      for (const [key, claim] of this.claims) {
        if (claim.node !== id) continue;
        this.claims.delete(key);
        this.broadcast({ type: 'released', key, epoch: claim.epoch });
      }
    }
  }

  private broadcast(event: DirectoryEvent): void {
    for (const send of this.workers.values()) send({ rxrtmpDirectory: 'event', event });
  }
}

/** A worker's directory: each call a request to the primary's DirectoryHost. */
export class IpcDirectory implements StreamDirectory {
  private readonly events = new Subject<DirectoryEvent>();
  private readonly availability: BehaviorSubject<boolean>;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly channel: DirectoryChannel) {
    this.availability = new BehaviorSubject(channel.connected);
    channel.onMessage((message) => {
      if (!isDirectoryMessage(message)) return;
      if (message.rxrtmpDirectory === 'event') this.events.next(message.event);
      if (message.rxrtmpDirectory !== 'reply') return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.result ?? undefined);
    });
  }

  get events$(): Observable<DirectoryEvent> {
    return this.events.asObservable();
  }

  get available$(): Observable<boolean> {
    return this.availability.pipe(distinctUntilChanged());
  }

  get available(): boolean {
    return !this.closed && this.channel.connected;
  }

  join(node: ClusterNode): Promise<void> {
    return this.request({ op: 'join', node }).then(() => undefined);
  }

  claim(key: string): Promise<ClaimResult> {
    return this.request({ op: 'claim', key }) as Promise<ClaimResult>;
  }

  release(key: string): Promise<void> {
    return this.request({ op: 'release', key }).then(() => undefined);
  }

  lookup(key: string): Promise<StreamClaim | undefined> {
    return this.request({ op: 'lookup', key }) as Promise<StreamClaim | undefined>;
  }

  async close(): Promise<void> {
    // The primary forgets this worker's claims when it exits; nothing to send.
    this.closed = true;
    for (const waiter of this.pending.values()) waiter.reject(new DirectoryUnavailableError('the directory is closed'));
    this.pending.clear();
    this.availability.next(false);
    this.availability.complete();
    this.events.complete();
  }

  private request(body: { op: 'join'; node: ClusterNode } | { op: 'claim' | 'release' | 'lookup'; key: string }): Promise<unknown> {
    if (!this.available) return Promise.reject(new DirectoryUnavailableError('the primary process is not reachable'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.channel.send({ rxrtmpDirectory: 'request', id, ...body } as DirectoryMessage);
    });
  }
}

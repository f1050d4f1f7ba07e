import type { Subscription } from 'rxjs';
import { RtmpClient } from '../client';
import type { LiveStream } from '../media/live-stream';
import type { LiveRegistry } from '../media/registry';
import type { RtmpMessage } from '../protocol/message';
import type { Logger } from '../session/options';
import type { StreamClaim } from './directory';

export type PullState = 'connecting' | 'pulling' | 'closed';

/** What the console and the specs see of one pull. */
export interface PullInfo {
  key: string;
  from: string;
  node: string;
  epoch: number;
  state: PullState;
  /** Milliseconds from the pull's start to its first media message; undefined before it. */
  firstMediaMs: number | undefined;
  messages: number;
}

/**
 * One stream fetched from the process that owns it, over plain RTMP from that
 * process's internal address, and fed into the local registry as the stream's source:
 * local players, the GOP cache and the recorder see it as they would a publisher.
 * It becomes the local source only once the owner has said Play.Start, so a pull that
 * fails never interrupts players waiting for a stream.
 */
export class EdgePull {
  state: PullState = 'connecting';
  private client: RtmpClient | undefined;
  private media: Subscription | undefined;
  private readonly startedAt = Date.now();
  private firstMediaAt: number | undefined;
  private messages = 0;
  /** Resolves when the pull has ended, with why. */
  readonly ended: Promise<string>;
  private end!: (reason: string) => void;

  constructor(
    readonly app: string,
    readonly name: string,
    /** The claim it follows; its epoch may rise while the owner stays the same node. */
    public claim: StreamClaim,
    private readonly registry: LiveRegistry,
    private readonly token: string,
    private readonly logger?: Logger,
  ) {
    this.ended = new Promise((resolve) => (this.end = resolve));
  }

  get key(): string {
    return `${this.app}/${this.name}`;
  }

  get info(): PullInfo {
    return { key: this.key, from: this.claim.address, node: this.claim.node, epoch: this.claim.epoch, state: this.state, firstMediaMs: this.firstMediaAt === undefined ? undefined : this.firstMediaAt - this.startedAt, messages: this.messages };
  }

  async start(timeout: number): Promise<void> {
    try {
      const client = await RtmpClient.connect(`rtmp://${this.claim.address}/${this.app}`, { timeout, handshake: 'simple' });
      if (this.state === 'closed') return void client.close();
      this.client = client;
      void client.closed.then(() => this.close(`the owner's connection closed (${client.closeReason ?? 'no reason given'})`));
      const stream = await client.createStream();
      // Subscribed before the play: the owner sends the cached GOP right behind Play.Start.
      const early: RtmpMessage[] = [];
      let live: LiveStream | undefined;
      this.media = stream.media$.subscribe((message) => {
        this.firstMediaAt ??= Date.now();
        this.messages++;
        if (live === undefined) return void early.push(message);
        this.ingest(live, message);
      });
      await stream.play(`${this.name}?token=${this.token}`, { start: -1 });
      // Closed meanwhile (the narrowing above does not see across the await).
      if ((this.state as PullState) === 'closed') return;
      const published = this.registry.publish(this.app, this.name, this);
      if ('reject' in published) return this.close(`a local source has ${this.key}: ${published.reject}`);
      live = published.stream;
      this.state = 'pulling';
      for (const message of early.splice(0)) this.ingest(live, message);
      this.logger?.info(`cluster: pulling ${this.key} from ${this.claim.node} at ${this.claim.address} (epoch ${this.claim.epoch})`);
    } catch (error) {
      this.close(`pull from ${this.claim.address} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private ingest(live: LiveStream, message: RtmpMessage): void {
    if (this.state !== 'pulling') return;
    try {
      live.ingest(message);
    } catch (error) {
      this.close(`bad media from ${this.claim.address}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Stops pulling; the local stream's players wait out its failover grace for the next source. */
  close(reason: string): void {
    if (this.state === 'closed') return;
    const wasPulling = this.state === 'pulling';
    this.state = 'closed';
    this.media?.unsubscribe();
    void this.client?.close();
    const live = this.registry.get(this.app, this.name);
    if (live) this.registry.unpublish(live, this);
    if (wasPulling) this.logger?.info(`cluster: stopped pulling ${this.key}: ${reason}`);
    this.end(reason);
  }
}

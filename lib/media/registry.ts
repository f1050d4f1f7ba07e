import { baseName } from '../session/names';
import { Observable, Subject } from 'rxjs';
import type { NetStream } from '../session/net-stream';
import { GopCacheLimits } from './gop-cache';
import { LivePlayer, PlayerLimits } from './live-player';
import { LiveStream } from './live-stream';
import type { MediaTypeId } from './packet';
import type { AmfValue } from '../protocol/amf/values';

export interface LiveOptions {
  gopCache: boolean;
  gop: GopCacheLimits;
  player: PlayerLimits;
  /** A stream whose publisher left stays open this long for the same name to be published again (ms). */
  failoverGrace: number;
  /** Whether a second publisher may take a name that is live; by default it is refused with Publish.BadName. */
  takeover: boolean;
  /**
   * How long a player of a name nobody publishes waits for a publisher (here, or on any
   * node of a cluster) before it is told NetStream.Play.StreamNotFound and stopped (ms);
   * 0 (the default): as long as it stays, as nginx-rtmp's idle streams do.
   */
  playWaitMs: number;
  /**
   * How long a stream's media to its players may wait for the media after it, so that
   * both leave in one system call (ms), once that stream sends `mediaBatchFrom` media
   * messages a second to its players together (a fan-out). Fan-out cost is mostly system
   * calls: batching halves a 200-player stream's CPU per delivered MB, and costs that
   * stream's players this much latency at most; no other stream's. A stream that
   * batches also has its publisher read once per tick (`PacedInput`), and its flush
   * runs in slices so that other streams' media and commands are not held behind it.
   * A player's first frame is never held. 0: never batch.
   */
  mediaFlushMs: number;
  /** Media messages a second, to one stream's players together, from which it batches. 2000 is about 30 players of a 30 fps audio and video stream. */
  mediaBatchFrom: number;
}

export const defaultLiveOptions: LiveOptions = {
  gopCache: true,
  gop: { maxBytes: 8 * 1024 * 1024, maxDuration: 10_000 },
  player: { maxQueueBytes: 2 * 1024 * 1024, maxBehindMs: 10_000 },
  failoverGrace: 10_000,
  takeover: false,
  playWaitMs: 0,
  mediaFlushMs: 100,
  mediaBatchFrom: 2_000,
};

export type LiveEvent =
  | { type: 'published'; stream: LiveStream }
  | { type: 'unpublished'; stream: LiveStream }
  | { type: 'ended'; stream: LiveStream };

export interface ApplicationSource {
  readonly stream: LiveStream;
  /** One encoded audio, video or data message at `time` ms on the stream's timeline. */
  send(typeId: MediaTypeId, time: number, payload: Buffer): void;
  /** The stream's onMetaData: what players are told it is (size, frame rate, codec). */
  setMetadata(values: AmfValue[]): void;
  close(): void;
}

/** A refusal in the session's terms: its description and the status code it goes out with. */
export interface Refusal {
  reject: string;
  code: string;
}

/**
 * Streams beyond this process (a cluster): the live app asks before a publish whether
 * this process may have the name, and before a play of a stream that is not live here
 * whether to fetch it from elsewhere. Undefined lets the request go on.
 */
export interface LiveFederation {
  admitPublish(app: string, name: string): Promise<Refusal | undefined>;
  admitPlay(app: string, name: string): Promise<Refusal | undefined>;
}

/** Identifies whoever feeds a stream: a publishing NetStream, or the application itself. */
export type SourceOwner = NetStream | object;

/** Stream names may carry a query string (`cam?token=…`); the name is what comes before it. */
export const streamNameOf = baseName;

/**
 * Live streams by app and name: who publishes each, who plays it, and what happens
 * when a publisher leaves (a grace period for it or another to come back).
 */
export class LiveRegistry {
  readonly options: LiveOptions;
  /** Set by a cluster member (`joinCluster`); the live app consults it. */
  federation: LiveFederation | undefined;
  private readonly streams = new Map<string, LiveStream>();
  private readonly owners = new Map<LiveStream, SourceOwner>();
  private readonly graceTimers = new Map<LiveStream, NodeJS.Timeout>();
  private readonly playersByStream = new Map<NetStream, { live: LiveStream; player: LivePlayer }>();
  private readonly waitTimers = new Map<NetStream, NodeJS.Timeout>();
  private readonly events = new Subject<LiveEvent>();
  private droppedBefore = 0;

  constructor(options: Partial<LiveOptions> = {}) {
    this.options = { ...defaultLiveOptions, ...options };
  }

  /** Streams as they are published, unpublished and end. */
  get events$(): Observable<LiveEvent> {
    return this.events.asObservable();
  }

  get(app: string, name: string): LiveStream | undefined {
    return this.streams.get(`${app}/${streamNameOf(name)}`);
  }

  list(): LiveStream[] {
    return [...this.streams.values()];
  }

  /** Who feeds a stream now: a publishing NetStream, an application source, or nobody. */
  ownerOf(live: LiveStream): SourceOwner | undefined {
    return this.owners.get(live);
  }

  private obtain(app: string, name: string): LiveStream {
    const key = `${app}/${streamNameOf(name)}`;
    let live = this.streams.get(key);
    if (live === undefined) {
      live = new LiveStream(app, streamNameOf(name), {
        gopCache: this.options.gopCache,
        gop: this.options.gop,
        batch: { flushMs: this.options.mediaFlushMs, from: this.options.mediaBatchFrom },
      });
      this.streams.set(key, live);
    }
    return live;
  }

  /** Starts a source on a name; refuses when another source is live there and takeover is off. */
  publish(app: string, name: string, owner: SourceOwner): { stream: LiveStream } | { reject: string } {
    const live = this.obtain(app, name);
    const current = this.owners.get(live);
    if (current !== undefined && current !== owner) {
      if (!this.options.takeover) return { reject: `${live.name} is already being published` };
      this.unpublish(live, current, true);
    }
    clearTimeout(this.graceTimers.get(live));
    this.graceTimers.delete(live);
    const returning = live.state === 'orphaned';
    this.owners.set(live, owner);
    live.beginSource();
    for (const player of live.players) {
      const { stream } = player;
      // The new source's first frames must be a key frame for this player, whatever came before.
      player.restart();
      if (!returning) stream.sendStatus('NetStream.Play.PublishNotify', `${live.name} is now published.`);
      stream.sendStreamBegin();
    }
    this.events.next({ type: 'published', stream: live });
    return { stream: live };
  }

  /**
   * The source stops. Its players wait out the grace period for a source to return;
   * then they are told the stream is over.
   */
  unpublish(live: LiveStream, owner: SourceOwner, immediate = false): void {
    if (this.owners.get(live) !== owner) return;
    this.owners.delete(live);
    live.endSource();
    this.events.next({ type: 'unpublished', stream: live });
    if (immediate) return;
    const timer = setTimeout(() => this.endStream(live), this.options.failoverGrace);
    timer.unref();
    this.graceTimers.set(live, timer);
  }

  private endStream(live: LiveStream): void {
    this.graceTimers.delete(live);
    if (this.owners.has(live)) return;
    for (const { stream } of live.players) {
      stream.sendStatus('NetStream.Play.UnpublishNotify', `${live.name} is now unpublished.`);
    }
    // Players stay subscribed to the name and will be told when it is published again.
    live.reset();
    this.streams.delete(live.key);
    this.events.next({ type: 'ended', stream: live });
    if (live.players.size > 0) {
      const fresh = this.obtain(live.app, live.name);
      for (const player of live.players) {
        fresh.players.add(player);
        this.playersByStream.set(player.stream, { live: fresh, player });
      }
    }
  }

  /** Adds a player; it waits if nobody publishes the name yet. Call `startPlaying` once Play.Start is out. */
  play(app: string, name: string, stream: NetStream): LivePlayer {
    this.stop(stream);
    const live = this.obtain(app, name);
    const player = new LivePlayer(stream, this.options.player, () => live.hasVideo);
    this.playersByStream.set(stream, { live, player });
    return player;
  }

  startPlaying(stream: NetStream): void {
    const entry = this.playersByStream.get(stream);
    if (entry === undefined) return;
    entry.live.players.add(entry.player);
    if (entry.live.state !== 'idle') entry.live.startPlayer(entry.player);
    else if (this.options.playWaitMs > 0) this.waitForPublisher(stream, entry.live);
    entry.live.audienceChanged();
  }

  private waitForPublisher(stream: NetStream, live: LiveStream): void {
    const timer = setTimeout(() => {
      this.waitTimers.delete(stream);
      const entry = this.playersByStream.get(stream);
      // Published meanwhile (and perhaps ended since): the player has had its stream.
      if (entry === undefined || entry.live !== live || live.state !== 'idle' || entry.player.stats.sent > 0) return;
      stream.sendStatus('NetStream.Play.StreamNotFound', `${live.name} was not published within ${this.options.playWaitMs} ms.`, 'error');
      stream.connection.stopPlaying(stream, `${live.name} was not published.`);
    }, this.options.playWaitMs);
    timer.unref();
    this.waitTimers.set(stream, timer);
  }

  playerOf(stream: NetStream): { live: LiveStream; player: LivePlayer } | undefined {
    return this.playersByStream.get(stream);
  }

  /** Pauses or resumes a player; a resumed player starts again on a key frame with fresh headers. */
  setPaused(stream: NetStream, paused: boolean): void {
    const entry = this.playersByStream.get(stream);
    if (entry === undefined) return;
    entry.player.paused = paused;
    if (!paused) entry.live.startPlayer(entry.player);
    entry.live.audienceChanged();
  }

  /** Frames dropped for players that have stopped since the registry began (a live player counts its own). */
  get droppedByStoppedPlayers(): number {
    return this.droppedBefore;
  }

  stop(stream: NetStream): void {
    clearTimeout(this.waitTimers.get(stream));
    this.waitTimers.delete(stream);
    const entry = this.playersByStream.get(stream);
    if (entry === undefined) return;
    this.droppedBefore += entry.player.stats.dropped;
    this.playersByStream.delete(stream);
    entry.live.players.delete(entry.player);
    entry.live.audienceChanged();
    if (entry.live.state === 'idle' && entry.live.players.size === 0 && !this.owners.has(entry.live)) this.streams.delete(entry.live.key);
  }

  /**
   * A source the application drives itself (server-generated or already-encoded
   * media): packets go to every player of `app/name` like a publisher's would.
   */
  openSource(app: string, name: string): ApplicationSource {
    const owner = {};
    const result = this.publish(app, name, owner);
    if ('reject' in result) throw new Error(result.reject);
    const live = result.stream;
    return {
      stream: live,
      send: (typeId, time, payload) => live.inject(typeId, time, payload),
      setMetadata: (values) => live.publishMetadata(values),
      close: () => this.unpublish(live, owner),
    };
  }

  /** Ends every source and grace period, for shutdown. */
  close(): void {
    for (const timer of [...this.graceTimers.values(), ...this.waitTimers.values()]) clearTimeout(timer);
    this.graceTimers.clear();
    this.waitTimers.clear();
    this.events.complete();
  }
}

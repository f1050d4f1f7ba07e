import { BehaviorSubject, distinctUntilChanged, Observable, Subject } from 'rxjs';
import { AmfValue } from '../protocol/amf/values';
import { decodeData, encodeData, metadataFromSetDataFrame } from '../protocol/commands';
import { splitAggregate } from '../protocol/flv';
import { MessageType, RtmpMessage } from '../protocol/message';
import { MediaBatch, MediaBatchOptions } from '../pipeline/media-tick';
import { GopCache, GopCacheLimits } from './gop-cache';
import type { LivePlayer } from './live-player';
import { makePacket, MediaPacket, MediaTypeId } from './packet';
import { StreamInfo, StreamInfoTracker } from './stream-info';

export interface LiveStreamOptions {
  /** Keep the last group of pictures so new players start at once (off: they wait for the next key frame). */
  gopCache: boolean;
  gop: GopCacheLimits;
  /** When the stream's media to its players waits for its own tick (a fan-out); none: never. */
  batch?: MediaBatchOptions;
}

export type LiveStreamState = 'idle' | 'live' | 'orphaned';

/** Who watches: every player, and those not paused. */
export interface Audience {
  players: number;
  active: number;
}

const TWO_31 = 0x80000000;
const TWO_32 = 0x100000000;

/**
 * One live stream: a source (a publisher, or the application injecting media) and
 * any number of players sharing every packet. It keeps what a new player needs
 * first (metadata, sequence headers per track, the last GOP) and a monotonic
 * timeline that survives the 32-bit wrap and a change of publisher.
 */
export class LiveStream {
  state: LiveStreamState = 'idle';
  readonly players = new Set<LivePlayer>();
  private metadataPacket: MediaPacket | undefined;
  private metadataValues: AmfValue[] | undefined;
  private readonly headers = new Map<string, MediaPacket>();
  private readonly gop: GopCache;
  /** This stream's batching: whether its players' media waits for its tick, decided by its own rate. */
  readonly batch: MediaBatch | undefined;
  private readonly info = new StreamInfoTracker();
  private readonly taps = new Subject<MediaPacket>();
  private readonly audience = new BehaviorSubject<Audience>({ players: 0, active: 0 });
  private readonly lastTime = new Map<string, number>();
  private lastRaw: number | undefined;
  private wrapOffset = 0;
  /** Added to the source's timestamps so a new source continues where the last one stopped. */
  private sourceOffset = 0;
  private rebase = false;
  private lastPacketWall = 0;
  private endTime = 0;
  private videoSeen = false;

  constructor(
    readonly app: string,
    readonly name: string,
    private readonly options: LiveStreamOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.gop = new GopCache(options.gop);
    this.batch = options.batch !== undefined && options.batch.flushMs > 0 ? new MediaBatch(options.batch) : undefined;
  }

  get key(): string {
    return `${this.app}/${this.name}`;
  }

  get hasVideo(): boolean {
    return this.videoSeen;
  }

  /** Whether anything taps the stream now (an HTTP-FLV viewer, a recorder): an audience beside the players. */
  get tapped(): boolean {
    return this.taps.observed;
  }

  /** Every packet as it passes: for recording, analysis or relaying elsewhere. */
  get media$(): Observable<MediaPacket> {
    return this.taps.asObservable();
  }

  /** The audience as it changes: a rendered stream renders only while somebody actively plays it. */
  get audience$(): Observable<Audience> {
    return this.audience.pipe(distinctUntilChanged((a, b) => a.players === b.players && a.active === b.active));
  }

  /** @internal the registry reports player changes. */
  audienceChanged(): void {
    const players = [...this.players];
    this.audience.next({ players: players.length, active: players.filter((p) => !p.paused).length });
  }

  /**
   * Whether an active player waits for a key frame (it joined, resumed, or fell
   * behind) and has room for one: a player that is stuck must not turn every frame
   * into a key frame for everybody.
   */
  wantsKeyFrame(maxQueueBytes: number): boolean {
    for (const player of this.players) {
      if (!player.paused && player.waitingForKeyFrame && player.stream.queuedBytes <= maxQueueBytes) return true;
    }
    return false;
  }

  /** The fewest bytes queued towards any active player: when even that is too many, nobody can take a frame. */
  get shallowestQueue(): number {
    let shallowest = Number.POSITIVE_INFINITY;
    for (const player of this.players) if (!player.paused) shallowest = Math.min(shallowest, player.stream.queuedBytes);
    return shallowest === Number.POSITIVE_INFINITY ? 0 : shallowest;
  }

  /** Sets the stream's onMetaData (sent to every player now and to new players first). */
  publishMetadata(values: AmfValue[], time = this.endTime): void {
    const { payload } = encodeData({ name: 'onMetaData', values });
    this.metadataValues = values;
    this.info.metadata(values);
    this.push(MessageType.DataAmf0, time, payload, true);
  }

  get streamInfo(): StreamInfo {
    return this.info.current;
  }

  get metadata(): AmfValue[] | undefined {
    return this.metadataValues;
  }

  /** A new source starts: the timeline continues from where the previous one left it. */
  beginSource(): void {
    this.state = 'live';
    this.lastRaw = undefined;
    this.wrapOffset = 0;
    this.rebase = this.endTime > 0;
    this.gop.clear();
  }

  endSource(): void {
    this.state = 'orphaned';
    this.gop.clear();
  }

  /** The stream has no source and nobody waits for one to come back. */
  reset(): void {
    this.state = 'idle';
    this.taps.complete();
    this.audience.complete();
  }

  /** A message from a publisher, on the source's own 32-bit clock. */
  ingest(message: RtmpMessage): void {
    if (message.typeId === MessageType.Aggregate) {
      for (const part of splitAggregate(message)) this.ingest(part);
      return;
    }
    if (message.typeId === MessageType.DataAmf0 || message.typeId === MessageType.DataAmf3) {
      const data = metadataFromSetDataFrame(decodeData(message.typeId, message.payload)) ?? decodeData(message.typeId, message.payload);
      if (data.name === '@setDataFrame' || data.name === '@clearDataFrame') return;
      const { payload } = encodeData(data);
      if (data.name === 'onMetaData') {
        this.metadataValues = data.values;
        this.info.metadata(data.values);
      }
      return this.push(MessageType.DataAmf0, this.timeline(message.timestamp, 'data'), payload, data.name === 'onMetaData');
    }
    if (message.typeId !== MessageType.Audio && message.typeId !== MessageType.Video) return;
    this.push(message.typeId, this.timeline(message.timestamp, message.typeId === MessageType.Audio ? 'audio' : 'video'), message.payload);
  }

  /** Media from the application (already encoded), timed on the stream's timeline. */
  inject(typeId: MediaTypeId, time: number, payload: Buffer): void {
    if (this.state !== 'live') this.beginSource();
    this.push(typeId, time, payload, false);
  }

  /** What a new viewer outside RTMP (HTTP-FLV) needs first, in order: metadata, sequence headers, the cached GOP. */
  startingPackets(): MediaPacket[] {
    return [...(this.metadataPacket ? [this.metadataPacket] : []), ...this.headers.values(), ...(this.options.gopCache ? this.gop.snapshot : [])];
  }

  /** Sends a new player what it needs before live packets: metadata, sequence headers, the last GOP. */
  startPlayer(player: LivePlayer): void {
    if (this.metadataPacket) player.sendHeader(this.metadataPacket, this.batch);
    for (const header of this.headers.values()) player.sendHeader(header, this.batch);
    player.restart();
    if (this.options.gopCache) for (const packet of this.gop.snapshot) player.deliver(packet, this.batch);
  }

  private timeline(raw: number, kind: string): number {
    if (this.lastRaw !== undefined && this.lastRaw - raw > TWO_31) this.wrapOffset += TWO_32;
    else if (this.lastRaw !== undefined && raw - this.lastRaw > TWO_31) this.wrapOffset -= TWO_32;
    this.lastRaw = raw;
    if (this.rebase) {
      // Continue after the last source, leaving the gap that really passed.
      this.sourceOffset = this.endTime + Math.max(1, this.now() - this.lastPacketWall) - (raw + this.wrapOffset);
      this.rebase = false;
    }
    const time = Math.max(raw + this.wrapOffset + this.sourceOffset, this.lastTime.get(kind) ?? 0);
    this.lastTime.set(kind, time);
    return time;
  }

  private push(typeId: MediaTypeId, time: number, payload: Buffer, isMetadata = false): void {
    const packet = makePacket(typeId, time, payload);
    this.endTime = Math.max(this.endTime, time);
    this.lastPacketWall = this.now();
    if (isMetadata) this.metadataPacket = packet;
    if (packet.sequenceHeader) this.headers.set(packet.track, packet);
    if (typeId === MessageType.Video) this.videoSeen = true;
    if (typeId !== MessageType.DataAmf0) this.info.packet(packet);
    if (this.options.gopCache && !isMetadata) this.gop.add(packet);
    const batch = this.batch;
    for (const player of this.players) {
      if (isMetadata) player.sendHeader(packet, batch);
      else player.deliver(packet, batch);
    }
    this.taps.next(packet);
  }
}

import { BehaviorSubject, distinctUntilChanged, EMPTY, interval, map, Observable, Subscription, switchMap } from 'rxjs';
import { asEcmaArray } from '../protocol/amf/values';
import { MessageType } from '../protocol/message';
import type { Frame, VideoEncoder } from '../plugins/contract';
import { encodeWith, TimedFrame } from '../pipeline/encode';
import type { ApplicationSource } from './registry';

export interface RenderContext {
  frameNumber: number;
  /** Milliseconds since the stream started. */
  time: number;
}

export interface RenderedStreamOptions {
  /** Renders one picture; called at `rate` only while somebody plays the stream. */
  render?: (context: RenderContext) => Frame;
  /**
   * Or: the application's own pictures, subscribed only while somebody plays the
   * stream (and unsubscribed while nobody does). One of `render` and `frames` is needed.
   */
  frames?: () => Observable<Frame>;
  encoder: VideoEncoder;
  /** FLV codec id, for onMetaData. */
  codecId: number;
  /** Frames per second (default 30). */
  rate?: number;
  /** A frame is skipped when every active player has more than this queued (bytes; default 512 KiB). */
  maxQueueBytes?: number;
  now?: () => number;
}

export interface RenderStats {
  rendered: number;
  /** Skipped because a player's queue was full or the encoder was still busy. */
  skipped: number;
  running: boolean;
}

/**
 * Server-generated video for one live stream: renders at the stream's rate while at
 * least one player actively plays it (not while all are paused or gone), encodes
 * once for all of them, and skips frames instead of queueing when its players or the
 * encoder cannot keep up. A player that needs a key frame (and has room) gets the next one.
 */
export class RenderedStream {
  private readonly stats = new BehaviorSubject<RenderStats>({ rendered: 0, skipped: 0, running: false });
  private readonly subscription = new Subscription();
  private readonly startedAt: number;
  private readonly now: () => number;
  private frameNumber = 0;
  private sizeKey = '';

  constructor(
    private readonly source: ApplicationSource,
    private readonly options: RenderedStreamOptions,
  ) {
    if (options.render === undefined && options.frames === undefined) throw new Error('a rendered stream needs render() or frames()');
    const now = (this.now = options.now ?? Date.now);
    this.startedAt = now();
    const rate = options.rate ?? 30;
    const live = source.stream;
    const maxQueue = options.maxQueueBytes ?? 512 * 1024;
    const ticks$: Observable<TimedFrame | undefined> = live.audience$.pipe(
      map((audience) => audience.active > 0),
      distinctUntilChanged(),
      switchMap((active) => {
        this.update({ running: active });
        if (!active) return EMPTY;
        return options.frames ? options.frames() : interval(1000 / rate).pipe(map(() => undefined));
      }),
      map((supplied: Frame | undefined) => {
        // Skipped only when no player could take it; one slow player is the drop policy's business, not everyone's.
        if (live.shallowestQueue > maxQueue) {
          this.update({ skipped: this.stats.value.skipped + 1 });
          return undefined;
        }
        const time = now() - this.startedAt;
        const frame = supplied ?? options.render!({ frameNumber: this.frameNumber++, time });
        this.describe(frame, rate);
        this.update({ rendered: this.stats.value.rendered + 1 });
        return { frame, time, keyFrame: live.wantsKeyFrame(maxQueue) };
      }),
    );
    const frames$ = new Observable<TimedFrame>((subscriber) =>
      ticks$.subscribe({ next: (timed) => timed && subscriber.next(timed), error: (e) => subscriber.error(e) }),
    );
    this.subscription.add(
      frames$
        .pipe(encodeWith(options.encoder, { onSkip: () => this.update({ skipped: this.stats.value.skipped + 1 }) }))
        .subscribe({
          next: (packet) => source.send(MessageType.Video, packet.time, packet.data),
          error: () => this.close(),
        }),
    );
  }

  /**
   * The stream's clock now (ms since it started): the timestamp a frame rendered now would
   * carry. A frame with a later timestamp was rendered after this moment, so it shows what
   * changed before it (an interactive call's effect, say).
   */
  get time(): number {
    return this.now() - this.startedAt;
  }

  /** Frames rendered and skipped, and whether rendering runs, as they change. */
  get stats$(): Observable<RenderStats> {
    return this.stats.asObservable();
  }

  get current(): RenderStats {
    return this.stats.value;
  }

  async close(): Promise<void> {
    this.subscription.unsubscribe();
    this.update({ running: false });
    this.stats.complete();
    this.source.close();
    await this.options.encoder.close();
  }

  private update(change: Partial<RenderStats>): void {
    if (!this.stats.closed) this.stats.next({ ...this.stats.value, ...change });
  }

  /** onMetaData follows the picture size, so players can size their view before the first frame. */
  private describe(frame: Frame, rate: number): void {
    const key = `${frame.width}x${frame.height}`;
    if (key === this.sizeKey) return;
    this.sizeKey = key;
    this.source.setMetadata([asEcmaArray({ width: frame.width, height: frame.height, framerate: rate, videocodecid: this.options.codecId, encoder: 'rxrtmp' })]);
  }
}

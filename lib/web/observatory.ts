import { withoutQuery } from '../auth/authorizer';
import type { Subscription } from 'rxjs';
import type { InspectionEvent } from 'xstate';
import type { RtmpServer } from '../app/server';
import type { LiveRegistry } from '../media/registry';
import type { LiveStream } from '../media/live-stream';
import type { AmfValue } from '../protocol/amf/values';
import type { Connection, CommandTapEntry } from '../session/connection';
import { NetStream } from '../session/net-stream';
import { FlightRecorder, FlightRecorderOptions } from './flight-recorder';

/** One line of a connection's history, as the console shows it. */
export type HistoryEntry =
  | { at: number; kind: 'state'; from: string; to: string; event: string }
  | { at: number; kind: 'command'; direction: 'in' | 'out'; name: string; transactionId: number; streamId: number; args: unknown[] }
  | { at: number; kind: 'error'; message: string };

export interface ConnectionRow {
  id: string;
  address: string;
  app: string | null;
  streams: string[];
  state: string;
  uptimeMs: number;
  kbitIn: number;
  kbitOut: number;
}

export interface StreamRow {
  app: string;
  name: string;
  state: string;
  publisher: string | null;
  videoCodec: string | null;
  audioCodec: string | null;
  width: number | null;
  height: number | null;
  frameRate: number | null;
  bitrate: number | null;
  /** Bits per second, one a second, the newest last. */
  bitrateHistory: number[];
  players: number;
}

export interface ObservatoryOptions {
  /** History entries kept per connection. */
  historyLength?: number;
  /** Command arguments are shown (true) or replaced by their types (false, the default: they may hold secrets). */
  showArguments?: boolean;
  /** How often rates and stream histories are sampled (ms). */
  sampleMs?: number;
  /** The flight recorder (off by default: no app recorded until one is asked for). */
  recorder?: FlightRecorderOptions;
}

interface Watched {
  connection: Connection;
  acceptedAt: number;
  state: string;
  history: HistoryEntry[];
  bytes: { in: number; out: number; at: number };
  kbitIn: number;
  kbitOut: number;
  /** Bumped on every change a viewer should see. */
  version: number;
}

const HISTORY_SAMPLES = 60;

/** What an argument is, without what it says. */
function shape(value: AmfValue): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'object') return Object.keys(value).length > 0 && !(value instanceof Date) && !Buffer.isBuffer(value) ? `object{${Object.keys(value).slice(0, 12).join(',')}}` : typeof value;
  return typeof value;
}

/**
 * A JSON- and msgpack-safe copy, bounded in depth and size. A string's `?query` is cut:
 * stream names and tcUrls carry tokens there, and the console shows no secret even to
 * an application that opted in to seeing arguments.
 */
function plain(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const shown = withoutQuery(value);
    return shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
  }
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `bytes(${value.length})`;
  if (depth > 3) return '…';
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => plain(v, depth + 1));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value).slice(0, 30)) out[k] = plain(v, depth + 1);
    return out;
  }
  return String(value);
}

/**
 * What the web console and /metrics read: every connection's state, history and rates,
 * the live streams with a bitrate history, and the counters that only grow. It watches
 * the server's actor system (each connection's transitions with the event that caused
 * them) and each connection's command tap; it keeps current values only, so what a
 * viewer costs does not grow with what it has not read yet.
 */
export class Observatory {
  readonly states: readonly string[];
  accepted = 0;
  readonly transitions = new Map<string, number>();
  /** Handshake durations (s) not yet taken by the metrics (bounded). */
  readonly handshakeDurations: number[] = [];
  bytesInClosed = 0;
  bytesOutClosed = 0;
  /** Bumped on every change; viewers compare it with what they last sent. */
  version = 0;
  readonly recorder: FlightRecorder;
  private readonly watched = new Map<string, Watched>();
  private readonly byActor = new Map<object, Watched>();
  /** Ids that left, with the version at which they did (bounded). */
  private readonly removed: { id: string; version: number }[] = [];
  /** The newest removal no longer in the log: a viewer older than this needs everything again. */
  private removedTrimmedAt = 0;
  private readonly streamHistory = new Map<string, number[]>();
  private readonly subscriptions: { unsubscribe(): void }[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly historyLength: number;
  private readonly showArguments: boolean;

  constructor(
    readonly server: RtmpServer,
    readonly live: LiveRegistry | undefined,
    states: readonly string[],
    options: ObservatoryOptions = {},
  ) {
    this.states = states;
    this.historyLength = options.historyLength ?? 200;
    this.showArguments = options.showArguments ?? false;
    this.recorder = new FlightRecorder(options.recorder);
    this.subscriptions.push(server.sessions.system.inspect((event) => this.inspected(event)));
    const subscription: Subscription = server.connections$.subscribe((connection) => this.watch(connection));
    this.subscriptions.push(subscription);
    for (const connection of server.connections) this.watch(connection);
    this.timer = setInterval(() => this.sample(), options.sampleMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    for (const s of this.subscriptions) s.unsubscribe();
    for (const w of this.watched.values()) if (w.connection.commandTap !== undefined) w.connection.commandTap = undefined;
  }

  /** Connections per state, every state of the machine present. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const state of this.states) counts[state] = 0;
    for (const w of this.watched.values()) counts[w.state] = (counts[w.state] ?? 0) + 1;
    return counts;
  }

  rows(): ConnectionRow[] {
    return [...this.watched.values()].map((w) => this.row(w));
  }

  /** Rows changed since `version`, and ids gone since then; `complete` false when the removal log no longer reaches back. */
  changesSince(version: number): { rows: ConnectionRow[]; removed: string[]; complete: boolean } {
    const rows = [...this.watched.values()].filter((w) => w.version > version).map((w) => this.row(w));
    const removed = this.removed.filter((r) => r.version > version).map((r) => r.id);
    return { rows, removed, complete: version >= this.removedTrimmedAt };
  }

  history(id: string): HistoryEntry[] | undefined {
    return this.watched.get(id)?.history.slice();
  }

  /** Changes whenever a connection's row or history does; undefined once it is gone. */
  versionOf(id: string): number | undefined {
    return this.watched.get(id)?.version;
  }

  connection(id: string): Connection | undefined {
    return this.watched.get(id)?.connection;
  }

  streams(): StreamRow[] {
    return (this.live?.list() ?? []).map((s) => this.streamRow(s));
  }

  stream(app: string, name: string): StreamRow | undefined {
    const live = this.live?.get(app, name);
    return live ? this.streamRow(live) : undefined;
  }

  players(): number {
    let n = 0;
    for (const s of this.live?.list() ?? []) n += s.players.size;
    return n;
  }

  droppedFrames(): number {
    let n = this.live?.droppedByStoppedPlayers ?? 0;
    for (const s of this.live?.list() ?? []) for (const p of s.players) n += p.stats.dropped;
    return n;
  }

  bytes(): { in: number; out: number } {
    let bytesIn = this.bytesInClosed;
    let bytesOut = this.bytesOutClosed;
    for (const w of this.watched.values()) {
      const stats = w.connection.stats();
      bytesIn += stats.bytesIn;
      bytesOut += stats.bytesOut;
    }
    return { in: bytesIn, out: bytesOut };
  }

  private row(w: Watched): ConnectionRow {
    const c = w.connection;
    return {
      id: c.id,
      address: c.remoteAddress,
      app: c.app ?? null,
      streams: [...c.streams.values()].map((s) => s.name).filter((n): n is string => n !== undefined).map(withoutQuery),
      state: w.state,
      uptimeMs: Date.now() - w.acceptedAt,
      kbitIn: w.kbitIn,
      kbitOut: w.kbitOut,
    };
  }

  private streamRow(s: LiveStream): StreamRow {
    const info = s.streamInfo;
    const owner = this.live?.ownerOf(s);
    return {
      app: s.app,
      name: s.name,
      state: s.state,
      publisher: owner instanceof NetStream ? owner.connection.id : owner !== undefined ? 'application' : null,
      videoCodec: info.videoCodec ?? null,
      audioCodec: info.audioCodec ?? null,
      width: info.width ?? null,
      height: info.height ?? null,
      frameRate: info.frameRate ?? null,
      bitrate: info.bitrate ?? null,
      bitrateHistory: this.streamHistory.get(s.key)?.slice() ?? [],
      players: s.players.size,
    };
  }

  private watch(connection: Connection): void {
    if (this.watched.has(connection.id)) return;
    const w: Watched = {
      connection,
      acceptedAt: Date.now() - connection.stats().uptime,
      state: connection.state,
      history: [],
      bytes: { in: 0, out: 0, at: Date.now() },
      kbitIn: 0,
      kbitOut: 0,
      version: ++this.version,
    };
    this.accepted++;
    this.watched.set(connection.id, w);
    this.byActor.set(connection.actor, w);
    connection.commandTap ??= (entry) => this.command(w, entry);
    this.recorder.accepted(connection);
    void connection.closed.then(() => this.forget(w));
  }

  private forget(w: Watched): void {
    if (this.watched.get(w.connection.id) !== w) return;
    const stats = w.connection.stats();
    this.bytesInClosed += stats.bytesIn;
    this.bytesOutClosed += stats.bytesOut;
    this.watched.delete(w.connection.id);
    this.byActor.delete(w.connection.actor);
    this.removed.push({ id: w.connection.id, version: ++this.version });
    this.recorder.ended(w.connection.id);
    if (this.removed.length > 10_000) this.removedTrimmedAt = this.removed.splice(0, 5_000).pop()!.version;
  }

  private push(w: Watched, entry: HistoryEntry): void {
    w.history.push(entry);
    if (w.history.length > this.historyLength) w.history.splice(0, w.history.length - this.historyLength);
    w.version = ++this.version;
  }

  private command(w: Watched, entry: CommandTapEntry): void {
    this.recorder.command(w.connection.id, { direction: entry.direction, name: entry.name, transactionId: entry.transactionId, streamId: entry.streamId });
    // onStatus and _result/_error are the server's own words: shown whole; what a client sends is shaped unless opted in.
    const args = entry.direction === 'out' || this.showArguments ? entry.args.map((a) => plain(a)) : entry.args.map(shape);
    this.push(w, { at: Date.now(), kind: 'command', direction: entry.direction, name: entry.name, transactionId: entry.transactionId, streamId: entry.streamId, args });
  }

  private inspected(event: InspectionEvent): void {
    if (event.type !== '@xstate.snapshot') return;
    const w = this.byActor.get(event.actorRef);
    if (w === undefined) return;
    const snapshot = event.snapshot as { value?: unknown };
    const to = typeof snapshot.value === 'string' ? snapshot.value : JSON.stringify(snapshot.value);
    if (event.event.type !== 'xstate.init') this.recorder.event(w.connection.id, event.event as { type: string }, to);
    if (to === w.state) return;
    const from = w.state;
    this.transitions.set(`${from}\u0000${to}`, (this.transitions.get(`${from}\u0000${to}`) ?? 0) + 1);
    if (from === 'handshake' && this.handshakeDurations.length < 10_000) this.handshakeDurations.push((Date.now() - w.acceptedAt) / 1000);
    w.state = to;
    this.push(w, { at: Date.now(), kind: 'state', from, to, event: event.event.type });
    if (to === 'closing') {
      const reason = (event.snapshot as { context?: { closeReason?: string } }).context?.closeReason;
      if (reason) {
        this.push(w, { at: Date.now(), kind: 'error', message: reason });
        this.recorder.error(w.connection.id, reason);
      }
    }
  }

  private sample(): void {
    const now = Date.now();
    for (const w of this.watched.values()) {
      const stats = w.connection.stats();
      const seconds = Math.max(0.001, (now - w.bytes.at) / 1000);
      const kbitIn = Math.round(((stats.bytesIn - w.bytes.in) * 8) / 1000 / seconds);
      const kbitOut = Math.round(((stats.bytesOut - w.bytes.out) * 8) / 1000 / seconds);
      if (this.recorder.isRecording(w.connection.id) && (stats.bytesIn !== w.bytes.in || stats.bytesOut !== w.bytes.out)) {
        this.recorder.media(w.connection.id, { bytesIn: stats.bytesIn - w.bytes.in, bytesOut: stats.bytesOut - w.bytes.out, messagesIn: stats.messagesIn, messagesOut: stats.messagesOut });
      }
      w.bytes = { in: stats.bytesIn, out: stats.bytesOut, at: now };
      if (kbitIn !== w.kbitIn || kbitOut !== w.kbitOut) {
        w.kbitIn = kbitIn;
        w.kbitOut = kbitOut;
        w.version = ++this.version;
      }
    }
    const present = new Set<string>();
    for (const s of this.live?.list() ?? []) {
      present.add(s.key);
      const history = this.streamHistory.get(s.key) ?? [];
      history.push(Math.round(s.streamInfo.bitrate ?? 0));
      if (history.length > HISTORY_SAMPLES) history.shift();
      this.streamHistory.set(s.key, history);
    }
    for (const key of this.streamHistory.keys()) if (!present.has(key)) this.streamHistory.delete(key);
  }
}

import { Packr } from 'msgpackr';
import { createActor } from 'xstate';
import { ConnectionContext, connectionMachine } from '../session/machine';
import type { Connection } from '../session/connection';

/** What the machine received, without what could be secret: its type and the app or reason it carried. */
export interface RecordedEvent {
  type: string;
  app?: string;
  reason?: string;
}

/** One entry of a recording; `t` is ms since the recording began. Never a payload. */
export type FlightEvent =
  | { t: number; kind: 'event'; event: RecordedEvent; state: string }
  | { t: number; kind: 'command'; direction: 'in' | 'out'; name: string; transactionId: number; streamId: number }
  | { t: number; kind: 'error'; message: string }
  | { t: number; kind: 'media'; bytesIn: number; bytesOut: number; messagesIn: number; messagesOut: number };

export interface FlightRecording {
  format: 'rxrtmp-flight/1';
  id: string;
  connection: { id: string; address: string; app: string | null };
  startedAt: number;
  endedAt: number | null;
  /** The machine's state and context when the recording began: a replay starts from there. */
  start: { state: string; context: ConnectionContext };
  events: FlightEvent[];
  /** Events left out once the recording reached its bound. */
  truncated: number;
}

export interface FlightRecorderOptions {
  /** Apps whose connections are recorded from their first byte (off by default: none). */
  apps?: string[];
  /** Finished recordings kept in memory. */
  keep?: number;
  /** Events kept per recording. */
  maxEvents?: number;
}

const packr = new Packr({ useRecords: false });

export const encodeRecording = (recording: FlightRecording): Buffer => packr.pack(recording);
export const decodeRecording = (bytes: Buffer | Uint8Array): FlightRecording => {
  const value = packr.unpack(bytes) as FlightRecording;
  if (value?.format !== 'rxrtmp-flight/1' || !Array.isArray(value.events)) throw new Error('not an rxrtmp flight recording');
  return value;
};

/**
 * The flight recorder: per app (from a connection's first byte) or per connection (from
 * now on), the session's control-plane events, commands without their arguments, errors
 * and a media summary a second, kept compactly and bounded, downloadable as msgpack.
 * Off unless asked for. A recording replays into the connection machine to the same
 * sequence of states (`replayStates`).
 */
export class FlightRecorder {
  private readonly apps: Set<string>;
  private readonly active = new Map<string, FlightRecording>();
  /** Recordings started at accept that wait for the connect command to learn their app. */
  private readonly tentative = new Set<string>();
  private readonly finished: FlightRecording[] = [];
  private readonly keep: number;
  private readonly maxEvents: number;
  private nextId = 1;

  constructor(options: FlightRecorderOptions = {}) {
    this.apps = new Set(options.apps ?? []);
    this.keep = options.keep ?? 100;
    this.maxEvents = options.maxEvents ?? 10_000;
  }

  get recordedApps(): string[] {
    return [...this.apps];
  }

  recordApp(app: string, on: boolean): void {
    if (on) this.apps.add(app);
    else this.apps.delete(app);
  }

  /** A connection was accepted: recorded from here if any app is, until its app is known. */
  accepted(connection: Connection): void {
    if (this.apps.size === 0) return;
    this.begin(connection);
    this.tentative.add(connection.id);
  }

  /** Starts recording a connection from its current state; returns the recording's id. */
  begin(connection: Connection): string {
    const existing = this.active.get(connection.id);
    if (existing) return existing.id;
    const snapshot = connection.actor.getSnapshot();
    const recording: FlightRecording = {
      format: 'rxrtmp-flight/1',
      id: String(this.nextId++),
      connection: { id: connection.id, address: connection.remoteAddress, app: connection.app ?? null },
      startedAt: Date.now(),
      endedAt: null,
      start: { state: String(snapshot.value), context: { ...snapshot.context } },
      events: [],
      truncated: 0,
    };
    this.active.set(connection.id, recording);
    return recording.id;
  }

  isRecording(connectionId: string): boolean {
    return this.active.has(connectionId);
  }

  /** The machine took an event (whether or not its state changed). */
  event(connectionId: string, event: { type: string; app?: unknown; reason?: unknown }, state: string): void {
    const recording = this.active.get(connectionId);
    if (!recording) return;
    const recorded: RecordedEvent = { type: event.type };
    if (typeof event.app === 'string') recorded.app = event.app;
    if (typeof event.reason === 'string') recorded.reason = event.reason;
    if (event.type === 'CONNECT_REQUESTED' && this.tentative.delete(connectionId) && !this.apps.has(recorded.app ?? '')) {
      this.active.delete(connectionId);
      return;
    }
    if (recorded.app !== undefined) recording.connection.app = recorded.app;
    this.add(recording, { t: Date.now() - recording.startedAt, kind: 'event', event: recorded, state });
  }

  command(connectionId: string, entry: { direction: 'in' | 'out'; name: string; transactionId: number; streamId: number }): void {
    const recording = this.active.get(connectionId);
    if (recording) this.add(recording, { t: Date.now() - recording.startedAt, kind: 'command', ...entry });
  }

  error(connectionId: string, message: string): void {
    const recording = this.active.get(connectionId);
    if (recording) this.add(recording, { t: Date.now() - recording.startedAt, kind: 'error', message });
  }

  media(connectionId: string, counts: { bytesIn: number; bytesOut: number; messagesIn: number; messagesOut: number }): void {
    const recording = this.active.get(connectionId);
    if (recording) this.add(recording, { t: Date.now() - recording.startedAt, kind: 'media', ...counts });
  }

  /** The connection is gone: its recording is finished and kept (the oldest go first). */
  ended(connectionId: string): void {
    const recording = this.active.get(connectionId);
    this.tentative.delete(connectionId);
    if (!recording) return;
    this.active.delete(connectionId);
    recording.endedAt = Date.now();
    this.finished.push(recording);
    if (this.finished.length > this.keep) this.finished.splice(0, this.finished.length - this.keep);
  }

  list(): { id: string; connection: FlightRecording['connection']; startedAt: number; endedAt: number | null; events: number }[] {
    return [...this.finished, ...this.active.values()].map((r) => ({ id: r.id, connection: r.connection, startedAt: r.startedAt, endedAt: r.endedAt, events: r.events.length }));
  }

  get(id: string): FlightRecording | undefined {
    return this.finished.find((r) => r.id === id) ?? [...this.active.values()].find((r) => r.id === id);
  }

  private add(recording: FlightRecording, event: FlightEvent): void {
    if (recording.events.length >= this.maxEvents) recording.truncated++;
    else recording.events.push(event);
  }
}

/**
 * Runs a recording's events through the connection machine from the state it began in,
 * and returns the state after each: a faithful recording gives back its own states.
 */
export function replayStates(recording: FlightRecording): string[] {
  const start = connectionMachine.resolveState({ value: recording.start.state, context: recording.start.context } as Parameters<typeof connectionMachine.resolveState>[0]);
  const actor = createActor(connectionMachine, { snapshot: start, input: recording.start.context });
  actor.start();
  const states: string[] = [];
  for (const entry of recording.events) {
    if (entry.kind !== 'event') continue;
    // Delayed transitions are events too (`xstate.after.…`): sent by name, they take the same path.
    actor.send(entry.event as Parameters<typeof actor.send>[0]);
    states.push(String(actor.getSnapshot().value));
  }
  actor.stop();
  return states;
}

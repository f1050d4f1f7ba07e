import type { SchedulerLike } from 'rxjs';
import type { ActorOptions, AnyActorLogic } from 'xstate';

type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

/** Every limit and protocol setting of a session, in one place, with its default. */
export interface SessionOptions {
  /** Largest incoming message (bytes). */
  maxMessageSize: number;
  /** Largest total of incoming partial messages across chunk streams (bytes). */
  maxPendingBytes: number;
  /** Chunk streams a peer may use (each keeps a header state for the connection's life). */
  maxChunkStreams: number;
  /** Streams one connection may publish at once. */
  maxPublishes: number;
  /** Ping requests from the peer answered per second; more are ignored (a flood costs it, not us). */
  maxPingsPerSecond: number;
  /** A peer that has not finished the handshake after this long is dropped (ms). */
  handshakeTimeout: number;
  /** A peer that has not sent connect this long after the handshake is dropped (ms). */
  connectTimeout: number;
  /** After this long without a byte from the peer, a ping request is sent (ms). */
  pingInterval: number;
  /** A peer that sends nothing for this long, pings included, is taken for dead (ms). */
  idleTimeout: number;
  /** Commands being handled at once on one connection; more are answered with `_error`. */
  maxPendingCalls: number;
  /** How long `invoke()` waits for the client's answer (ms). */
  invokeTimeout: number;
  /** Streams one connection may create. */
  maxStreams: number;
  /** Our outgoing chunk size, announced after connect. */
  chunkSize: number;
  /** Window Acknowledgement Size we announce: the peer acknowledges every this many bytes. */
  windowAckSize: number;
  /** Set Peer Bandwidth we announce (dynamic). */
  peerBandwidth: number;
  /** Longest app or stream name, query included (names are checked before any handler sees them). */
  maxNameLength: number;
  /** Allowed app and stream names (before any `?query`); default DEFAULT_NAME_PATTERN (lib/session/names.ts). */
  namePattern?: RegExp;
  /** Scheduler for the session's timers; tests pass a virtual-time one. */
  scheduler?: SchedulerLike;
  /** Clock for the connection actor's delays; tests pass xstate's SimulatedClock. */
  clock?: Clock;
}

export const defaultSessionOptions: SessionOptions = {
  maxMessageSize: 8 * 1024 * 1024,
  maxPendingBytes: 16 * 1024 * 1024,
  maxChunkStreams: 64,
  maxPublishes: 4,
  maxPingsPerSecond: 10,
  handshakeTimeout: 10_000,
  connectTimeout: 10_000,
  pingInterval: 30_000,
  idleTimeout: 90_000,
  maxPendingCalls: 64,
  invokeTimeout: 30_000,
  maxStreams: 32,
  chunkSize: 4096,
  windowAckSize: 2_500_000,
  peerBandwidth: 2_500_000,
  maxNameLength: 256,
};

/**
 * Where the server says what happened. Any logger with these methods taking a message
 * works: pino, winston, bunyan, console.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** One JSON object per line on standard output (`time`, `level`, `msg`), as log shippers read it. */
export const jsonLogger: Logger = {
  info: (message) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: message })}\n`),
  warn: (message) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: message })}\n`),
  error: (message) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: message })}\n`),
};

/** One line per event on standard error, with an ISO time. */
export const consoleLogger: Logger = {
  info: (message) => console.error(`${new Date().toISOString()} INFO  ${message}`),
  warn: (message) => console.error(`${new Date().toISOString()} WARN  ${message}`),
  error: (message) => console.error(`${new Date().toISOString()} ERROR ${message}`),
};

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

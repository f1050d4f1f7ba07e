import type { Observable } from 'rxjs';
import type { AmfValue } from '../protocol/amf/values';
import type { ConnectProperties, PublishType } from '../protocol/net-commands';
import type { Connection } from './connection';
import type { NetStream } from './net-stream';

/**
 * What a handler in a chain answers: `true` accepts (and ends the chain), `undefined`
 * or `false` passes to the next handler, `{ reject }` refuses at once with that description.
 */
export type Decision = boolean | undefined | void | { reject: string; code?: string };

export type MaybeAsync<T> = T | Promise<T>;

export interface ConnectRequest {
  properties: ConnectProperties;
  /** The arguments the client appended after the command object (rtmpdump's `-C`, Flash's extra connect args). */
  args: AmfValue[];
}

export interface ConnectHandler {
  connect(connection: Connection, request: ConnectRequest): MaybeAsync<Decision>;
  /** Heard by the handler that accepted the connection, once, when it ends. */
  disconnect?(connection: Connection, reason: string): void;
}

export interface CallEvent {
  readonly connection: Connection;
  readonly procedure: string;
  /** 0 when the client expects no answer. */
  readonly transactionId: number;
  readonly commandObject: AmfValue;
  readonly args: AmfValue[];
  /** For `calls()` subscribers that answer themselves; a handler's return value answers otherwise. */
  respond(value: AmfValue): void;
  fail(error: Error | string): void;
  readonly answered: boolean;
}

/** The result becomes `_result`; a throw or rejection becomes `_error` (NetConnection.Call.Failed). */
export type CallHandler = (call: CallEvent) => AmfValue | Promise<AmfValue> | Observable<AmfValue>;

export interface PlayRequest {
  streamName: string;
  /** −2 live or recorded, −1 live only, ≥ 0 recorded from this millisecond (ffmpeg sends −2000 / −1000). */
  start: number;
  duration: number;
  reset: boolean;
}

export interface PublishRequest {
  streamName: string;
  publishType: PublishType;
}

/** Hooks for the streams a client creates; every member is optional and handlers chain. */
export interface StreamHandler {
  /** `false` or `{ reject }` refuses the createStream with `_error`. */
  createStream?(connection: Connection): MaybeAsync<Decision>;
  deleteStream?(stream: NetStream): void;
  play?(stream: NetStream, request: PlayRequest): MaybeAsync<Decision>;
  /** Play.Start has gone out: from now on media may flow to the stream. */
  playing?(stream: NetStream): void;
  /** The stream stopped playing: closeStream, deleteStream, a new play, or the connection ended. */
  stop?(stream: NetStream): void;
  pause?(stream: NetStream, milliseconds: number): void;
  resume?(stream: NetStream, milliseconds: number): void;
  seek?(stream: NetStream, milliseconds: number): void;
  publish?(stream: NetStream, request: PublishRequest): MaybeAsync<Decision>;
  unpublish?(stream: NetStream): void;
}

/** Where a connection finds its handlers: its own first, then the server's. */
export interface HandlerRegistry {
  connectHandlers: readonly ConnectHandler[];
  callHandlers: ReadonlyMap<string, CallHandler>;
  defaultCallHandler: CallHandler | undefined;
  streamHandlers: readonly StreamHandler[];
}


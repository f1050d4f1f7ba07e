import { AmfValue, isPlainObject } from '../protocol/amf/values';
import { StatusInfo } from '../protocol/net-commands';

/** The `description` of an info object, or undefined when it has none. */
export function describe(info: AmfValue): string | undefined {
  return isPlainObject(info) && typeof info.description === 'string' ? info.description : undefined;
}

/** The `code` of an info object, or undefined when it has none. */
export function codeOf(info: AmfValue): string | undefined {
  return isPlainObject(info) && typeof info.code === 'string' ? info.code : undefined;
}

/**
 * The server answered a call (connect, createStream or an application procedure)
 * with `_error`. The message is the info object's description; the object itself is kept.
 */
export class ClientCallError extends Error {
  override readonly name = 'CallError';
  constructor(
    message: string,
    /** The info object the server sent with `_error` (null when it sent none). */
    readonly info: AmfValue = null,
  ) {
    super(message);
  }

  /** The info object's code, e.g. `NetConnection.Call.Failed` or `NetConnection.Connect.Rejected`. */
  get code(): string | undefined {
    return codeOf(this.info);
  }
}

/** A NetStream operation (play, publish, pause, seek) answered by an error-level `onStatus`. */
export class StreamStatusError extends Error {
  override readonly name = 'StreamStatusError';
  constructor(
    operation: string,
    readonly info: StatusInfo,
  ) {
    super(`${operation} failed: ${info.code}${info.description ? `: ${info.description}` : ''}`);
  }

  get code(): string {
    return this.info.code;
  }
}

/** The connection ended (closed by us, by the server, by a timeout or a protocol error) before an answer came. */
export class ClientClosedError extends Error {
  override readonly name = 'ClientClosedError';
}

/** No answer within the client's `timeout`. */
export class ClientTimeoutError extends Error {
  override readonly name = 'ClientTimeoutError';
}

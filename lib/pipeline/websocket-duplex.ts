import { Duplex } from 'node:stream';

/**
 * The part of a WebSocket this adapter uses: the WHATWG API, which browsers, Node 22's
 * global WebSocket and the `ws` package all have. `ws` adds pause/resume and a send callback.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array, ...rest: never[]): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error' | 'message', listener: (event: { data?: unknown; code?: number; reason?: string; message?: string }) => void): void;
  pause?(): void;
  resume?(): void;
  terminate?(): void;
}

export interface WebSocketDuplexOptions {
  /** Writes are sent as frames of at most this many bytes (default 64 KiB). */
  maxFrameBytes?: number;
  /** A write waits while the socket holds more than this unsent (bytes; default 1 MiB). */
  highWater?: number;
}

const CONNECTING = 0;
const OPEN = 1;
/** WebSocket close codes (RFC 6455 §7.4.1). */
export const CloseCode = { normal: 1000, unsupportedData: 1003, protocolError: 1002, tooBig: 1009, internalError: 1011 } as const;

/** A text frame carries no RTMP bytes: the connection is refused, as a malformed chunk is over TCP. */
export class WebSocketTextFrameError extends Error {
  override readonly name = 'WebSocketTextFrameError';
  constructor() {
    super('a text frame arrived: RTMP over WebSocket is carried in binary frames only');
  }
}

/**
 * A WebSocket as a duplex byte stream, so that the same session actor and pipelines run
 * over it as over TCP: binary frames are the bytes of the RTMP stream, cut anywhere.
 * Reading pauses the socket when the stream's buffer is full (where the socket can pause:
 * `ws` can, a browser's cannot); writing waits while the socket holds `highWater` unsent.
 */
export class WebSocketDuplex extends Duplex {
  private readonly maxFrameBytes: number;
  private readonly highWater: number;
  private readonly canPause: boolean;
  private opened: Promise<void>;

  constructor(
    private readonly socket: WebSocketLike,
    options: WebSocketDuplexOptions = {},
  ) {
    super({ allowHalfOpen: false });
    this.maxFrameBytes = options.maxFrameBytes ?? 64 * 1024;
    this.highWater = options.highWater ?? 1024 * 1024;
    this.canPause = typeof socket.pause === 'function' && typeof socket.resume === 'function';
    // `ws` hands over Buffers as they are; a browser gives ArrayBuffers, wrapped without a copy.
    socket.binaryType = typeof socket.terminate === 'function' ? 'nodebuffer' : 'arraybuffer';
    this.opened =
      socket.readyState === CONNECTING
        ? new Promise((resolve, reject) => {
            socket.addEventListener('open', () => resolve());
            socket.addEventListener('close', () => reject(new Error('the WebSocket closed before it opened')));
          })
        : Promise.resolve();
    this.opened.catch(() => undefined);
    socket.addEventListener('message', (event) => this.received(event.data));
    socket.addEventListener('error', (event) => this.destroy(new Error(`WebSocket error${event.message ? `: ${event.message}` : ''}`)));
    socket.addEventListener('close', (event) => {
      this.push(null);
      // A clean close ends the stream; any other code is the peer's or the browser's complaint.
      if (event.code === CloseCode.normal || event.code === 1005 || event.code === 1001) this.destroy();
      else this.destroy(new Error(`WebSocket closed with ${event.code}${event.reason ? ` (${event.reason})` : ''}`));
    });
  }

  override _read(): void {
    if (this.canPause) this.socket.resume!();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.opened.then(
      () => this.sendFrames(chunk, callback),
      (error: Error) => callback(error),
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.socket.readyState === OPEN || this.socket.readyState === CONNECTING) this.socket.close(CloseCode.normal);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const state = this.socket.readyState;
    if (state === OPEN || state === CONNECTING) {
      const code = error instanceof WebSocketTextFrameError ? CloseCode.unsupportedData : error ? CloseCode.protocolError : CloseCode.normal;
      if (error && this.socket.terminate && state === OPEN) {
        // Say why, then drop the socket without waiting for the peer's close frame.
        this.socket.close(code, error.message.slice(0, 120));
        const socket = this.socket;
        setTimeout(() => socket.terminate!(), 500).unref?.();
      } else {
        this.socket.close(code, error ? error.message.slice(0, 120) : undefined);
      }
    }
    callback(error);
  }

  private received(data: unknown): void {
    if (this.destroyed) return;
    if (typeof data === 'string') {
      this.destroy(new WebSocketTextFrameError());
      return;
    }
    const bytes = Buffer.isBuffer(data) ? data : data instanceof ArrayBuffer ? Buffer.from(data) : Array.isArray(data) ? Buffer.concat(data as Buffer[]) : undefined;
    if (bytes === undefined) return;
    if (!this.push(bytes) && this.canPause) this.socket.pause!();
  }

  private sendFrames(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.socket.readyState !== OPEN) {
      callback(new Error('the WebSocket is closed'));
      return;
    }
    for (let at = 0; at < chunk.length; at += this.maxFrameBytes) this.socket.send(chunk.subarray(at, at + this.maxFrameBytes));
    this.whenDrained(callback);
  }

  /** A browser's WebSocket has no drain event: its unsent bytes are looked at until they fall. */
  private whenDrained(callback: (error?: Error | null) => void): void {
    if (this.socket.bufferedAmount <= this.highWater || this.socket.readyState !== OPEN) {
      callback();
      return;
    }
    setTimeout(() => this.whenDrained(callback), 5);
  }
}

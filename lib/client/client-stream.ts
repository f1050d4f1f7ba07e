import { Observable, Subject } from 'rxjs';
import { AmfValue } from '../protocol/amf/values';
import { Command, encodeCommand, encodeData, ObjectEncoding } from '../protocol/commands';
import { encodeControl } from '../protocol/control';
import { ChunkStreamIds, MessageType, RtmpMessage } from '../protocol/message';
import { NetCommand, PublishType, StatusInfo, toCommand } from '../protocol/net-commands';
import { ClientClosedError, ClientTimeoutError, StreamStatusError } from './errors';

/** Chunk stream for NetStream commands (play, publish, pause…), as ffmpeg uses. */
const STREAM_COMMAND_CSID = 8;
/** What the client announces with Set Buffer Length after play (ms). */
export const PLAY_BUFFER_MS = 3000;

export interface PlayOptions {
  /** −2 live or recorded (default), −1 live only, ≥ 0 recorded from this millisecond. */
  start?: number;
  /** −1 (default) to the end. */
  duration?: number;
  /** Default true: the server flushes and sends Play.Reset. */
  reset?: boolean;
}

/** A NetStream on the client side: a message stream id the server created for us. */
export interface ClientStream {
  readonly id: number;
  /** Resolves on NetStream.Play.Start; rejects on an error-level onStatus (StreamNotFound…) with its code in the message. */
  play(name: string, options?: PlayOptions): Promise<StatusInfo>;
  /** Resolves on NetStream.Publish.Start; rejects on an error-level onStatus (BadName, Denied…). */
  publish(name: string, type?: PublishType): Promise<StatusInfo>;
  /** Audio, video, aggregate and data messages the server sends on this stream. Completes when the stream closes. */
  readonly media$: Observable<RtmpMessage>;
  /** Sends an audio (8), video (9), aggregate (22) or data (18, 15) message on this stream; false when it was not written or the socket is backed up. */
  /** A payload may be any Uint8Array (a page's bytes): it is sent without a copy. */
  sendMedia(message: { typeId: number; timestamp: number; payload: Uint8Array }): boolean;
  /** Sends a data message, e.g. `'@setDataFrame', ['onMetaData', {...}]`. */
  sendData(name: string, values: AmfValue[], timestamp?: number): void;
  /** Resolves on NetStream.Pause.Notify (pausing) or NetStream.Unpause.Notify (resuming). */
  pause(paused: boolean, milliseconds?: number): Promise<StatusInfo>;
  /** Resolves on NetStream.Seek.Notify. */
  seek(milliseconds: number): Promise<StatusInfo>;
  /** Asks the server to stop (false) or resume (true) sending this stream's audio or video; no answer comes. */
  receive(kind: 'audio' | 'video', enabled: boolean): void;
  /** Sends closeStream and deleteStream; pending operations reject, media$ completes. */
  close(): void;
}

/** What a stream needs from its client. */
export interface StreamHost {
  readonly timeout: number;
  readonly objectEncoding: ObjectEncoding;
  /** Set once the connection has ended; operations then fail with it. */
  readonly closedError: Error | undefined;
  send(message: RtmpMessage): boolean;
  /** The stream was closed by the application: stop routing messages to it. */
  forget(id: number): void;
}

interface StatusWaiter {
  operation: string;
  /** Codes that resolve the operation. */
  success: readonly string[];
  /** Error-level codes starting with this reject it (e.g. `NetStream.Play.`). */
  family: string;
  resolve(info: StatusInfo): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

const MEDIA_CSID: Readonly<Record<number, number>> = {
  [MessageType.Audio]: ChunkStreamIds.audio,
  [MessageType.Video]: ChunkStreamIds.video,
  [MessageType.Aggregate]: ChunkStreamIds.video,
  [MessageType.DataAmf0]: ChunkStreamIds.data,
  [MessageType.DataAmf3]: ChunkStreamIds.data,
};

export class RtmpClientStream implements ClientStream {
  private readonly media = new Subject<RtmpMessage>();
  private readonly waiters: StatusWaiter[] = [];
  private closedError: Error | undefined;

  constructor(
    readonly id: number,
    private readonly host: StreamHost,
  ) {}

  get media$(): Observable<RtmpMessage> {
    return this.media.asObservable();
  }

  play(name: string, options: PlayOptions = {}): Promise<StatusInfo> {
    const { start = -2, duration = -1, reset = true } = options;
    return this.operate(`play ${name}`, ['NetStream.Play.Start'], 'NetStream.Play.', () => {
      this.sendCommand({ kind: 'play', streamName: name, start, duration, reset });
      this.host.send(encodeControl({ kind: 'setBufferLength', streamId: this.id, milliseconds: PLAY_BUFFER_MS }));
    });
  }

  publish(name: string, type: PublishType = 'live'): Promise<StatusInfo> {
    return this.operate(`publish ${name}`, ['NetStream.Publish.Start'], 'NetStream.Publish.', () =>
      this.sendCommand({ kind: 'publish', streamName: name, publishType: type }),
    );
  }

  pause(paused: boolean, milliseconds = 0): Promise<StatusInfo> {
    const [code, family] = paused ? ['NetStream.Pause.Notify', 'NetStream.Pause.'] : ['NetStream.Unpause.Notify', 'NetStream.Unpause.'];
    return this.operate(paused ? 'pause' : 'unpause', [code], family, () => this.sendCommand({ kind: 'pause', pause: paused, milliseconds }));
  }

  receive(kind: 'audio' | 'video', enabled: boolean): void {
    this.sendCommand({ kind: kind === 'audio' ? 'receiveAudio' : 'receiveVideo', enabled });
  }

  seek(milliseconds: number): Promise<StatusInfo> {
    return this.operate(`seek ${milliseconds}`, ['NetStream.Seek.Notify'], 'NetStream.Seek.', () => this.sendCommand({ kind: 'seek', milliseconds }));
  }

  sendMedia(message: { typeId: number; timestamp: number; payload: Uint8Array }): boolean {
    const chunkStreamId = MEDIA_CSID[message.typeId];
    if (chunkStreamId === undefined) throw new TypeError(`sendMedia: message type ${message.typeId} is not audio, video, aggregate or data`);
    if (this.unusable() !== undefined) return false;
    const { payload } = message;
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    return this.host.send({ chunkStreamId, timestamp: message.timestamp, typeId: message.typeId, streamId: this.id, payload: bytes });
  }

  sendData(name: string, values: AmfValue[], timestamp = 0): void {
    if (this.unusable() !== undefined) return;
    const { typeId, payload } = encodeData({ name, values }, this.host.objectEncoding);
    this.host.send({ chunkStreamId: ChunkStreamIds.data, timestamp, typeId, streamId: this.id, payload });
  }

  close(): void {
    if (this.closedError !== undefined) return;
    if (this.host.closedError === undefined) {
      this.sendCommand({ kind: 'closeStream' });
      this.writeCommand(toCommand({ kind: 'deleteStream', transactionId: 0, streamId: this.id }), 0, ChunkStreamIds.command);
    }
    this.end(new ClientClosedError(`stream ${this.id} was closed`));
    this.host.forget(this.id);
  }

  /** @internal an onStatus the server sent on this stream. */
  receiveStatus(info: StatusInfo): void {
    if (info.level === 'error') {
      const matching = this.waiters.filter((w) => info.code.startsWith(w.family));
      // An error of no operation's family (NetStream.Failed…) fails whatever is waiting.
      for (const waiter of matching.length > 0 ? matching : [...this.waiters]) {
        this.settle(waiter, () => waiter.reject(new StreamStatusError(waiter.operation, info)));
      }
      return;
    }
    const waiter = this.waiters.find((w) => w.success.includes(info.code));
    if (waiter !== undefined) this.settle(waiter, () => waiter.resolve(info));
  }

  /** @internal a media or data message the server sent on this stream. */
  receiveMedia(message: RtmpMessage): void {
    this.media.next(message);
  }

  /** @internal the stream or its connection ended: operations fail with `error`, media$ completes. */
  end(error: Error): void {
    if (this.closedError !== undefined) return;
    this.closedError = error;
    for (const waiter of [...this.waiters]) this.settle(waiter, () => waiter.reject(error));
    this.media.complete();
  }

  private unusable(): Error | undefined {
    return this.closedError ?? this.host.closedError;
  }

  private operate(operation: string, success: readonly string[], family: string, send: () => void): Promise<StatusInfo> {
    const error = this.unusable();
    if (error !== undefined) return Promise.reject(error);
    return new Promise<StatusInfo>((resolve, reject) => {
      const timeout = this.host.timeout;
      const waiter: StatusWaiter = {
        operation,
        success,
        family,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.settle(waiter, () => reject(new ClientTimeoutError(`${operation} on stream ${this.id}: no onStatus within ${timeout} ms`)));
        }, timeout),
      };
      this.waiters.push(waiter);
      send();
    });
  }

  private settle(waiter: StatusWaiter, how: () => void): void {
    const index = this.waiters.indexOf(waiter);
    if (index < 0) return;
    this.waiters.splice(index, 1);
    clearTimeout(waiter.timer);
    how();
  }

  private sendCommand(net: NetCommand): void {
    this.writeCommand(toCommand(net), this.id, STREAM_COMMAND_CSID);
  }

  private writeCommand(command: Command, streamId: number, chunkStreamId: number): void {
    const { typeId, payload } = encodeCommand(command, this.host.objectEncoding);
    this.host.send({ chunkStreamId, timestamp: 0, typeId, streamId, payload });
  }
}

import { baseName } from './names';
import { Observable, Subject } from 'rxjs';
import { AmfObject, AmfValue } from '../protocol/amf/values';
import { encodeCommand, encodeData, ObjectEncoding } from '../protocol/commands';
import { encodeControl } from '../protocol/control';
import { ChunkStreamIds, MessageType, RtmpMessage } from '../protocol/message';
import { status, StatusInfo } from '../protocol/net-commands';
import type { Connection } from './connection';
import type { SharedBodies } from '../pipeline/bodies';
import type { MediaBatch } from '../pipeline/media-tick';
import type { MessageWriter } from '../pipeline/writer';

export type NetStreamState = 'idle' | 'playing' | 'paused' | 'publishing' | 'closed';

/** How a stream reaches its connection's writer, without knowing the connection. */
export interface StreamOutput {
  send(message: RtmpMessage): boolean;
  /** `header` is reused by the caller for the next message: copy what is kept. */
  sendShared(header: Omit<RtmpMessage, 'payload'>, payload: Buffer, bodies: SharedBodies, batch?: MediaBatch): boolean;
  /** Bytes written but not yet taken by the operating system: the player's queue. */
  queuedBytes(): number;
  objectEncoding(): ObjectEncoding;
}

/** A connection's writer as its streams see it: one object per connection rather than a closure per method. */
export class WriterOutput implements StreamOutput {
  constructor(
    private readonly writer: MessageWriter,
    private readonly connection: { readonly objectEncoding: ObjectEncoding },
  ) {}

  send(message: RtmpMessage): boolean {
    return this.writer.send(message);
  }

  sendShared(header: Omit<RtmpMessage, 'payload'>, payload: Buffer, bodies: SharedBodies, batch?: MediaBatch): boolean {
    return this.writer.sendShared(header, payload, bodies, batch);
  }

  queuedBytes(): number {
    return this.writer.queuedBytes;
  }

  objectEncoding(): ObjectEncoding {
    return this.connection.objectEncoding;
  }
}

/**
 * A NetStream: one message stream id on a connection, created by createStream. It
 * plays (the server sends media) or publishes (the client sends media).
 */
export class NetStream {
  state: NetStreamState = 'idle';
  /** The name given to play or publish. */
  name: string | undefined;
  receiveAudio = true;
  receiveVideo = true;
  /** The client's buffer length from Set Buffer Length (ms). */
  bufferLength = 0;
  /**
   * While this stream publishes into a stream that batches (a fan-out), that stream's
   * batch: the connection then reads its transport once per tick of it (`PacedInput`).
   * Set by whoever consumes what is published.
   */
  readPacing: MediaBatch | undefined;
  private published = new Subject<RtmpMessage>();
  /** Reused for every shared media message: a fan-out sends one per player per packet, and writers copy what they keep. */
  private readonly mediaHeader: Omit<RtmpMessage, 'payload'>;

  constructor(
    readonly id: number,
    readonly connection: Connection,
    private readonly output: StreamOutput,
  ) {
    this.mediaHeader = { chunkStreamId: ChunkStreamIds.video, timestamp: 0, typeId: MessageType.Video, streamId: id };
  }

  /** Media (audio, video, aggregate) and data messages the client publishes on this stream. */
  get published$(): Observable<RtmpMessage> {
    return this.published.asObservable();
  }

  /** Sends `onStatus` on this stream. */
  sendStatus(code: string, description: string, level: StatusInfo['level'] = 'status', extra: AmfObject = {}): void {
    // The name's query may hold a token: statuses (which consoles and logs show) carry the name without it.
    const info = status(code, description, level, { details: baseName(this.name ?? ''), ...extra });
    this.connection.commandTap?.({ direction: 'out', streamId: this.id, name: 'onStatus', transactionId: 0, args: [info] });
    const { typeId, payload } = encodeCommand({ name: 'onStatus', transactionId: 0, commandObject: null, args: [info] }, this.output.objectEncoding());
    this.output.send({ chunkStreamId: ChunkStreamIds.data, timestamp: 0, typeId, streamId: this.id, payload });
  }

  /** Sends a data message (onMetaData, |RtmpSampleAccess, …) to the client on this stream. */
  sendData(name: string, values: AmfValue[], timestamp = 0): void {
    const { typeId, payload } = encodeData({ name, values }, this.output.objectEncoding());
    this.output.send({ chunkStreamId: ChunkStreamIds.data, timestamp, typeId, streamId: this.id, payload });
  }

  /** Sends one audio or video message to the client; honours receiveAudio / receiveVideo. */
  sendMedia(typeId: MessageType.Audio | MessageType.Video, timestamp: number, payload: Buffer): boolean {
    if (typeId === MessageType.Audio && !this.receiveAudio) return true;
    if (typeId === MessageType.Video && !this.receiveVideo) return true;
    const chunkStreamId = typeId === MessageType.Audio ? ChunkStreamIds.audio : ChunkStreamIds.video;
    return this.output.send({ chunkStreamId, timestamp, typeId, streamId: this.id, payload });
  }

  /**
   * Sends media whose chunk bodies are shared between players (`bodies` caches them
   * by chunk size and chunk stream); honours receiveAudio / receiveVideo.
   */
  sendSharedMedia(typeId: MessageType.Audio | MessageType.Video | MessageType.DataAmf0, timestamp: number, payload: Buffer, bodies: SharedBodies, batch?: MediaBatch): boolean {
    if (typeId === MessageType.Audio && !this.receiveAudio) return true;
    if (typeId === MessageType.Video && !this.receiveVideo) return true;
    const header = this.mediaHeader;
    header.chunkStreamId = typeId === MessageType.Audio ? ChunkStreamIds.audio : typeId === MessageType.Video ? ChunkStreamIds.video : ChunkStreamIds.data;
    header.timestamp = timestamp;
    header.typeId = typeId;
    return this.output.sendShared(header, payload, bodies, batch);
  }

  /** Bytes queued towards this stream's client (shared by every stream of the connection). */
  get queuedBytes(): number {
    return this.output.queuedBytes();
  }

  sendStreamBegin(): void {
    this.output.send(encodeControl({ kind: 'streamBegin', streamId: this.id }));
  }

  sendStreamEof(): void {
    this.output.send(encodeControl({ kind: 'streamEof', streamId: this.id }));
  }

  /** @internal the session feeds what the client publishes. */
  receive(message: RtmpMessage): void {
    if (this.state === 'publishing') this.published.next(message);
  }

  /** @internal */
  beginPublishing(name: string): void {
    if (this.published.closed || this.published.isStopped) this.published = new Subject<RtmpMessage>();
    this.name = name;
    this.state = 'publishing';
  }

  /** @internal */
  endPublishing(): void {
    this.state = 'idle';
    this.published.complete();
  }
}

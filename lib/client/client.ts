import { createConnection } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket as NodeWebSocket } from 'ws';
import { Observable, Subject, Subscription, tap } from 'rxjs';
import { AmfValue, isPlainObject } from '../protocol/amf/values';
import { Command, decodeCommand, encodeCommand, ObjectEncoding } from '../protocol/commands';
import { ControlMessage, decodeControl, encodeControl } from '../protocol/control';
import { ProtocolError } from '../protocol/errors';
import { ClientHandshake } from '../protocol/handshake';
import { ChunkStreamIds, RtmpMessage } from '../protocol/message';
import { NetCommand, parseNetCommand, status, StatusInfo, toCommand } from '../protocol/net-commands';
import { demuxChunks } from '../pipeline/demux';
import { initiateHandshake } from '../pipeline/handshake';
import { isCommandMessage, isControlMessage, isDataMessage, isMediaMessage } from '../pipeline/kinds';
import { fromTransport } from '../pipeline/transport';
import { MessageWriter } from '../pipeline/writer';
import { WebSocketDuplex, WebSocketLike } from '../pipeline/websocket-duplex';
import { ClientStream, RtmpClientStream, StreamHost } from './client-stream';
import { ConnectFields, connectCommandObject } from './connect-command';
import { ClientCallError, ClientClosedError, codeOf, describe } from './errors';
import { Answer, Transactions } from './transactions';
import { ClientUpkeep } from './upkeep';
import { parseRtmpUrl, RtmpTarget } from './url';

export interface ClientOptions {
  /** User arguments appended to connect (after the command object). */
  args?: AmfValue[];
  /** Connect command object fields; app and tcUrl come from the URL. */
  properties?: ConnectFields;
  /** Default 'digest', as ffmpeg and Flash Player send. */
  handshake?: 'simple' | 'digest';
  /** Milliseconds for the whole connect (TCP, handshake, connect's answer) and for each call or stream operation; default 10000. */
  timeout?: number;
  /** Outgoing chunk size, announced right after connect's `_result`; default 4096. */
  chunkSize?: number;
  /** For `wss://` in Node: the certificate authorities to trust (PEM), for a server with its own CA. */
  ca?: string | Buffer;
}

/** An `onStatus` the server sent; streamId 0 for NetConnection statuses. */
export interface ClientStatus {
  streamId: number;
  info: StatusInfo;
}

/** Answers a server-to-client call; a throw or rejection becomes `_error` (NetConnection.Call.Failed). */
export type ClientCallHandler = (...args: AmfValue[]) => AmfValue | Promise<AmfValue>;

const CONNECT_TRANSACTION = 1;
/** Window Acknowledgement Size we announce after connect. */
export const CLIENT_WINDOW_ACK_SIZE = 2_500_000;
const CLOSE_GRACE_MS = 2_000;

/**
 * An RTMP client connection (NetConnection): connect, remote calls both ways, and
 * NetStreams to play or publish. Built on the same codecs and pipeline operators as
 * the server; create one with `RtmpClient.connect(url)`.
 */
export class RtmpClient {
  /** Resolves once the transport has closed and everything is released, whatever the reason. */
  readonly closed: Promise<void>;
  private connectInfoValue: AmfValue = null;
  private serverPropertiesValue: AmfValue = null;
  private readonly writer: MessageWriter;
  private readonly transactions = new Transactions();
  private readonly streams = new Map<number, RtmpClientStream>();
  private readonly handlers = new Map<string, ClientCallHandler>();
  private readonly statuses = new Subject<ClientStatus>();
  private readonly subscription = new Subscription();
  private readonly timeout: number;
  private readonly streamHost: StreamHost;
  private encoding: ObjectEncoding = 0;
  private endedWith: Error | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly upkeep = new ClientUpkeep((control) => this.sendControl(control));
  private resolveClosed!: () => void;
  private readonly onTransportError = (error: Error): void => this.fail(error);
  private readonly onTransportClose = (): void => this.teardown();

  /**
   * Connects to `rtmp://host[:port]/app[/instance]`, or over WebSocket to
   * `ws[s]://host[:port]/rtmp/app[/instance]`; resolves after connect's `_result`.
   */
  static connect(url: string, options: ClientOptions = {}): Promise<RtmpClient> {
    const target = parseRtmpUrl(url);
    if (target.websocket !== undefined) {
      // The platform's WebSocket where there is one (browsers, Node 22), else the `ws` package.
      const Platform = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
      const socket: WebSocketLike = Platform ? new Platform(target.websocket) : (new NodeWebSocket(target.websocket, { perMessageDeflate: false, ...(options.ca !== undefined ? { ca: options.ca } : {}) }) as unknown as WebSocketLike);
      return RtmpClient.connectOver(new WebSocketDuplex(socket), url, options);
    }
    const socket = createConnection({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    return RtmpClient.connectOver(socket, url, options);
  }

  /** Runs the client over a transport that is already open or opening (a TLS socket, a test stream pair). */
  static async connectOver(transport: Duplex, url: string, options: ClientOptions = {}): Promise<RtmpClient> {
    const client = new RtmpClient(transport, parseRtmpUrl(url), options);
    try {
      await client.start();
      return client;
    } catch (error) {
      client.shutdown(error instanceof Error ? error : new Error(String(error)));
      transport.destroy();
      await client.closed;
      throw error;
    }
  }

  private constructor(
    private readonly transport: Duplex,
    private readonly target: RtmpTarget,
    private readonly options: ClientOptions,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.timeout = options.timeout ?? 10_000;
    this.writer = new MessageWriter(transport);
    transport.on('error', this.onTransportError);
    transport.once('close', this.onTransportClose);
    const client = this;
    this.streamHost = {
      timeout: this.timeout,
      get objectEncoding() {
        return client.encoding;
      },
      get closedError() {
        return client.endedWith;
      },
      send: (message) => this.writer.send(message),
      forget: (id) => this.streams.delete(id),
    };
  }

  /** The info object of connect's `_result` (code NetConnection.Connect.Success…). */
  get connectInfo(): AmfValue {
    return this.connectInfoValue;
  }

  /** The command object of connect's `_result` (fmsVer, capabilities…). */
  get serverProperties(): AmfValue {
    return this.serverPropertiesValue;
  }

  /** The object encoding in use after connect: the server's answer to ours. */
  get objectEncoding(): ObjectEncoding {
    return this.encoding;
  }

  /** Why the connection ended, once it has started to. */
  get closeReason(): string | undefined {
    return this.endedWith?.message;
  }

  /** Every `onStatus` the server sends, on any stream. Completes when the connection closes. */
  get status$(): Observable<ClientStatus> {
    return this.statuses.asObservable();
  }

  /** Calls a procedure on the server; resolves with the `_result`'s value, rejects with a ClientCallError on `_error`. */
  async call(procedure: string, ...args: AmfValue[]): Promise<AmfValue> {
    const answer = await this.request(procedure, (transactionId) => ({ name: procedure, transactionId, commandObject: null, args }));
    if (answer.kind === 'error') throw callError(procedure, answer);
    return answer.args[0] ?? null;
  }

  /** Calls a procedure with transaction id 0: the server sends no answer. Dropped once the connection is closing. */
  notify(procedure: string, ...args: AmfValue[]): void {
    if (this.endedWith !== undefined) return;
    this.sendCommand({ name: procedure, transactionId: 0, commandObject: null, args });
  }

  /** Answers the server's calls of `procedure` (Connection.invoke on our server). */
  onCall(procedure: string, handler: ClientCallHandler): this {
    this.handlers.set(procedure, handler);
    return this;
  }

  async createStream(): Promise<ClientStream> {
    const answer = await this.request('createStream', (transactionId) => toCommand({ kind: 'createStream', transactionId }));
    if (answer.kind === 'error') throw callError('createStream', answer);
    const id = answer.args[0];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 1) {
      throw new ClientCallError(`createStream: the server answered a stream id that is not a positive integer (${String(id)})`);
    }
    const stream = new RtmpClientStream(id, this.streamHost);
    this.streams.set(id, stream);
    return stream;
  }

  /** Ends the connection (no command is sent); resolves once the transport has closed. */
  close(): Promise<void> {
    if (this.endedWith === undefined) {
      this.shutdown(new ClientClosedError('the client closed the connection'));
      this.writer.end();
      this.graceTimer = setTimeout(() => this.transport.destroy(), CLOSE_GRACE_MS);
    }
    return this.closed;
  }

  private async start(): Promise<void> {
    const handshake = new ClientHandshake({ scheme: this.options.handshake ?? 'digest' });
    const messages$ = fromTransport(this.transport).pipe(
      tap((bytes) => this.upkeep.received(bytes.length)),
      initiateHandshake({ send: (bytes) => this.writer.writeRaw(bytes), done: () => this.sendConnect() }, handshake),
      demuxChunks(),
    );
    const answer = await this.transactions.open(
      `connect to ${this.target.tcUrl}`,
      this.timeout,
      () => {
        this.subscription.add(
          messages$.subscribe({
            next: (message) => this.route(message),
            error: (error: unknown) => this.fail(error),
            complete: () => {
              this.shutdown(new ClientClosedError('the server closed the connection'));
              this.writer.end();
            },
          }),
        );
        this.writer.writeRaw(handshake.start());
      },
      CONNECT_TRANSACTION,
    );
    const info = answer.args[0] ?? null;
    if (answer.kind === 'error') {
      const description = describe(info) ?? 'no description';
      throw new ClientCallError(`connect to ${this.target.tcUrl} rejected (${codeOf(info) ?? '_error'}): ${description}`, info);
    }
    this.connectInfoValue = info;
    this.serverPropertiesValue = answer.commandObject;
    const encoding = isPlainObject(info) ? info.objectEncoding : undefined;
    this.encoding = encoding === 3 ? 3 : 0;
    this.sendControl({ kind: 'windowAcknowledgementSize', size: CLIENT_WINDOW_ACK_SIZE });
    if (this.writer.writable) this.writer.setChunkSize(this.options.chunkSize ?? 4096);
  }

  private sendConnect(): void {
    const object = connectCommandObject(this.target, this.options.properties);
    // connect itself is always AMF0 (type 20); objectEncoding asks for what follows.
    const { typeId, payload } = encodeCommand({ name: 'connect', transactionId: CONNECT_TRANSACTION, commandObject: object, args: this.options.args ?? [] }, 0);
    this.writer.send({ chunkStreamId: ChunkStreamIds.command, timestamp: 0, typeId, streamId: 0, payload });
  }

  private request(what: string, build: (transactionId: number) => Command): Promise<Answer> {
    return this.transactions.open(what, this.timeout, (transactionId) => this.sendCommand(build(transactionId)));
  }

  private route(message: RtmpMessage): void {
    try {
      if (isControlMessage(message)) this.upkeep.handle(decodeControl(message.typeId, message.payload));
      else if (isCommandMessage(message)) this.handleCommand(message.streamId, parseNetCommand(decodeCommand(message.typeId, message.payload)));
      else if (isMediaMessage(message) || isDataMessage(message)) this.streams.get(message.streamId)?.receiveMedia(message);
      // Shared objects are not supported: ignored.
    } catch (error) {
      this.fail(error);
    }
  }

  private handleCommand(streamId: number, net: NetCommand): void {
    switch (net.kind) {
      case 'result':
      case 'error':
        this.transactions.settle(net.transactionId, { kind: net.kind, commandObject: net.commandObject, args: net.args });
        return;
      case 'onStatus':
        this.statuses.next({ streamId, info: net.info });
        this.streams.get(streamId)?.receiveStatus(net.info);
        return;
      case 'call':
        return this.answerCall(net.procedure, net.transactionId, net.args);
      case 'close':
        void this.close();
        return;
      default:
        // NetStream commands are the client's to send, not to receive.
        return;
    }
  }

  private answerCall(procedure: string, transactionId: number, args: AmfValue[]): void {
    const reply = (ok: boolean, value: AmfValue, description = ''): void => {
      if (transactionId === 0 || this.endedWith !== undefined) return;
      this.sendCommand({
        name: ok ? '_result' : '_error',
        transactionId,
        commandObject: null,
        args: [ok ? value : status('NetConnection.Call.Failed', description, 'error')],
      });
    };
    const handler = this.handlers.get(procedure);
    if (handler === undefined) return reply(false, null, `Method ${procedure} not found.`);
    void (async () => {
      try {
        reply(true, await handler(...args));
      } catch (error) {
        reply(false, null, error instanceof Error ? error.message : String(error));
      }
    })();
  }

  private sendControl(control: ControlMessage): void {
    this.writer.send(encodeControl(control));
  }

  private sendCommand(command: Command, streamId = 0): void {
    const { typeId, payload } = encodeCommand(command, this.encoding);
    this.writer.send({ chunkStreamId: ChunkStreamIds.command, timestamp: 0, typeId, streamId, payload });
  }

  /** A protocol or transport error: everything pending fails with it and the transport is dropped. */
  private fail(error: unknown): void {
    const why = error instanceof ProtocolError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
    this.shutdown(new ClientClosedError(`connection to ${this.target.tcUrl} failed: ${why}`, { cause: error }));
    this.transport.destroy();
  }

  /** The first reason to end wins: pending transactions and stream operations fail with it. */
  private shutdown(error: Error): void {
    if (this.endedWith !== undefined) return;
    this.endedWith = error;
    this.transactions.rejectAll(error);
    for (const stream of this.streams.values()) stream.end(error);
    this.streams.clear();
  }

  private teardown(): void {
    clearTimeout(this.graceTimer);
    this.shutdown(new ClientClosedError('the server closed the connection'));
    this.subscription.unsubscribe();
    this.statuses.complete();
    this.transport.off('error', this.onTransportError);
    this.resolveClosed();
  }
}

function callError(procedure: string, answer: Answer): ClientCallError {
  const info = answer.args[0] ?? answer.commandObject ?? null;
  return new ClientCallError(describe(info) ?? `${procedure} failed (the server answered _error)`, info);
}

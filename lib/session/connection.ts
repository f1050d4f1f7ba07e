import { baseName, DEFAULT_NAME_PATTERN, NameRules, nameProblem } from './names';
import type { Duplex } from 'node:stream';
import { Actor, AnyActorRef, createActor } from 'xstate';
import { defer, distinctUntilChanged, from, map, Observable, startWith, Subscription } from 'rxjs';
import { AmfValue } from '../protocol/amf/values';
import { decodeCommand, encodeCommand, Command, ObjectEncoding } from '../protocol/commands';
import { ControlMessage, decodeControl, encodeControl, PeerBandwidthLimit } from '../protocol/control';
import { ProtocolError } from '../protocol/errors';
import { ChunkStreamIds, RtmpMessage } from '../protocol/message';
import { ConnectProperties, NetCommand, parseNetCommand, status } from '../protocol/net-commands';
import { CommandQueue } from '../pipeline/dispatch';
import { receiveMessages } from '../pipeline/inbound';
import { isCommandMessage, isControlMessage, isDataMessage, isMediaMessage } from '../pipeline/kinds';
import { MediaBatch, PacedInput } from '../pipeline/media-tick';
import { MessageWriter } from '../pipeline/writer';
import { CallDispatcher } from './calls';
import { courtesyAnswers, isCourtesyCommand } from './courtesy';
import { decide } from './decide';
import type { CallEvent, CallHandler, ConnectHandler, HandlerRegistry, StreamHandler } from './handlers';
import { connectionMachine, ConnectionStateName } from './machine';
import type { ConnectionStats } from './stats';

export type { ConnectionStats } from './stats';
import { NetStream, WriterOutput } from './net-stream';
import { Logger, SessionOptions } from './options';
import { StreamController } from './streams';
import { Upkeep } from './upkeep';


const CLOSE_GRACE_MS = 2_000;
/** The actor id of every connection actor under the sessions actor (its session id is unique). */
export const CONNECTION_ACTOR_ID = 'connection';

const NO_STREAMS: ReadonlyMap<number, NetStream> = new Map();

/** One command as the command tap sees it. */
export interface CommandTapEntry {
  direction: 'in' | 'out';
  streamId: number;
  name: string;
  transactionId: number;
  args: AmfValue[];
}

/**
 * One client connection: an xstate actor for its control plane, RxJS pipelines for
 * its messages. Applications see it in their handlers and may register handlers of
 * their own on it, which take precedence over the server's.
 */
export class Connection {
  private ownProperties: Map<string, unknown> | undefined;
  readonly actor: Actor<typeof connectionMachine>;
  /**
   * Sees every command in and out (connect, calls, their answers, onStatus); unset, the
   * default, it costs nothing. The web console sets it to keep a connection's history.
   */
  commandTap: ((entry: CommandTapEntry) => void) | undefined = undefined;
  /** Resolves with the reason once the connection has closed and been torn down. */
  readonly closed: Promise<string>;
  connectProperties: ConnectProperties | undefined;

  private readonly writer: MessageWriter;
  // Made on first use: an idle connection calls no procedure and creates no stream.
  private ownDispatcher: CallDispatcher | undefined;
  private ownStreamController: StreamController | undefined;
  private readonly upkeep: Upkeep;
  /** Made when the peer first sends media: in a fan-out a publisher is read once per media tick. */
  private pacedInput: PacedInput | undefined;
  private inbound: Subscription | undefined;
  private commands: CommandQueue<{ streamId: number; command: Command }> | undefined;
  private ownCalls: Map<string, CallHandler> | undefined;
  private ownDefaultCall: CallHandler | undefined;
  private readonly ownStreamHandlers: StreamHandler[] = [];
  private readonly startedAt = Date.now();
  private bytesIn = 0;
  private readsIn = 0;
  private messagesIn = 0;
  private acceptedBy: ConnectHandler | undefined;
  private connectStarted = false;
  private settleConnect!: (accepted: boolean) => void;
  private readonly connectDecision = new Promise<boolean>((resolve) => (this.settleConnect = resolve));
  private resolveClosed!: (reason: string) => void;
  private tornDown = false;
  private readonly ownsSystem: boolean;

  constructor(
    readonly id: string,
    private readonly transport: Duplex,
    readonly remoteAddress: string,
    private readonly registry: HandlerRegistry,
    private readonly options: SessionOptions,
    private readonly logger: Logger,
    /** The server's sessions actor, whose system this connection's actor joins (not with a test clock: delays run on the system's). */
    parent?: AnyActorRef,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.writer = new MessageWriter(transport);
    this.actor = createActor(connectionMachine, {
      input: { id, remoteAddress, timeouts: { handshake: options.handshakeTimeout, connect: options.connectTimeout } },
      // One id for every connection actor: the parent's machine caches its transitions per
      // event type (`xstate.done.actor.<id>`, for ever), so an id per connection grew that
      // cache by ~290 bytes for every connection the server ever had.
      ...(options.clock ? { clock: options.clock } : parent ? { parent, id: CONNECTION_ACTOR_ID } : {}),
    });
    this.ownsSystem = options.clock !== undefined || parent === undefined;
    this.upkeep = new Upkeep(
      {
        sendControl: (control) => this.sendControl(control),
        close: (reason) => this.close(reason),
        setBufferLength: (streamId, ms) => {
          const stream = this.streams.get(streamId);
          if (stream !== undefined) stream.bufferLength = ms;
        },
      },
      options,
    );
  }

  /** Free for the application: per-connection state such as a camera position (made on first use). */
  get properties(): Map<string, unknown> {
    return (this.ownProperties ??= new Map());
  }

  private get dispatcher(): CallDispatcher {
    return (this.ownDispatcher ??= new CallDispatcher({
      connection: this,
      reply: (txn, result, value, description) => this.reply(txn, result, value, description),
      send: (name, txn, args) => this.sendCommand({ name, transactionId: txn, commandObject: null, args }),
      handlerFor: (procedure) => this.ownCalls?.get(procedure) ?? this.registry.callHandlers.get(procedure) ?? this.ownDefaultCall ?? this.registry.defaultCallHandler,
      warn: (message) => this.logger.warn(`${this.label} ${message}`),
    }));
  }

  private get streamController(): StreamController {
    return (this.ownStreamController ??= new StreamController({
      connection: this,
      output: new WriterOutput(this.writer, this),
      handlers: () => [...this.ownStreamHandlers, ...this.registry.streamHandlers],
      reply: (txn, result, value, description) => this.reply(txn, result, value, description),
      activity: (active) => this.actor.send({ type: active ? 'STREAM_ACTIVE' : 'STREAM_INACTIVE' }),
      lifecycle: (created) => this.actor.send({ type: created ? 'STREAM_CREATED' : 'STREAM_DELETED' }),
      maxStreams: this.options.maxStreams,
      maxPublishes: this.options.maxPublishes,
      names: this.nameRules,
      warn: (message) => this.logger.warn(`${this.label} ${message}`),
    }));
  }

  private get nameRules(): NameRules {
    return { pattern: this.options.namePattern ?? DEFAULT_NAME_PATTERN, maxLength: this.options.maxNameLength };
  }

  /** Short form for log lines: id and peer. */
  get label(): string {
    return `conn ${this.id} ${this.remoteAddress}`;
  }

  get app(): string | undefined {
    return this.connectProperties?.app;
  }

  get objectEncoding(): ObjectEncoding {
    return this.connectProperties?.objectEncoding ?? 0;
  }

  get state(): ConnectionStateName {
    return this.actor.getSnapshot().value as ConnectionStateName;
  }

  /** Every state the connection passes through, starting with the current one. */
  get state$(): Observable<ConnectionStateName> {
    return defer(() => from(this.actor).pipe(startWith(this.actor.getSnapshot()))).pipe(
      map((snapshot) => snapshot.value as ConnectionStateName),
      distinctUntilChanged(),
    );
  }

  get streams(): ReadonlyMap<number, NetStream> {
    return this.ownStreamController?.streams ?? NO_STREAMS;
  }

  stats(): ConnectionStats {
    return {
      state: this.state,
      bytesIn: this.bytesIn,
      readsIn: this.readsIn,
      bytesOut: this.writer.bytesSent,
      messagesIn: this.messagesIn,
      messagesOut: this.writer.messagesSent,
      uptime: Date.now() - this.startedAt,
      pendingCalls: this.ownDispatcher?.inFlight ?? 0,
      streams: this.streams.size,
      roundTrip: this.upkeep.roundTrip,
      queuedBytes: this.writer.queuedBytes,
    };
  }

  /** Handles calls of `procedure` on this connection only, before the server's handlers. */
  onCall(procedure: string, handler: CallHandler): this {
    (this.ownCalls ??= new Map()).set(procedure, handler);
    return this;
  }

  onDefaultCall(handler: CallHandler): this {
    this.ownDefaultCall = handler;
    return this;
  }

  onStream(handler: StreamHandler): this {
    this.ownStreamHandlers.push(handler);
    return this;
  }

  /** Calls of `procedure` (`*` for all) as an Observable; a call with no handler waits for a subscriber to `respond`. */
  calls(procedure: string): Observable<CallEvent> {
    return this.dispatcher.calls(procedure);
  }

  /** Calls a procedure on the client; resolves with its `_result`, rejects on `_error`, timeout or disconnect. */
  invoke(procedure: string, ...args: AmfValue[]): Promise<AmfValue> {
    return this.dispatcher.invoke(procedure, args, this.options.invokeTimeout);
  }

  /** Ends the server side of a playing stream (Play.Stop, Stream EOF). */
  stopPlaying(stream: NetStream, description?: string): void {
    this.streamController.stopPlaying(stream, description);
  }

  close(reason = 'closed by the server'): void {
    if (this.tornDown) return;
    this.actor.send({ type: 'CLOSE', reason });
  }

  /** Waits for running call handlers, for a graceful shutdown. */
  whenCallsSettled(): Promise<void> {
    return this.ownDispatcher?.whenIdle() ?? Promise.resolve();
  }

  start(): void {
    this.transport.once('close', () => this.teardown());
    this.actor.on('closeTransport', () => this.endTransport());
    this.actor.start();
    this.commands = new CommandQueue((c) => this.handleCommand(c.streamId, c.command), (error) => this.fail(error));
    // One Observable from bytes to messages and one plain observer: every link of a
    // chain would cost each connection, idle ones included, a subscriber of its own.
    this.inbound = receiveMessages(this.transport, {
      handshake: { send: (bytes) => this.writer.writeRaw(bytes), done: () => this.actor.send({ type: 'HANDSHAKE_DONE' }) },
      limits: { maxMessageSize: this.options.maxMessageSize, maxPendingBytes: this.options.maxPendingBytes, maxChunkStreams: this.options.maxChunkStreams },
      onRead: (bytes) => this.received(bytes),
    }).subscribe({ next: (message) => this.receive(message), error: (error: unknown) => this.fail(error) });
  }

  private received(bytes: number): void {
    this.bytesIn += bytes;
    this.readsIn++;
    this.upkeep.received(bytes);
    this.pacedInput?.read(bytes);
  }

  /** Routes one message; one that cannot be decoded stops the inbound side and closes the connection. */
  private receive(message: RtmpMessage): void {
    try {
      this.route(message);
    } catch (error) {
      // Thrown out of an observer, an error would escape RxJS: it is handled here, and the rest of the read is dropped.
      this.inbound?.unsubscribe();
      this.fail(error);
    }
  }

  /** Control goes to upkeep, commands to the dispatcher, media and data to their stream. */
  private route(message: RtmpMessage): void {
    this.messagesIn++;
    if (isControlMessage(message)) this.upkeep.handle(decodeControl(message.typeId, message.payload));
    else if (isCommandMessage(message)) {
      const command = decodeCommand(message.typeId, message.payload);
      this.commandTap?.({ direction: 'in', streamId: message.streamId, name: command.name, transactionId: command.transactionId, args: command.args });
      this.commands?.push({ streamId: message.streamId, command });
    }
    else if (isMediaMessage(message)) {
      this.pacedInput ??= new PacedInput(this.transport, () => this.readPacing());
      this.streamController.receive(message);
    } else if (isDataMessage(message)) this.streamController.receive(message);
  }

  /** The batch of the stream one of ours publishes into, if that stream batches: reading waits for its tick. */
  private readPacing(): MediaBatch | undefined {
    for (const stream of this.streams.values()) if (stream.readPacing !== undefined) return stream.readPacing;
    return undefined;
  }

  private fail(error: unknown): void {
    const why = error instanceof ProtocolError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
    if (!this.tornDown) this.logger.warn(`${this.label} protocol error, closing: ${why}`);
    this.close(why);
  }

  private async handleCommand(streamId: number, command: Command): Promise<void> {
    let net: NetCommand;
    try {
      net = parseNetCommand(command);
    } catch (error) {
      const description = error instanceof Error ? error.message : String(error);
      if (command.transactionId > 0) this.reply(command.transactionId, 'error', null, description);
      this.logger.warn(`${this.label} bad ${command.name} command: ${description} (${JSON.stringify(command.args)})`);
      return;
    }
    if (net.kind === 'connect') return this.handleConnect(net);
    if (net.kind === 'result' || net.kind === 'error') {
      if (!(this.ownDispatcher?.settle(net.kind, net.transactionId, net.args) ?? false)) this.logger.warn(`${this.label} answer to unknown transaction ${net.transactionId}`);
      return;
    }
    if (!(await this.connectDecision)) return;
    if (isCourtesyCommand(net)) {
      for (const answer of courtesyAnswers(net)) this.sendCommand(answer);
      return;
    }
    switch (net.kind) {
      case 'call':
        if ((this.ownDispatcher?.inFlight ?? 0) >= this.options.maxPendingCalls) {
          return this.reply(net.transactionId, 'error', null, `more than ${this.options.maxPendingCalls} calls in flight`);
        }
        return this.dispatcher.dispatch(net.procedure, net.transactionId, net.commandObject, net.args);
      case 'createStream':
        return this.streamController.create(net.transactionId);
      case 'deleteStream': {
        const byName = [...this.streams.values()].find((s) => net.streamName !== undefined && s.name === net.streamName);
        return this.streamController.delete(net.streamId ?? byName?.id ?? streamId);
      }
      case 'close':
        return this.close('client sent close');
      case 'onStatus':
        return;
      default:
        return this.streamController.handle(streamId, net);
    }
  }

  private async handleConnect(net: Extract<NetCommand, { kind: 'connect' }>): Promise<void> {
    if (this.connectStarted) return this.reply(net.transactionId, 'error', null, 'already connected');
    this.connectStarted = true;
    this.connectProperties = net.properties;
    this.actor.send({ type: 'CONNECT_REQUESTED', app: net.properties.app });
    const badApp = nameProblem('app', net.properties.app, this.nameRules);
    if (badApp) {
      this.logger.warn(`${this.label} connect refused: ${badApp}`);
      this.sendCommand({ name: '_error', transactionId: net.transactionId, commandObject: null, args: [status('NetConnection.Connect.Rejected', `Refused: ${badApp}.`, 'error')] });
      this.settleConnect(false);
      this.actor.send({ type: 'CONNECT_REJECTED', reason: `connect refused: ${badApp}` });
      return;
    }
    const request = { properties: net.properties, args: net.args };
    const verdict = await decide(this.registry.connectHandlers, (h) => h.connect(this, request), {
      accepted: false,
      description: `No application accepts connections to ${baseName(net.properties.app)}.`,
    });
    if (this.tornDown) return;
    if (!verdict.accepted) {
      this.sendCommand({
        name: '_error',
        transactionId: net.transactionId,
        commandObject: null,
        args: [status('NetConnection.Connect.Rejected', verdict.description, 'error')],
      });
      this.logger.info(`${this.label} connect to ${baseName(net.properties.app)} rejected: ${verdict.description}`);
      this.settleConnect(false);
      this.actor.send({ type: 'CONNECT_REJECTED', reason: `connect rejected: ${verdict.description}` });
      return;
    }
    this.acceptedBy = verdict.by;
    this.sendControl({ kind: 'windowAcknowledgementSize', size: this.options.windowAckSize });
    this.sendControl({ kind: 'setPeerBandwidth', size: this.options.peerBandwidth, limit: PeerBandwidthLimit.Dynamic });
    this.writer.setChunkSize(this.options.chunkSize);
    this.sendCommand({
      name: '_result',
      transactionId: net.transactionId,
      // Enhanced RTMP: the session passes media through untouched, so every FourCC the client offers is accepted.
      commandObject: { fmsVer: 'FMS/3,5,7,7009', capabilities: 31, mode: 1, ...(net.properties.fourCcList ? { fourCcList: net.properties.fourCcList } : {}) },
      args: [{ ...status('NetConnection.Connect.Success', 'Connection succeeded.'), objectEncoding: this.objectEncoding }],
    });
    this.actor.send({ type: 'CONNECT_ACCEPTED' });
    this.upkeep.start();
    this.settleConnect(true);
    const client = net.properties.flashVer ? ` (${net.properties.flashVer})` : '';
    this.logger.info(`${this.label} connected to ${baseName(net.properties.app)}${client}`);
  }

  private sendControl(control: ControlMessage): void {
    this.writer.send(encodeControl(control));
  }

  private sendCommand(command: Command, streamId = 0): void {
    this.commandTap?.({ direction: 'out', streamId, name: command.name, transactionId: command.transactionId, args: command.args });
    const { typeId, payload } = encodeCommand(command, this.objectEncoding);
    this.writer.send({ chunkStreamId: ChunkStreamIds.command, timestamp: 0, typeId, streamId, payload });
  }

  private reply(transactionId: number, result: 'ok' | 'error', value: AmfValue, description?: string): void {
    if (result === 'ok') {
      this.sendCommand({ name: '_result', transactionId, commandObject: null, args: [value] });
    } else {
      this.sendCommand({
        name: '_error',
        transactionId,
        commandObject: null,
        args: [status('NetConnection.Call.Failed', description ?? 'Call failed.', 'error')],
      });
    }
  }

  private endTransport(): void {
    this.writer.end();
    // A peer that never closes its side must not hold the connection open.
    setTimeout(() => this.transport.destroy(), CLOSE_GRACE_MS).unref();
  }

  private teardown(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    this.actor.send({ type: 'TRANSPORT_CLOSED' });
    const reason = this.actor.getSnapshot().context.closeReason ?? 'peer closed the connection';
    this.settleConnect(false);
    this.upkeep.stop();
    this.inbound?.unsubscribe();
    this.commands?.close();
    this.ownStreamController?.deleteAll();
    this.ownDispatcher?.close(reason);
    // TRANSPORT_CLOSED ends the machine in its final state, which stops a child actor; only a root may be stopped by hand.
    if (this.actor.getSnapshot().status === 'active' && this.ownsSystem) this.actor.stop();
    try {
      this.acceptedBy?.disconnect?.(this, reason);
    } catch (error) {
      this.logger.error(`${this.label} disconnect handler threw: ${String(error)}`);
    }
    const { bytesIn, bytesOut } = this.stats();
    this.logger.info(`${this.label} closed: ${reason} (in ${bytesIn} B, out ${bytesOut} B, ${Math.round((Date.now() - this.startedAt) / 1000)} s)`);
    this.resolveClosed(reason);
  }
}

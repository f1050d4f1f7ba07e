import { createServer as createTcpServer, AddressInfo, Server as TcpServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Observable, Subject } from 'rxjs';
import { Actor, createActor } from 'xstate';
import { Connection } from '../session/connection';
import { sessionsMachine } from '../session/sessions';
import type { CallHandler, ConnectHandler, HandlerRegistry, StreamHandler } from '../session/handlers';
import { consoleLogger, defaultSessionOptions, Logger, SessionOptions } from '../session/options';
import { RtmpsListener, RtmpsOptions } from './rtmps';

/** Readable and writable high-water mark of accepted sockets (bytes); the writer keeps its own. */
const SOCKET_HIGH_WATER = 1024;

export interface ServerOptions extends Partial<SessionOptions> {
  /** Connections open at once; more are refused at accept. */
  maxConnections?: number;
  /** How long `close()` waits for running call handlers before closing connections (ms). */
  closeTimeout?: number;
  logger?: Logger;
}

export interface ListenOptions {
  host?: string;
  port?: number;
  /** Under node:cluster, a listener of this worker's own instead of the port the workers share. */
  exclusive?: boolean;
}

/**
 * An RTMP server: accepts transports, runs a Connection on each, and holds the
 * handlers applications register. Handlers registered here apply to every
 * connection; a connection's own handlers come first.
 */
export class RtmpServer {
  readonly options: SessionOptions;
  /**
   * The parent of every connection actor: `server.sessions.system.inspect(observer)`
   * sees every connection's state chart at once.
   */
  readonly sessions: Actor<typeof sessionsMachine>;
  private readonly registry: {
    connectHandlers: ConnectHandler[];
    callHandlers: Map<string, CallHandler>;
    defaultCallHandler: CallHandler | undefined;
    streamHandlers: StreamHandler[];
  } = { connectHandlers: [], callHandlers: new Map(), defaultCallHandler: undefined, streamHandlers: [] };
  private readonly live = new Set<Connection>();
  private readonly connectionSubject = new Subject<Connection>();
  private readonly logger: Logger;
  private readonly maxConnections: number;
  private readonly closeTimeout: number;
  private tcp: TcpServer | undefined;
  private rtmps: RtmpsListener | undefined;
  private nextId = 1;
  private closing = false;

  constructor(options: ServerOptions = {}) {
    const { maxConnections, closeTimeout, logger, ...session } = options;
    this.options = { ...defaultSessionOptions, ...session };
    this.logger = logger ?? consoleLogger;
    this.maxConnections = maxConnections ?? 10_000;
    this.closeTimeout = closeTimeout ?? 5_000;
    this.sessions = createActor(sessionsMachine, { input: { logger: this.logger } }).start();
  }

  /** Adds a connect handler to the chain; the first to accept a connection wins. */
  onConnect(handler: ConnectHandler): this {
    this.registry.connectHandlers.push(handler);
    return this;
  }

  onCall(procedure: string, handler: CallHandler): this {
    this.registry.callHandlers.set(procedure, handler);
    return this;
  }

  /** Answers calls of procedures that have no handler of their own. */
  onDefaultCall(handler: CallHandler): this {
    this.registry.defaultCallHandler = handler;
    return this;
  }

  onStream(handler: StreamHandler): this {
    this.registry.streamHandlers.push(handler);
    return this;
  }

  /** Each new connection, as it is accepted. */
  get connections$(): Observable<Connection> {
    return this.connectionSubject.asObservable();
  }

  get connections(): ReadonlySet<Connection> {
    return this.live;
  }

  get handlers(): HandlerRegistry {
    return this.registry;
  }

  /** Runs a connection over any duplex byte stream (TCP, TLS, a WebSocket stream). */
  handle(transport: Duplex, remoteAddress: string): Connection | undefined {
    if (this.closing || this.live.size >= this.maxConnections) {
      this.logger.warn(`refused ${remoteAddress}: ${this.closing ? 'server closing' : `${this.maxConnections} connections open`}`);
      transport.destroy();
      return undefined;
    }
    const connection = new Connection(String(this.nextId++), transport, remoteAddress, this.registry, this.options, this.logger, this.sessions);
    this.live.add(connection);
    void connection.closed.then(() => this.live.delete(connection));
    transport.on('error', (error) => this.logger.warn(`${connection.label} transport error: ${error.message}`));
    this.logger.info(`${connection.label} accepted`);
    try {
      connection.start();
      this.connectionSubject.next(connection);
    } catch (error) {
      // One broken connection (or a throwing subscriber) must not take the server down.
      this.logger.error(`${connection.label} failed to start: ${error instanceof Error ? error.stack : String(error)}`);
      transport.destroy();
    }
    return connection;
  }

  listen(options: ListenOptions = {}): Promise<AddressInfo> {
    // A small high-water mark makes a paused socket stop reading at once: a publisher held
    // until the media tick then leaves its bytes in the kernel instead of being read, a
    // few kilobytes at a time, into a buffer. Flowing sockets pass every read on as it comes.
    const tcp = createTcpServer({ highWaterMark: SOCKET_HIGH_WATER }, (socket: Socket) => {
      socket.setNoDelay(true);
      this.handle(socket, `${socket.remoteAddress}:${socket.remotePort}`);
    });
    this.tcp = tcp;
    return new Promise((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ port: options.port ?? 1935, host: options.host ?? '0.0.0.0', exclusive: options.exclusive ?? false }, () => {
        tcp.off('error', reject);
        const address = tcp.address() as AddressInfo;
        this.logger.info(`rtmp listening on ${address.address}:${address.port}`);
        resolve(address);
      });
    });
  }

  /**
   * RTMPS: RTMP over TLS, on its own port, the same sessions behind it. The certificate
   * and key files are watched; a renewed pair applies to new connections without a restart.
   */
  async listenTls(options: RtmpsOptions): Promise<AddressInfo> {
    const listener = new RtmpsListener(
      { handshakeTimeout: this.options.handshakeTimeout, ...options },
      (socket) => {
        socket.setNoDelay(true);
        this.handle(socket, `tls:${socket.remoteAddress}:${socket.remotePort}`);
      },
      this.logger,
    );
    const address = await listener.listen();
    this.rtmps = listener;
    return address;
  }

  /** The RTMPS listener, once `listenTls` has started it. */
  get tlsListener(): RtmpsListener | undefined {
    return this.rtmps;
  }

  address(): AddressInfo | undefined {
    return (this.tcp?.address() as AddressInfo | null) ?? undefined;
  }

  /**
   * Stops accepting, lets calls in flight finish (up to `closeTimeout`), then closes
   * every connection and waits for them to go.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const stopped = Promise.all([new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())), this.rtmps?.close()]);
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, this.closeTimeout).unref());
    await Promise.race([Promise.all([...this.live].map((c) => c.whenCallsSettled())), timeout]);
    const connections = [...this.live];
    for (const connection of connections) connection.close('server shutting down');
    await Promise.all(connections.map((c) => c.closed));
    await stopped;
    this.connectionSubject.complete();
    this.sessions.stop();
    this.logger.info('rtmp server closed');
  }
}

export function createServer(options?: ServerOptions): RtmpServer {
  return new RtmpServer(options);
}

import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { WebSocketDuplex, WebSocketLike } from '../pipeline/websocket-duplex';
import type { Logger } from '../session/options';
import type { RtmpServer } from './server';

export interface RtmpWebSocketOptions {
  /** The path RTMP is accepted on, and below it (`/rtmp/APP/...`); default `/rtmp`. */
  path?: string;
  /** A larger frame closes the connection (1009); default 1 MiB. */
  maxFrameBytes?: number;
  logger?: Logger;
}

/**
 * RTMP over WebSocket: the RTMP byte stream in binary frames, on an HTTP (or HTTPS, for
 * `wss`) server's upgrade. Each accepted socket runs the server's own session actor and
 * pipelines through `server.handle`, as a TCP connection does.
 */
export class RtmpWebSocketAcceptor {
  readonly path: string;
  private readonly sockets: WebSocketServer;

  constructor(
    private readonly rtmp: RtmpServer,
    private readonly options: RtmpWebSocketOptions = {},
  ) {
    this.path = options.path ?? '/rtmp';
    // No per-message deflate: media does not compress, and inflating is a way to make a server work.
    this.sockets = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes ?? 1024 * 1024, perMessageDeflate: false });
  }

  /** Whether an upgrade to `pathname` is ours. */
  matches(pathname: string): boolean {
    return pathname === this.path || pathname.startsWith(`${this.path}/`);
  }

  upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void {
    this.sockets.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      const address = `ws:${request.socket.remoteAddress}:${request.socket.remotePort}`;
      const duplex = new WebSocketDuplex(ws as unknown as WebSocketLike);
      // `ws` reports an oversized frame or a protocol violation as an error, then closes: logged here.
      ws.on('error', (error) => this.options.logger?.warn(`${address} WebSocket refused: ${error.message}`));
      socket.setNoDelay(true);
      this.rtmp.handle(duplex, address);
    });
  }

  close(): void {
    for (const client of this.sockets.clients) client.terminate();
    this.sockets.close();
  }
}

/** Accepts RTMP over WebSocket on `http`'s upgrades to the path; other upgrades are refused with 404. */
export function acceptRtmpOverWebSocket(rtmp: RtmpServer, http: HttpServer, options: RtmpWebSocketOptions = {}): RtmpWebSocketAcceptor {
  const acceptor = new RtmpWebSocketAcceptor(rtmp, options);
  http.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    let pathname: string;
    try {
      pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    } catch {
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      return;
    }
    if (!acceptor.matches(pathname)) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      return;
    }
    try {
      acceptor.upgrade(request, socket, head);
    } catch (error) {
      // A malformed upgrade is that one socket's problem: refused and logged, the server goes on.
      options.logger?.warn(`rtmp WebSocket upgrade ${JSON.stringify(request.url)} refused: ${error instanceof Error ? error.message : String(error)}`);
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    }
  });
  return acceptor;
}

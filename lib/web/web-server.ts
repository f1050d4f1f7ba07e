import { existsSync, readFileSync } from 'node:fs';
import { createServer, IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { filter, firstValueFrom, map, timeout } from 'rxjs';
import { WebSocket, WebSocketServer } from 'ws';
import type { RtmpServer } from '../app/server';
import { RtmpWebSocketAcceptor, RtmpWebSocketOptions } from '../app/websocket';
import type { LiveRegistry } from '../media/registry';
import type { LiveStream } from '../media/live-stream';
import { connectionMachine } from '../session/machine';
import { sessionsMachine } from '../session/sessions';
import type { Logger } from '../session/options';
import { buildBrowserBundle } from '../browser/build';
import { encodeRecording } from './flight-recorder';
import { FlvSink, FlvViewer } from './flv-viewer';
import { Inspector } from './inspector';
import { describeMachine, MachineDescription, toMermaid } from './machine-graph';
import { machineSvg } from './machine-svg';
import { createMetrics } from './metrics';
import { Observatory, ObservatoryOptions } from './observatory';
import type { ClusterMember } from '../cluster/cluster';

export interface WebOptions extends ObservatoryOptions {
  /** The live streams, for the streams table, HTTP-FLV and WebSocket-FLV. */
  live?: LiveRegistry;
  logger?: Logger;
  /** Inspector frames at most this often (ms). */
  inspectIntervalMs?: number;
  /** An inspector viewer with more than this unsent is skipped until it drains (bytes). */
  inspectMaxBuffered?: number;
  /** RTMP over WebSocket (path `/rtmp` by default); `false` turns it off. */
  rtmpOverWebSocket?: RtmpWebSocketOptions | false;
  /** Serve HTTPS (and `wss`) with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** This process as a cluster node: `/api/cluster` shows its node, its claims and its pulls. */
  cluster?: Pick<ClusterMember, 'status'>;
}

export interface WebServer {
  readonly http: Server;
  readonly observatory: Observatory;
  readonly inspector: Inspector;
  listen(port: number, host?: string): Promise<AddressInfo>;
  close(): Promise<void>;
}

const PAGE_DIR = join(__dirname, 'page');
/** How long an HTTP-FLV viewer on a cluster node waits for a pull of a stream published elsewhere to start. */
const PULL_WAIT_MS = 3_000;

/** A file of an installed package, found from its entry point: the browser builds are not in the packages' export maps. */
function packageFile(name: string, file: string): string {
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, file);
}
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: join(PAGE_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/assets/console.js': { file: join(PAGE_DIR, 'console.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/console.css': { file: join(PAGE_DIR, 'console.css'), type: 'text/css; charset=utf-8' },
  '/demo': { file: join(PAGE_DIR, 'demo.html'), type: 'text/html; charset=utf-8' },
  '/assets/demo.js': { file: join(PAGE_DIR, 'demo.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/msgpackr.js': { file: packageFile('msgpackr', 'dist/index-no-eval.min.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/mpegts.js': { file: packageFile('mpegts.js', 'dist/mpegts.js'), type: 'text/javascript; charset=utf-8' },
};

/** `/live/cam.flv` → app `live`, name `cam`. */
const FLV_PATH = /^\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)\.flv$/;

/** The connection machine's states, in definition order: the only label values /metrics uses. */
export const CONNECTION_MACHINE: MachineDescription = describeMachine(connectionMachine);
/** Every machine the server runs: the connection actors and the sessions actor that parents them. */
export const SERVER_MACHINES: readonly MachineDescription[] = [CONNECTION_MACHINE, describeMachine(sessionsMachine)];

/**
 * The HTTP port: the console page, its JSON API and inspector feed, Prometheus metrics,
 * and live streams as HTTP-FLV and WebSocket-FLV.
 */
export function createWebServer(rtmp: RtmpServer, options: WebOptions = {}): WebServer {
  const machine = CONNECTION_MACHINE;
  const observatory = new Observatory(rtmp, options.live, machine.states.map((s) => s.id), options);
  const metrics = createMetrics(observatory);
  const inspector = new Inspector(observatory, machine, { intervalMs: options.inspectIntervalMs, maxBuffered: options.inspectMaxBuffered });
  const logger = options.logger;
  let browserBundle: Promise<string> | undefined;
  const svgs = new Map<string, Promise<string>>();
  const svgOf = (description: MachineDescription): Promise<string> => {
    let svg = svgs.get(description.id);
    if (!svg) svgs.set(description.id, (svg = machineSvg(description)));
    return svg;
  };
  const viewers = new Set<FlvViewer>();
  const liveEvents = options.live?.events$.subscribe((event) => {
    if (event.type === 'ended') for (const viewer of viewers) if (viewer.stream === event.stream) viewer.close('stream ended');
  });

  /**
   * The live stream for an HTTP-/WebSocket-FLV viewer: here, or, on a cluster node, pulled
   * from the node that has it (the viewer waits for the pull's first packets, briefly).
   */
  async function liveHereOrPulled(app: string, name: string): Promise<LiveStream | undefined> {
    const registry = options.live;
    const here = registry?.get(app, name);
    if (here && here.state !== 'idle') return here;
    if (!registry?.federation) return undefined;
    const key = `${app}/${name}`;
    const published = firstValueFrom(
      registry.events$.pipe(
        filter((event) => event.type === 'published' && event.stream.key === key),
        map((event) => event.stream),
        timeout({ first: PULL_WAIT_MS }),
      ),
    ).catch(() => undefined);
    const refusal = await registry.federation.admitPlay(app, name);
    if (refusal) return undefined;
    const now = registry.get(app, name);
    return now && now.state !== 'idle' ? now : published;
  }

  const startViewer = (live: LiveStream, sink: FlvSink): FlvViewer => {
    const viewer = new FlvViewer(live, sink);
    viewers.add(viewer);
    viewer.start();
    return viewer;
  };

  const listener: RequestListener = (request: IncomingMessage, response: ServerResponse) => {
    void route(request, response).catch((error: unknown) => {
      const bad = error instanceof URIError || error instanceof TypeError;
      logger?.warn(`http ${request.method} ${JSON.stringify(request.url)} ${bad ? 'refused' : 'failed'}: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) send(response, bad ? 400 : 500, { error: bad ? 'malformed request' : 'internal error' });
      else response.destroy();
    });
  };
  const http: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createServer(listener);
  const rtmpSockets = options.rtmpOverWebSocket === false ? undefined : new RtmpWebSocketAcceptor(rtmp, { logger, ...options.rtmpOverWebSocket });

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const method = request.method ?? 'GET';
    const kick = /^\/api\/connections\/([^/]+)$/.exec(path);
    if (kick && method === 'DELETE') {
      const connection = observatory.connection(decodeURIComponent(kick[1]!));
      if (!connection) return send(response, 404, { error: `no connection ${kick[1]}` });
      connection.close('kicked from the web console');
      return send(response, 202, { id: connection.id, state: connection.state });
    }
    const recordConnection = /^\/api\/connections\/([^/]+)\/record$/.exec(path);
    if (recordConnection && method === 'POST') {
      const connection = observatory.connection(decodeURIComponent(recordConnection[1]!));
      if (!connection) return send(response, 404, { error: `no connection ${recordConnection[1]}` });
      return send(response, 201, { recording: observatory.recorder.begin(connection) });
    }
    const recordApp = /^\/api\/recorder\/apps\/([^/]+)$/.exec(path);
    if (recordApp && (method === 'PUT' || method === 'DELETE')) {
      observatory.recorder.recordApp(decodeURIComponent(recordApp[1]!), method === 'PUT');
      return send(response, 200, { apps: observatory.recorder.recordedApps });
    }
    if (method !== 'GET' && method !== 'HEAD') return send(response, 405, { error: `${method} is not served at ${path}` });
    const asset = ASSETS[path];
    if (asset) {
      const body = readFileSync(asset.file);
      response.writeHead(200, { 'content-type': asset.type, 'content-length': body.length, 'cache-control': 'no-cache' });
      return void response.end(body);
    }
    if (path === '/assets/rxrtmp.js') {
      // The compiled package carries it prebuilt; from source it is built once, on first request.
      const prebuilt = join(PAGE_DIR, 'rxrtmp.js');
      browserBundle ??= existsSync(prebuilt) ? Promise.resolve(readFileSync(prebuilt, 'utf8')) : buildBrowserBundle();
      browserBundle.catch(() => (browserBundle = undefined));
      return sendText(response, 'text/javascript; charset=utf-8', await browserBundle);
    }
    if (path === '/healthz') return send(response, 200, { ok: true, connections: rtmp.connections.size });
    if (path === '/api/connections') return send(response, 200, { connections: observatory.rows(), counts: observatory.counts() });
    const history = /^\/api\/connections\/([^/]+)\/history$/.exec(path);
    if (history) {
      const entries = observatory.history(decodeURIComponent(history[1]!));
      return entries ? send(response, 200, { id: history[1], history: entries }) : send(response, 404, { error: `no connection ${history[1]}` });
    }
    if (path === '/api/recordings') return send(response, 200, { apps: observatory.recorder.recordedApps, recordings: observatory.recorder.list() });
    const recording = /^\/api\/recordings\/([^/]+?)(\.json)?$/.exec(path);
    if (recording) {
      const found = observatory.recorder.get(decodeURIComponent(recording[1]!));
      if (!found) return send(response, 404, { error: `no recording ${recording[1]}` });
      if (recording[2]) return send(response, 200, found);
      const body = encodeRecording(found);
      response.writeHead(200, { 'content-type': 'application/x-msgpack', 'content-length': body.length, 'content-disposition': `attachment; filename="rxrtmp-flight-${found.id}.msgpack"` });
      return void response.end(body);
    }
    if (path === '/api/streams') return send(response, 200, { streams: observatory.streams() });
    if (path === '/api/cluster') return options.cluster ? send(response, 200, options.cluster.status) : send(response, 404, { error: 'this server is not a cluster node (start it with --redis)' });
    const one = /^\/api\/streams\/([^/]+)\/([^/]+)$/.exec(path);
    if (one) {
      const stream = observatory.stream(decodeURIComponent(one[1]!), decodeURIComponent(one[2]!));
      return stream ? send(response, 200, stream) : send(response, 404, { error: `no stream ${one[1]}/${one[2]}` });
    }
    if (path === '/api/machines') return send(response, 200, { machines: SERVER_MACHINES });
    // `/api/machine` is the connection machine, the one the console's main chart shows.
    const drawn = /^\/api\/(?:machine|machines\/([A-Za-z0-9_-]+))(\.mmd|\.svg)?$/.exec(path);
    if (drawn) {
      const description = drawn[1] === undefined ? machine : SERVER_MACHINES.find((m) => m.id === drawn[1]);
      if (!description) return send(response, 404, { error: `no machine ${drawn[1]}` });
      if (drawn[2] === '.mmd') return sendText(response, 'text/plain; charset=utf-8', toMermaid(description));
      if (drawn[2] === '.svg') return sendText(response, 'image/svg+xml', await svgOf(description));
      return send(response, 200, description);
    }
    if (path === '/metrics') return sendText(response, metrics.contentType, await metrics.metrics());
    const flv = FLV_PATH.exec(path);
    if (flv) {
      const live = await liveHereOrPulled(flv[1]!, flv[2]!);
      if (!live) return send(response, 404, { error: `${flv[1]}/${flv[2]} is not live` });
      response.writeHead(200, { 'content-type': 'video/x-flv', 'cache-control': 'no-cache', 'access-control-allow-origin': '*' });
      const viewer = startViewer(live, {
        write: (chunks) => {
          for (const chunk of chunks) response.write(chunk);
        },
        backlog: () => response.writableLength,
        close: () => response.end(),
      });
      response.on('close', () => {
        viewers.delete(viewer);
        viewer.close('viewer left');
      });
      return;
    }
    return send(response, 404, { error: `nothing at ${path}` });
  }

  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  http.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      upgrade(request, socket, head);
    } catch (error) {
      // A malformed upgrade is that one socket's problem: refused and logged, the server goes on.
      logger?.warn(`http upgrade ${JSON.stringify(request.url)} refused: ${error instanceof Error ? error.message : String(error)}`);
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    }
  });

  function upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (rtmpSockets?.matches(path)) return rtmpSockets.upgrade(request, socket, head);
    const flv = FLV_PATH.exec(path);
    if (flv) {
      void liveHereOrPulled(flv[1]!, flv[2]!).then(
        (live) => (live ? upgradeTo(request, socket, head, path, live) : socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n')),
        () => socket.destroy(),
      );
      return;
    }
    if (path !== '/api/inspect') {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      return;
    }
    upgradeTo(request, socket, head, path, undefined);
  }

  function upgradeTo(request: IncomingMessage, socket: Socket, head: Buffer, path: string, live: LiveStream | undefined): void {
    if (socket.destroyed) return;
    sockets.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      if (path === '/api/inspect') return inspector.accept(ws);
      ws.on('error', () => ws.terminate());
      const viewer = startViewer(live!, {
        write: (chunks) => ws.send(Buffer.concat(chunks), { binary: true }),
        backlog: () => ws.bufferedAmount,
        close: () => ws.close(1000),
      });
      ws.on('close', () => {
        viewers.delete(viewer);
        viewer.close('viewer left');
      });
    });
  }

  return {
    http,
    observatory,
    inspector,
    listen: (port, host = '0.0.0.0') =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          resolve(http.address() as AddressInfo);
        });
      }),
    close: async () => {
      liveEvents?.unsubscribe();
      for (const viewer of viewers) viewer.close('server closing');
      inspector.close();
      rtmpSockets?.close();
      observatory.stop();
      sockets.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  response.end(json);
}

function sendText(response: ServerResponse, type: string, text: string): void {
  response.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

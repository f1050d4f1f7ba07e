import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RtmpServer } from '../app/server';

/**
 * A small HTTP side door: `/healthz` and `/api/connections` (every connection's
 * app, state and statistics as JSON). Later parts add HTTP-FLV and pages here.
 */
export function createStatusServer(rtmp: RtmpServer): Server {
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method !== 'GET') return send(response, 405, { error: 'only GET is served' });
    if (path === '/healthz') return send(response, 200, { ok: true, connections: rtmp.connections.size });
    if (path === '/api/connections') {
      const connections = [...rtmp.connections].map((c) => ({
        id: c.id,
        remoteAddress: c.remoteAddress,
        app: c.app ?? null,
        ...c.stats(),
        roundTrip: c.stats().roundTrip ?? null,
        streams: [...c.streams.values()].map((s) => ({ id: s.id, name: s.name ?? null, state: s.state })),
      }));
      return send(response, 200, { connections });
    }
    return send(response, 404, { error: `nothing at ${path}` });
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  response.end(json);
}

export function listenHttp(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

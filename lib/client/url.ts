/**
 * Where a client connects, taken apart: `rtmp://host[:port]/app[/instance]`, or RTMP over
 * WebSocket, `ws[s]://host[:port]/rtmp/app[/instance]` (the first path segment is the
 * server's WebSocket endpoint, the rest is as in `rtmp://`).
 */
export interface RtmpTarget {
  /** For RTMP over WebSocket: the URL the WebSocket opens. */
  websocket?: string;
  /** Host name or address as `net.connect` wants it (IPv6 without brackets). */
  host: string;
  port: number;
  /** The connect command's `app`: the path after the host, query string included, without the slashes at either end. */
  app: string;
  /** The connect command's `tcUrl`: scheme, host, port as given, and app. */
  tcUrl: string;
}

export const DEFAULT_RTMP_PORT = 1935;

/** Parses an `rtmp://` URL; throws a TypeError that names the URL when it is not one. */
export function parseRtmpUrl(url: string): RtmpTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`${url} is not a URL (expected rtmp://host[:port]/app[/instance])`);
  }
  const websocket = parsed.protocol === 'ws:' || parsed.protocol === 'wss:';
  if (parsed.protocol !== 'rtmp:' && !websocket) {
    throw new TypeError(`${url}: only rtmp://, ws:// and wss:// URLs are supported, not ${parsed.protocol}//`);
  }
  if (parsed.hostname === '') throw new TypeError(`${url} has no host`);
  let path = decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, '');
  if (websocket) {
    const slash = path.indexOf('/');
    if (slash < 0) throw new TypeError(`${url} names no application after the WebSocket endpoint (expected ${parsed.protocol}//host[:port]/rtmp/app)`);
    path = path.slice(slash + 1);
  }
  if (path === '') throw new TypeError(`${url} names no application (expected rtmp://host[:port]/app)`);
  const app = `${path}${parsed.search}`;
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  if (websocket) {
    const tcUrl = url.replace(/[?#].*$/, '').replace(/\/+$/, '');
    return { websocket: url, host, port: parsed.port === '' ? (parsed.protocol === 'wss:' ? 443 : 80) : Number(parsed.port), app, tcUrl: `${tcUrl}${parsed.search}` };
  }
  return {
    host,
    port: parsed.port === '' ? DEFAULT_RTMP_PORT : Number(parsed.port),
    app,
    tcUrl: `rtmp://${parsed.host}/${app}`,
  };
}

/** Where a client connects: `rtmp://host[:port]/app[/instance]`, taken apart. */
export interface RtmpTarget {
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
  if (parsed.protocol !== 'rtmp:') {
    throw new TypeError(`${url}: only rtmp:// URLs are supported, not ${parsed.protocol}//`);
  }
  if (parsed.hostname === '') throw new TypeError(`${url} has no host`);
  const path = decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, '');
  if (path === '') throw new TypeError(`${url} names no application (expected rtmp://host[:port]/app)`);
  const app = `${path}${parsed.search}`;
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  return {
    host,
    port: parsed.port === '' ? DEFAULT_RTMP_PORT : Number(parsed.port),
    app,
    tcUrl: `rtmp://${parsed.host}/${app}`,
  };
}

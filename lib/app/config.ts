import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultSessionOptions } from '../session/options';
import type { ServerOptions } from './server';

/** A configuration mistake: one line that names the key and what it takes. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type LogFormat = 'pretty' | 'json';

/** What `rxrtmp` (`npm start`) runs with, once flags, the config file and defaults are merged. */
export interface CliConfig {
  host: string;
  rtmpPort: number;
  httpPort: number;
  /** RTMP over TLS (needs tlsCert and tlsKey); off when undefined. */
  rtmpsPort?: number;
  pluginDir: string;
  /** Whether the plugin directory was asked for (then it must exist) or is the bundled default. */
  pluginDirGiven: boolean;
  recordDir: string;
  tlsCert?: string;
  tlsKey?: string;
  logFormat: LogFormat;
  /** Worker processes sharing the ports (node:cluster); 1 runs the server in this process. */
  workers: number;
  /** The cluster's stream directory; this process (each worker) is a cluster node when set. */
  redis?: string;
  /** Signs edge pulls between nodes; with workers and none given, the primary makes one for them. */
  clusterSecret?: string;
  /** Where the internal listener (other nodes pull from it) binds, and the host they reach it at. */
  internalHost: string;
  advertiseHost?: string;
  server: ServerOptions;
}

type Kind = 'string' | 'port' | 'format' | 'directory' | 'count';

interface Setting {
  flag: string;
  /** The config file's key for it, where the file may set it. */
  key?: keyof CliConfig;
  kind: Kind;
  fallback: (root: string) => string | number | undefined;
  help: string;
}

/** Every flag, with its config file key and default: `--help` prints this table. */
const SETTINGS: Setting[] = [
  { flag: 'host', key: 'host', kind: 'string', fallback: () => '0.0.0.0', help: 'address to listen on (RTMP and HTTP)' },
  { flag: 'rtmp-port', key: 'rtmpPort', kind: 'port', fallback: () => 1935, help: 'RTMP port (TCP)' },
  { flag: 'http-port', key: 'httpPort', kind: 'port', fallback: () => 8080, help: 'HTTP port: console, demo, API, /metrics, HTTP-FLV, RTMP over WebSocket at /rtmp' },
  { flag: 'rtmps-port', key: 'rtmpsPort', kind: 'port', fallback: () => undefined, help: 'RTMPS port (RTMP over TLS, with --tls-cert and --tls-key; the files are watched and reloaded)' },
  { flag: 'plugins', key: 'pluginDir', kind: 'directory', fallback: (root) => join(root, 'plugins'), help: 'directory of video encoder plugins' },
  { flag: 'record-dir', key: 'recordDir', kind: 'string', fallback: () => 'recordings', help: 'where publish type "record" writes FLV files' },
  { flag: 'tls-cert', key: 'tlsCert', kind: 'string', fallback: () => undefined, help: 'PEM certificate (with --tls-key): the HTTP port serves HTTPS and wss://, and --rtmps-port uses it' },
  { flag: 'tls-key', key: 'tlsKey', kind: 'string', fallback: () => undefined, help: 'PEM private key for --tls-cert' },
  { flag: 'log-format', key: 'logFormat', kind: 'format', fallback: () => 'pretty', help: 'pretty (a line per event) or json (one JSON object per line)' },
  { flag: 'workers', key: 'workers', kind: 'count', fallback: () => 1, help: 'worker processes sharing the RTMP and HTTP ports (node:cluster); a stream published on one plays on all (their directory is kept by the primary, or in --redis)' },
  { flag: 'redis', key: 'redis', kind: 'string', fallback: () => undefined, help: 'redis://host:port of the cluster\'s stream directory: streams published on one process play on every other' },
  { flag: 'cluster-secret', key: 'clusterSecret', kind: 'string', fallback: () => undefined, help: 'secret (32+ bytes) every node shares to sign edge pulls; also $RXRTMP_CLUSTER_SECRET; --workers alone makes one' },
  { flag: 'internal-host', key: 'internalHost', kind: 'string', fallback: () => '127.0.0.1', help: 'address of the internal listener other nodes pull streams from (its port is chosen per process)' },
  { flag: 'advertise-host', key: 'advertiseHost', kind: 'string', fallback: () => undefined, help: 'host other nodes reach the internal listener at (default: --internal-host)' },
  { flag: 'config', kind: 'string', fallback: () => undefined, help: 'JSON file with any of the keys above (camelCase) and "server": { ServerOptions }' },
];

/** ServerOptions a config file may set, each a non-negative number. */
const SERVER_NUMBERS = [...Object.keys(defaultSessionOptions), 'maxConnections', 'closeTimeout'];

export function helpText(root: string): string {
  const lines = ['Usage: rxrtmp [flags]   (npm start -- [flags])', '', 'Flags (config file key, default):'];
  for (const s of SETTINGS) {
    const fallback = s.fallback(root);
    const name = `--${s.flag}${s.kind === 'port' ? ' N' : ' VALUE'}`;
    lines.push(`  ${name.padEnd(22)} ${s.help}`);
    lines.push(`  ${''.padEnd(22)} ${s.key ? `key "${s.key}", ` : ''}default: ${fallback === undefined ? 'none' : String(fallback)}`);
  }
  lines.push(`  ${'--help'.padEnd(22)} this text`, `  ${'--version'.padEnd(22)} the version`);
  lines.push('', `"server" keys (numbers): ${SERVER_NUMBERS.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function checkValue(setting: Setting, value: unknown, where: string): string | number {
  const name = where === 'flag' ? `--${setting.flag}` : `"${setting.key}" in the config file`;
  if (setting.kind === 'count') {
    const number = where === 'flag' && typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 256) throw new ConfigError(`${name} must be a whole number from 1 to 256, not ${JSON.stringify(value)}`);
    return number;
  }
  if (setting.kind === 'port') {
    // A flag is text; a JSON file says a number as a number.
    const number = where === 'flag' && typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < 0 || number > 65535) {
      throw new ConfigError(`${name} must be a port number from 0 to 65535, not ${JSON.stringify(value)}`);
    }
    return number;
  }
  if (typeof value !== 'string' || value === '') throw new ConfigError(`${name} must be a non-empty string, not ${JSON.stringify(value)}`);
  if (setting.kind === 'format' && value !== 'pretty' && value !== 'json') throw new ConfigError(`${name} must be "pretty" or "json", not ${JSON.stringify(value)}`);
  return value;
}

function checkServer(value: unknown): ServerOptions {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`"server" in the config file must be an object of ServerOptions, not ${JSON.stringify(value)}`);
  for (const [key, option] of Object.entries(value)) {
    if (!SERVER_NUMBERS.includes(key)) throw new ConfigError(`"server.${key}" in the config file is not a server option (known: ${SERVER_NUMBERS.join(', ')})`);
    if (typeof option !== 'number' || !Number.isFinite(option) || option < 0) throw new ConfigError(`"server.${key}" in the config file must be a non-negative number, not ${JSON.stringify(option)}`);
  }
  return value as ServerOptions;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`--config ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`--config ${path}: not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`--config ${path}: must hold a JSON object`);
  const known = new Set<string>([...SETTINGS.flatMap((s) => (s.key ? [s.key] : [])), 'server']);
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new ConfigError(`--config ${path}: unknown key "${key}" (known: ${[...known].join(', ')})`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Flags over the config file over the defaults. `root` is where the bundled plugins are.
 * Returns 'help' or 'version' when asked for; throws a ConfigError on any mistake.
 */
export function readCliConfig(argv: string[], root: string): CliConfig | 'help' | 'version' {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string' as const }]));
    ({ values } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' }, version: { type: 'boolean' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ConfigError(`${error instanceof Error ? error.message.split('\n')[0] : String(error)} (rxrtmp --help lists the flags)`);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  const file = typeof values.config === 'string' ? readConfigFile(values.config) : {};
  const merged: Record<string, string | number | undefined> = {};
  const given = new Set<string>();
  for (const setting of SETTINGS) {
    if (!setting.key) continue;
    const flag = values[setting.flag];
    if (flag !== undefined) {
      merged[setting.key] = checkValue(setting, flag, 'flag');
      given.add(setting.key);
    } else if (file[setting.key] !== undefined) {
      merged[setting.key] = checkValue(setting, file[setting.key], 'file');
      given.add(setting.key);
    } else merged[setting.key] = setting.fallback(root);
  }
  const pluginDir = merged.pluginDir as string;
  if (given.has('pluginDir') && !(existsSync(pluginDir) && statSync(pluginDir).isDirectory())) {
    throw new ConfigError(`--plugins ${pluginDir}: no such directory (a directory of plugins, default ${join(root, 'plugins')})`);
  }
  if ((merged.tlsCert === undefined) !== (merged.tlsKey === undefined)) throw new ConfigError('--tls-cert and --tls-key go together: give both PEM files, or neither');
  if (merged.rtmpsPort !== undefined && merged.tlsCert === undefined) throw new ConfigError('--rtmps-port needs --tls-cert and --tls-key');
  for (const key of ['tlsCert', 'tlsKey'] as const) {
    const path = merged[key];
    if (typeof path === 'string' && !existsSync(path)) throw new ConfigError(`--${key === 'tlsCert' ? 'tls-cert' : 'tls-key'} ${path}: no such file`);
  }
  const workers = merged.workers as number;
  if (typeof merged.redis === 'string' && !/^rediss?:\/\/[^/\s]+/.test(merged.redis)) throw new ConfigError(`--redis must be a redis://host:port URL, not ${JSON.stringify(merged.redis)}`);
  const clusterSecret = (merged.clusterSecret as string | undefined) ?? process.env.RXRTMP_CLUSTER_SECRET;
  if (clusterSecret !== undefined && Buffer.byteLength(clusterSecret) < 32) throw new ConfigError(`--cluster-secret must be at least 32 bytes (it has ${Buffer.byteLength(clusterSecret)})`);
  if (merged.redis !== undefined && workers === 1 && clusterSecret === undefined) throw new ConfigError('--redis needs --cluster-secret (or $RXRTMP_CLUSTER_SECRET), the same on every node');
  return {
    host: merged.host as string,
    rtmpPort: merged.rtmpPort as number,
    httpPort: merged.httpPort as number,
    ...(typeof merged.rtmpsPort === 'number' ? { rtmpsPort: merged.rtmpsPort } : {}),
    pluginDir,
    pluginDirGiven: given.has('pluginDir'),
    recordDir: merged.recordDir as string,
    ...(typeof merged.tlsCert === 'string' ? { tlsCert: merged.tlsCert, tlsKey: merged.tlsKey as string } : {}),
    logFormat: merged.logFormat as LogFormat,
    workers,
    ...(typeof merged.redis === 'string' ? { redis: merged.redis } : {}),
    ...(clusterSecret !== undefined ? { clusterSecret } : {}),
    internalHost: merged.internalHost as string,
    ...(typeof merged.advertiseHost === 'string' ? { advertiseHost: merged.advertiseHost } : {}),
    server: file.server === undefined ? {} : checkServer(file.server),
  };
}

import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, helpText, readCliConfig } from '../../lib/app/config';

const ROOT = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-config-'));
const file = (name: string, body: unknown): string => {
  const path = join(dir, name);
  writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body));
  return path;
};

test('defaults, then the config file, then flags', (t) => {
  const defaults = readCliConfig([], ROOT);
  t.like(defaults, { host: '0.0.0.0', rtmpPort: 1935, httpPort: 8080, pluginDir: join(ROOT, 'plugins'), pluginDirGiven: false, recordDir: 'recordings', logFormat: 'pretty', server: {} });
  const config = file('ok.json', { rtmpPort: 1936, httpPort: 8081, logFormat: 'json', server: { chunkSize: 8192, maxConnections: 10 } });
  t.like(readCliConfig(['--config', config], ROOT), { rtmpPort: 1936, httpPort: 8081, logFormat: 'json', server: { chunkSize: 8192, maxConnections: 10 } });
  t.like(readCliConfig(['--config', config, '--rtmp-port', '1937'], ROOT), { rtmpPort: 1937, httpPort: 8081 });
  t.like(readCliConfig(['--workers', '4', '--redis', 'redis://10.0.0.5:6379/2', '--cluster-secret', 'x'.repeat(32), '--advertise-host', '10.0.0.7'], ROOT), { workers: 4, redis: 'redis://10.0.0.5:6379/2', clusterSecret: 'x'.repeat(32), internalHost: '127.0.0.1', advertiseHost: '10.0.0.7' });
  t.like(readCliConfig(['--workers', '2'], ROOT), { workers: 2 }, 'a worker pool needs no Redis: the primary keeps its directory');
  t.is(readCliConfig(['--help'], ROOT), 'help');
  t.is(readCliConfig(['--version'], ROOT), 'version');
});

const mistakes: Array<[string, string[], RegExp]> = [
  ['a port out of range', ['--rtmp-port', '70000'], /^--rtmp-port must be a port number from 0 to 65535, not "70000"$/],
  ['a port that is not a number', ['--http-port', 'eighty'], /^--http-port must be a port number/],
  ['an unknown flag', ['--colour', 'red'], /^Unknown option '--colour' \(rxrtmp --help lists the flags\)$/],
  ['a log format that does not exist', ['--log-format', 'xml'], /^--log-format must be "pretty" or "json", not "xml"$/],
  ['a plugin directory that does not exist', ['--plugins', '/no/such/dir'], /^--plugins \/no\/such\/dir: no such directory/],
  ['a certificate without its key', ['--tls-cert', __filename], /^--tls-cert and --tls-key go together/],
  ['an RTMPS port without a certificate', ['--rtmps-port', '1936'], /^--rtmps-port needs --tls-cert and --tls-key$/],
  ['a config file that does not exist', ['--config', '/no/such.json'], /^--config \/no\/such\.json: cannot read it \(ENOENT\)$/],
  ['a config file that is not JSON', ['--config', file('bad.json', '{ nope')], /: not JSON/],
  ['an unknown config key', ['--config', file('key.json', { rtmp_port: 1 })], /unknown key "rtmp_port" \(known: host, rtmpPort/],
  ['a config value of the wrong type', ['--config', file('type.json', { rtmpPort: '1935' })], /^"rtmpPort" in the config file must be a port number from 0 to 65535, not "1935"$/],
  ['an unknown server option', ['--config', file('server.json', { server: { chunkSiz: 1 } })], /^"server\.chunkSiz" in the config file is not a server option/],
  ['a worker count of zero', ['--workers', '0'], /^--workers must be a whole number from 1 to 256, not "0"$/],
  ['a Redis address that is not a URL', ['--redis', 'localhost:6379'], /^--redis must be a redis:\/\/host:port URL, not "localhost:6379"$/],
  ['Redis without a cluster secret', ['--redis', 'redis://127.0.0.1:6379'], /^--redis needs --cluster-secret \(or \$RXRTMP_CLUSTER_SECRET\), the same on every node$/],
  ['a short cluster secret', ['--redis', 'redis://127.0.0.1:6379', '--cluster-secret', 'short'], /^--cluster-secret must be at least 32 bytes \(it has 5\)$/],
  ['a server option of the wrong type', ['--config', file('server-type.json', { server: { chunkSize: '4k' } })], /^"server\.chunkSize" in the config file must be a non-negative number, not "4k"$/],
];
for (const [what, argv, message] of mistakes) {
  test(`${what} is one clear line naming the key`, (t) => {
    const error = t.throws(() => readCliConfig(argv, ROOT), { instanceOf: ConfigError });
    t.regex(error!.message, message);
    t.false(error!.message.includes('\n'));
  });
}

test('--help lists every flag with its default', (t) => {
  const help = helpText(ROOT);
  for (const [flag, fallback] of [['--host', '0.0.0.0'], ['--rtmp-port', '1935'], ['--http-port', '8080'], ['--rtmps-port', 'none'], ['--plugins', join(ROOT, 'plugins')], ['--record-dir', 'recordings'], ['--tls-cert', 'none'], ['--tls-key', 'none'], ['--log-format', 'pretty'], ['--workers', '1'], ['--redis', 'none'], ['--cluster-secret', 'none'], ['--internal-host', '127.0.0.1'], ['--advertise-host', 'none'], ['--config', 'none']]) {
    const at = help.indexOf(`  ${flag} `);
    t.true(at >= 0, flag);
    t.true(help.slice(at).split('\n')[1]!.includes(`default: ${fallback}`), `${flag} default ${fallback}`);
  }
  t.true(help.includes('--help') && help.includes('--version') && help.includes('chunkSize'));
});

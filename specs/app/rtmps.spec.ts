import test from 'ava';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as plainConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { createServer, installLive } from '../../lib';
import { recordingLogger, until } from '../helpers/raw-peer';

function selfSigned(dir: string, name: string, cn: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${cn}`], { stdio: 'ignore' });
  return { cert, key };
}

/** The subject CN the listener presents now. */
function presentedName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cn = socket.getPeerCertificate().subject.CN;
      socket.destroy();
      resolve(Array.isArray(cn) ? cn.join(',') : (cn ?? ''));
    });
    socket.once('error', reject);
  });
}

test('RTMPS: ffmpeg publishes and plays rtmps://; a renewed certificate is loaded without a restart; a plain-RTMP peer on the TLS port is refused and logged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-rtmps-'));
  const first = selfSigned(dir, 'first', 'first.example');
  const second = selfSigned(dir, 'second', 'second.example');
  const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
  copyFileSync(first.cert, live.cert);
  copyFileSync(first.key, live.key);
  const log = recordingLogger();
  const server = createServer({ logger: log });
  const registry = installLive(server, { logger: log });
  const { port } = await server.listenTls({ host: '127.0.0.1', port: 0, certFile: live.cert, keyFile: live.key, watchInterval: 100 });
  const url = `rtmps://127.0.0.1:${port}/live/cam`;
  const publisher = spawn('ffmpeg', ['-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=15', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-t', '30', '-f', 'flv', url], { stdio: 'ignore' });
  try {
    await until(() => registry.get('live', 'cam')?.state === 'live', 15_000);
    t.regex([...server.connections][0]!.remoteAddress, /^tls:127\.0\.0\.1:\d+$/);
    const played = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile('ffmpeg', ['-loglevel', 'error', '-i', url, '-frames:v', '10', '-f', 'null', '-'], { timeout: 20_000 }, (error, _stdout, stderr) => resolve({ code: error ? 1 : 0, stderr })),
    );
    t.is(played.code, 0, played.stderr);

    t.is(await presentedName(port), 'first.example');
    copyFileSync(second.key, live.key);
    copyFileSync(second.cert, live.cert);
    await until(() => log.lines.some((l) => l.includes('rtmps certificate reloaded')), 5_000);
    await until(() => server.tlsListener!.reloads >= 2, 5_000).catch(() => undefined);
    t.is(await presentedName(port), 'second.example', 'new connections get the renewed certificate');
    t.is(registry.get('live', 'cam')?.state, 'live', 'the publisher stayed on through the reload');

    // Plain RTMP bytes on the TLS port: a failed TLS handshake, logged; the server goes on.
    const plain = plainConnect(port, '127.0.0.1');
    plain.on('error', () => undefined);
    plain.write(Buffer.concat([Buffer.of(3), Buffer.alloc(1536)]));
    await until(() => log.lines.some((l) => /TLS handshake failed/.test(l)), 5_000);
    plain.destroy();
    t.is(registry.get('live', 'cam')?.state, 'live');
  } finally {
    publisher.kill('SIGKILL');
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

function run(command: string, args: string[], cwd: string, timeout = 240_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(command, args, { cwd, timeout, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/**
 * The same app twice, as a CommonJS script and as an ES module: a server with the bundled
 * plugins (loaded from the installed package, Screen Video's worker threads included), a
 * call, and a play of the rendered demo scene. It prints one JSON line.
 */
const app = (load: string, header: string): string => `${header}
const { join, dirname } = require_('node:path');
async function main() {
  const { createServer, installDemo, PluginRegistry, RtmpClient, silentLogger } = ${load};
  const plugins = new PluginRegistry();
  const { loaded } = await plugins.loadDirectory(join(dirname(require_.resolve('rxrtmp')), '..', 'plugins'));
  const server = createServer({ logger: silentLogger });
  server.onConnect({ connect: (connection, request) => { if (request.properties.app === 'demo') connection.onCall('add', (call) => call.args[0] + call.args[1]); return undefined; } });
  installDemo(server, { plugins });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = await RtmpClient.connect('rtmp://127.0.0.1:' + port + '/demo');
  const sum = await client.call('add', 2, 40);
  const stream = await client.createStream();
  const codecs = [];
  stream.media$.subscribe((m) => { if (m.typeId === 9) codecs.push(m.payload[0] & 0x0f); });
  await stream.play('scene');
  while (codecs.length < 5) await new Promise((r) => setTimeout(r, 20));
  await client.close();
  await server.close();
  // Screen Video's deflate workers, started from the installed package's worker file.
  const encoder = plugins.createEncoder('screen-video');
  encoder.set('workers', 'always');
  await encoder.init(256, 256);
  await encoder.encode({ width: 256, height: 256, format: 'bgr24', data: Buffer.alloc(256 * 256 * 3, 7) }, { keyFrame: true });
  const pool = require_(join(dirname(require_.resolve('rxrtmp')), '..', 'plugins', 'screen-video')).poolStats();
  await encoder.close();
  await plugins.close();
  // The cluster subpath: a worker pool's directory, host and worker in one process, claims a name.
  const { DirectoryHost, IpcDirectory, joinCluster } = require_('rxrtmp/cluster');
  const host = new DirectoryHost();
  const listeners = [];
  const link = host.attach('w1', (m) => listeners.forEach((l) => l(m)));
  const directory = new IpcDirectory({ send: (m) => link.receive(m), onMessage: (l) => listeners.push(l), connected: true });
  await directory.join({ id: 'n1', address: '127.0.0.1:1', pid: process.pid, startedAt: Date.now() });
  const claim = await directory.claim('live/cam');
  console.log(JSON.stringify({ plugins: loaded.map((p) => p.name).sort(), sum, videoCodecs: [...new Set(codecs)], workersRan: pool.batches > 0 && !pool.disabled, cluster: typeof joinCluster === 'function' && claim.claimed.node }));
}
main().catch((error) => { console.error(error); process.exit(1); });
`;

test('npm pack: a plain JavaScript app (CommonJS) and an ES module app install the tarball, run a server, a call and a play; the rxrtmp command is on their PATH', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-pack-'));
  try {
    const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], ROOT);
    t.is(packed.code, 0, packed.stderr);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
    const files = await run('tar', ['-tzf', join(dir, tarball)], dir);
    const listed = files.stdout.split('\n');
    t.true(listed.includes('package/dist/lib/index.js') && listed.includes('package/dist/lib/index.d.ts') && listed.includes('package/dist/lib/index.mjs'));
    t.true(listed.includes('package/dist/plugins/screen-video/deflate-worker.js') && listed.includes('package/dist/lib/web/page/rxrtmp.js'));
    t.false(listed.some((f) => f.startsWith('package/lib/') || f.startsWith('package/specs/') || f.endsWith('.ts') && !f.endsWith('.d.ts')), 'only the compiled package ships');

    const appDir = join(dir, 'app');
    mkdirSync(appDir);
    writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'an-app', version: '1.0.0', private: true, dependencies: { rxrtmp: `file:../${tarball}` } }));
    writeFileSync(join(appDir, 'app.js'), app(`require('rxrtmp')`, `'use strict';\nconst require_ = require;`));
    writeFileSync(join(appDir, 'app.mjs'), app(`await import('rxrtmp')`, `import { createRequire } from 'node:module';\nconst require_ = createRequire(import.meta.url);\nimport * as named from 'rxrtmp';\nif (typeof named.createServer !== 'function') throw new Error('no named ES export createServer');`));
    const installed = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], appDir);
    t.is(installed.code, 0, installed.stderr);

    for (const file of ['app.js', 'app.mjs']) {
      const result = await run(process.execPath, [file], appDir, 60_000);
      t.is(result.code, 0, `${file}: ${result.stderr}`);
      t.deepEqual(JSON.parse(result.stdout.trim().split('\n').pop()!), { plugins: ['ffmpeg-video', 'screen-video'], sum: 42, videoCodecs: [3], workersRan: true, cluster: 'n1' }, file);
    }
    // A TypeScript app type-checks against the package's own .d.ts (through exports' "types").
    writeFileSync(
      join(appDir, 'app.ts'),
      `import { createServer, RtmpClient, type Logger } from 'rxrtmp';\n` +
        `const logger: Logger = { info() {}, warn() {}, error() {} };\n` +
        `const server = createServer({ logger, chunkSize: 4096 });\n` +
        `server.onCall('add', (call) => Number(call.args[0]) + Number(call.args[1]));\n` +
        `// @ts-expect-error chunkSize is a number\n` +
        `createServer({ chunkSize: 'big' });\n` +
        `export const client: Promise<RtmpClient> = RtmpClient.connect('rtmp://127.0.0.1/app');\n`,
    );
    const tsc = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node', 'app.ts'], appDir, 60_000);
    t.is(tsc.code, 0, tsc.stdout + tsc.stderr);
    const help = await run(join(appDir, 'node_modules', '.bin', 'rxrtmp'), ['--help'], appDir, 30_000);
    t.is(help.code, 0);
    t.regex(help.stdout, /--rtmp-port N/);
    t.regex(help.stdout, new RegExp(`default: ${join(appDir, 'node_modules', 'rxrtmp', 'dist', 'plugins').replace(/[/.]/g, '\\$&')}`), 'the bundled plugins are found inside the installed package');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

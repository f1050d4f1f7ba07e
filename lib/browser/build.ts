import { join } from 'node:path';

const SHIMS = join(__dirname, 'shims');

/**
 * The browser build of the client and decoders (`lib/browser/dom/index.ts`), one IIFE
 * with the global `rxrtmp`. Node's modules the shared code imports are replaced by
 * small shims (`shims/`): no TCP, HMAC-SHA256 from @noble/hashes, inflate from fflate,
 * streams from readable-stream, Buffer from buffer.
 */
export async function buildBrowserBundle(): Promise<string> {
  // Loaded here: esbuild is needed only when the bundle is built, not to run the server.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(__dirname, 'dom', 'index.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'rxrtmp',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    logLevel: 'silent',
    inject: [join(SHIMS, 'globals.ts')],
    alias: {
      'node:crypto': join(SHIMS, 'crypto.ts'),
      'node:net': join(SHIMS, 'net.ts'),
      'node:tls': join(SHIMS, 'tls.ts'),
      'node:zlib': join(SHIMS, 'zlib.ts'),
      'node:stream': 'readable-stream',
      'node:events': 'events',
      ws: join(SHIMS, 'ws.ts'),
    },
    define: { global: 'globalThis' },
  });
  return result.outputFiles[0]!.text;
}

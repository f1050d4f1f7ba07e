/**
 * The rxrtmp side of the benchmark, in a process of its own so that its CPU time and
 * memory can be read from /proc: createServer + installLive on 127.0.0.1.
 *
 *   rxrtmp-server.ts --port N [--no-gop-cache] [--media-batch-from N] [--media-flush-ms N]
 *
 * Prints `ready PORT` once listening; exits on SIGTERM/SIGINT or when stdin closes
 * (so it never outlives the benchmark), and after --max-seconds (default 1800) at most.
 */
import { createServer, silentLogger } from '../../lib';
import { installLive } from '../../lib/media/live-app';

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const port = Number(flag('--port') ?? '0');
  const maxSeconds = Number(flag('--max-seconds') ?? '1800');
  const gopCache = !process.argv.includes('--no-gop-cache');
  // 0 batches (and paces publishers) from the first message, as under a large fan-out.
  const batchFrom = flag('--media-batch-from');
  // chunkSize 4096 is the default already; said here because nginx and NMS are configured alike.
  const flushMs = flag('--media-flush-ms');
  const server = createServer({ logger: silentLogger, chunkSize: 4096, maxConnections: 20_000 });
  installLive(server, {
    gopCache,
    logger: silentLogger,
    ...(batchFrom !== undefined ? { mediaBatchFrom: Number(batchFrom) } : {}),
    ...(flushMs !== undefined ? { mediaFlushMs: Number(flushMs) } : {}),
  });
  const address = await server.listen({ host: '127.0.0.1', port });
  process.stdout.write(`ready ${address.port}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const hard = setTimeout(() => process.exit(0), 3_000);
    hard.unref();
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  setTimeout(stop, maxSeconds * 1000).unref();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

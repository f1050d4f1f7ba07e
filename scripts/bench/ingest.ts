/**
 * Taking in one stream: the looped 720p clip published by ffmpeg, no players; the
 * server's CPU per second and the reads it makes (/proc/PID/io syscr). This is the
 * fixed cost under every fan-out figure, spread over fewer bytes the fewer the players.
 */
import { startPublisher } from './clip';
import type { Peer } from './peers';
import { readCalls, sample, sleep } from './proc';

export interface IngestResult {
  server: string;
  windowSeconds: number;
  cpuMsPerSecond: number;
  /** read-type system calls per second (read, recv, recvfrom …), all of the server's. */
  readsPerSecond: number;
  rssMB: number;
  error?: string;
}

export async function runIngest(peer: Peer, seconds: number): Promise<IngestResult> {
  const publisher = await startPublisher(peer.url, 3_000);
  try {
    const start = sample(peer.pid);
    const startReads = readCalls(peer.pid);
    await sleep(seconds * 1000);
    const end = sample(peer.pid);
    const reads = readCalls(peer.pid) - startReads;
    const windowSeconds = (end.at - start.at) / 1000;
    return {
      server: peer.name,
      windowSeconds,
      cpuMsPerSecond: (1000 * (end.cpu - start.cpu)) / windowSeconds,
      readsPerSecond: reads / windowSeconds,
      rssMB: end.rss / 1e6,
      ...(publisher.alive() ? {} : { error: `the publisher died: ${publisher.log().trim().slice(-200)}` }),
    };
  } finally {
    await publisher.stop();
  }
}

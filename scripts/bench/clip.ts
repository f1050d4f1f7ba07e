/** The test clip (made once, cached in the temp dir) and the ffmpeg publisher that loops it. */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './proc';

/** 10 s of 1280×720 30 fps H.264 (2.5 Mbit/s, key frame every 60 frames) + AAC 128k. */
export const CLIP = join(tmpdir(), 'rxrtmp-bench-clip-720p30-2500k-g60.flv');
export const STREAM = 'bench';

export function prepareClip(): string {
  if (existsSync(CLIP) && statSync(CLIP).size > 1_000_000) return CLIP;
  const partial = `${CLIP}.part.flv`;
  // libx264 veryfast on 2 cores: about 10-20 s for the 300 frames.
  execFileSync(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
      '-t', '10',
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
      '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '5000k', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
      '-c:a', 'aac', '-b:a', '128k',
      '-f', 'flv', partial,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 180_000 },
  );
  renameSync(partial, CLIP);
  return CLIP;
}

export interface Publisher {
  child: ChildProcess;
  alive(): boolean;
  log(): string;
  stop(): Promise<void>;
}

/** `ffmpeg -re -stream_loop -1 -i clip.flv -c copy -f flv URL/NAME`, in real time until stopped. */
export async function startPublisher(url: string, settle = 3_000, stream = STREAM): Promise<Publisher> {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', CLIP, '-c', 'copy', '-f', 'flv', `${url}/${stream}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => void (log = (log + d.toString()).slice(-4000)));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (!alive()) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await gone;
    clearTimeout(timer);
  };
  await sleep(settle);
  if (!alive()) throw new Error(`the ffmpeg publisher exited: ${log.trim().slice(-400)}`);
  return { child, alive, log: () => log, stop };
}

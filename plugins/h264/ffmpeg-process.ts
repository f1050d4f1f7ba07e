import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { EncodedVideo } from '../../lib/plugins/contract';
import { VideoCodecId, VideoFrameType } from '../../lib/protocol/media-tags';
import { FlvTagReader } from './flv-reader';

/** How much of ffmpeg's stderr we keep for error messages: its last lines say what went wrong. */
const STDERR_TAIL = 2048;
const FLV_VIDEO = 9;
const AVC_SEQUENCE_HEADER = 0;
const AVC_END_OF_SEQUENCE = 2;

interface Waiter {
  resolve(video: EncodedVideo): void;
  reject(error: Error): void;
}

/** What `submit` hands back: when the frame is in the pipe, and when its packet came out. */
export interface Submission {
  /** Settles when the frame has been handed to the pipe (backpressure), never rejects. */
  readonly written: Promise<void>;
  readonly encoded: Promise<EncodedVideo>;
}

/**
 * One ffmpeg child that reads raw frames on stdin and writes FLV on stdout.
 * With no B-frames and no lookahead every frame written yields exactly one video
 * tag, in order, so packets are matched to frames first in, first out.
 */
export class FfmpegProcess {
  readonly pid: number | undefined;
  /** The AVC sequence header this process's muxer wrote (after its first frame); undefined for H.263. */
  sequenceHeader: Buffer | undefined;
  /** Frames written so far: the encoder uses it to know where the next natural key frame falls. */
  framesIn = 0;
  /** Settles once the child has exited and its pipes are closed. */
  readonly closed: Promise<void>;
  /** Resolves when the child runs, rejects if it could not be started (no such file, not executable). */
  readonly started: Promise<void>;

  private readonly child: ChildProcessWithoutNullStreams;
  private readonly reader = new FlvTagReader();
  private readonly waiting: Waiter[] = [];
  private readonly unclaimed: EncodedVideo[] = [];
  private stderrTail = '';
  private failure: Error | undefined;
  private failureReported = false;
  private exited = false;
  private inputEnded = false;
  private stoppedByUs = false;

  constructor(command: string, args: readonly string[]) {
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    this.child.stdout.on('data', (chunk: Buffer) => this.onStdout(chunk));
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL);
    });
    // EPIPE after ffmpeg died: the exit (with its stderr) is the error worth reporting, see onClose.
    this.child.stdin.on('error', () => undefined);
    // Spawn failures (ENOENT, EACCES) arrive here; 'close' follows them.
    this.child.on('error', (error) => {
      this.failure ??= new Error(`could not run ${command}: ${error.message}`);
    });
    this.started = new Promise((resolve, reject) => {
      const onSpawn = (): void => {
        this.child.off('error', onError);
        resolve();
      };
      const onError = (error: Error): void => {
        this.child.off('spawn', onSpawn);
        reject(new Error(`could not run ${command}: ${error.message}`));
      };
      this.child.once('spawn', onSpawn);
      this.child.once('error', onError);
    });
    // Nobody need await `started`; a failed start is also reported through `closed` and the waiters.
    this.started.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.onClose(code, signal);
        resolve();
      });
    });
  }

  /** Writes one raw frame; `encoded` settles with the packet ffmpeg makes of it. */
  submit(frame: Uint8Array): Submission {
    if (this.exited || this.inputEnded) {
      this.failureReported = true;
      const error = this.failure ?? new Error('ffmpeg is no longer accepting frames');
      return { written: Promise.resolve(), encoded: Promise.reject(error) };
    }
    const encoded = new Promise<EncodedVideo>((resolve, reject) => this.waiting.push({ resolve, reject }));
    // The caller attaches its handler only after `written`; an earlier rejection must not count as unhandled.
    encoded.catch(() => undefined);
    this.framesIn++;
    // The write callback runs once the whole frame is in the pipe (or the pipe broke): waiting
    // for it before the next write is the backpressure, and it needs no listener of ours.
    const written = new Promise<void>((resolve) => this.child.stdin.write(frame, () => resolve()));
    return { written, encoded };
  }

  /**
   * Ends the input and waits for ffmpeg to flush and exit (killing it after `timeoutMs`).
   * Returns the packets no `submit` claimed, and an error if ffmpeg failed and nobody was told yet.
   */
  async finish(timeoutMs: number): Promise<{ rest: EncodedVideo[]; error?: Error }> {
    if (!this.inputEnded) {
      this.inputEnded = true;
      this.child.stdin.end();
    }
    const timer = setTimeout(() => this.stop(), timeoutMs);
    await this.closed;
    clearTimeout(timer);
    const rest = this.unclaimed.splice(0);
    if (this.failure && !this.failureReported) {
      this.failureReported = true;
      return { rest, error: this.failure };
    }
    return { rest };
  }

  /** Kills the child (SIGKILL: ffmpeg holds nothing worth a clean shutdown) and waits until it is reaped. */
  async kill(): Promise<void> {
    this.stop();
    await this.closed;
  }

  private stop(): void {
    if (this.exited) return;
    this.stoppedByUs = true;
    this.child.kill('SIGKILL');
  }

  private onStdout(chunk: Buffer): void {
    let tags;
    try {
      tags = this.reader.push(chunk);
    } catch (error) {
      this.failure ??= error instanceof Error ? error : new Error(String(error));
      this.stop();
      return;
    }
    for (const tag of tags) {
      // Script data (onMetaData) and anything not video carry nothing for us.
      if (tag.typeId !== FLV_VIDEO || tag.data.length === 0) continue;
      const first = tag.data[0]!;
      if ((first & 0x0f) === VideoCodecId.Avc && tag.data.length > 1) {
        if (tag.data[1] === AVC_SEQUENCE_HEADER) {
          this.sequenceHeader ??= tag.data;
          continue;
        }
        // The muxer's end-of-sequence marker at EOF is not a picture.
        if (tag.data[1] === AVC_END_OF_SEQUENCE) continue;
      }
      const video: EncodedVideo = { data: tag.data, keyFrame: first >> 4 === VideoFrameType.Key };
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(video);
      else this.unclaimed.push(video);
    }
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    const tail = this.stderrTail.trim();
    const withTail = (message: string): Error => new Error(tail ? `${message}: ${tail}` : message);
    if (this.failure && tail) this.failure = withTail(this.failure.message);
    else if (!this.failure && signal) {
      this.failure = withTail(this.stoppedByUs ? `ffmpeg was stopped (${signal})` : `ffmpeg was killed by ${signal}`);
    } else if (!this.failure && code !== 0) this.failure = withTail(`ffmpeg exited with code ${code}`);
    if (this.waiting.length === 0) return;
    const error = this.failure ?? withTail(`ffmpeg ended without encoding ${this.waiting.length} frame(s)`);
    this.failure = error;
    this.failureReported = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }
}

import {
  bytesPerPixel,
  ParameterError,
  type EncodedVideo,
  type Frame,
  type ParameterValue,
  type PixelFormat,
  type VideoEncoder,
} from '../../lib/plugins/contract';
import { FfmpegProcess } from './ffmpeg-process';
import { checkSetting, defaultSettings, ffmpegArgs, parameterNames, type FfmpegCodec, type SettingName, type Settings } from './settings';

export interface FfmpegEncoderOptions {
  /** The ffmpeg executable. */
  readonly ffmpegPath: string;
  /** How long close() lets ffmpeg flush before killing it. */
  readonly closeTimeoutMs?: number;
}

type State = 'new' | 'starting' | 'ready' | 'closed';

/**
 * An H.264 (libx264) or Sorenson H.263 (ffmpeg's `flv`) encoder backed by one ffmpeg
 * child per stream that stays open: spawning per frame would cost far more than encoding.
 *
 * The AVC sequence header comes from a short probe run (same command line, one black
 * frame), because ffmpeg opens the encoder, and so writes SPS/PPS, only once the first
 * frame reaches it, and init() must return the header before any frame exists. x264
 * derives SPS/PPS from the settings alone, so the long-lived process writes the same bytes;
 * every process is checked against the probe's header, and a difference rejects the encode
 * rather than letting players decode with the wrong parameter sets.
 */
export class FfmpegVideoEncoder implements VideoEncoder {
  readonly pixelFormats: readonly PixelFormat[] = ['rgba', 'bgr24'];
  readonly parameters: readonly string[];

  private readonly settings: Settings = { ...defaultSettings };
  private readonly closeTimeoutMs: number;
  private state: State = 'new';
  private initializing: Promise<unknown> = Promise.resolve();
  private width = 0;
  private height = 0;
  private process: FfmpegProcess | undefined;
  /** The -pix_fmt the running process reads; a frame in the other format restarts it. */
  private format: PixelFormat = 'rgba';
  private header: Buffer | undefined;
  /** Serialises writes and restarts, so frames reach ffmpeg in call order. */
  private writes: Promise<unknown> = Promise.resolve();
  /** Packets a replaced process wrote that no encode claimed (none are expected), returned by close(). */
  private readonly leftovers: EncodedVideo[] = [];

  constructor(
    readonly codec: FfmpegCodec,
    private readonly options: FfmpegEncoderOptions,
  ) {
    this.parameters = parameterNames[codec];
    this.closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  }

  /** The running ffmpeg's process id (for monitoring, and for specs that check it is gone). */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** The sequence header the running ffmpeg wrote itself (after its first frame); compare with init's. */
  get emittedSequenceHeader(): Buffer | undefined {
    return this.process?.sequenceHeader;
  }

  init(width: number, height: number): Promise<Buffer | undefined> {
    const run = this.start(width, height);
    this.initializing = run.catch(() => undefined);
    return run;
  }

  set(name: string, value: ParameterValue): void {
    const key = this.parameterName(name);
    // The settings are ffmpeg command-line options and may change the SPS, which the stream
    // already announced; changing them mid-stream would need a new sequence header.
    if (this.state !== 'new') throw new ParameterError(`${name} applies before init(); create a new encoder to change it`);
    (this.settings as unknown as Record<SettingName, number | string>)[key] = checkSetting(key, value);
  }

  get(name: string): ParameterValue {
    return this.settings[this.parameterName(name)];
  }

  async encode(frame: Frame, options?: { keyFrame?: boolean }): Promise<EncodedVideo> {
    if (this.state !== 'ready') throw new Error(this.state === 'closed' ? 'the encoder is closed' : 'encode() before init() finished');
    this.checkFrame(frame);
    const step = this.writes.then(async () => {
      let process = this.process!;
      // x264 cannot be told to make a key frame through the pipe, and the input's -pix_fmt is
      // fixed per process: both are served by a new process, whose first frame is a key frame.
      const naturalKey = process.framesIn % this.settings.keyFrameInterval === 0;
      if (frame.format !== this.format || (options?.keyFrame === true && !naturalKey)) process = await this.restart(frame.format);
      const submission = process.submit(frame.data);
      await submission.written;
      return { process, encoded: submission.encoded };
    });
    this.writes = step.catch(() => undefined);
    const { process, encoded } = await step;
    const video = await encoded;
    if (this.header && !this.header.equals(process.sequenceHeader ?? Buffer.alloc(0))) {
      throw new Error('ffmpeg wrote a different AVC sequence header than init() returned; players could not decode this stream');
    }
    return video;
  }

  async close(): Promise<EncodedVideo[]> {
    if (this.state === 'closed') return [];
    this.state = 'closed';
    await this.initializing;
    // Every frame accepted before close() is written before the input ends.
    await this.writes;
    const process = this.process;
    if (!process) return [];
    const { rest, error } = await process.finish(this.closeTimeoutMs);
    if (error) throw error;
    return [...this.leftovers.splice(0), ...rest];
  }

  private async start(width: number, height: number): Promise<Buffer | undefined> {
    if (this.state !== 'new') throw new Error(`init() was already called on this ${this.codec} encoder`);
    for (const [what, value] of [['width', width], ['height', height]] as const) {
      if (!Number.isInteger(value) || value < 1 || value > 16_384) throw new ParameterError(`${what} must be an integer from 1 to 16384, not ${value}`);
      // libx264 in 4:2:0 refuses odd sizes; saying so here beats ffmpeg's message at the first frame.
      if (this.codec === 'h264' && value % 2 !== 0) throw new ParameterError(`H.264 (yuv420p) needs an even ${what}, not ${value}`);
    }
    this.state = 'starting';
    this.width = width;
    this.height = height;
    try {
      this.process = this.spawn(this.format);
      await this.process.started;
      // The probe also proves the settings work for this size (for H.263 too) before any frame.
      this.header = await this.probe();
    } catch (error) {
      await this.process?.kill();
      this.state = 'closed';
      throw error;
    }
    // close() may have been called while we were starting; it waits for us, then ends the process.
    if (this.state === 'starting') this.state = 'ready';
    return this.header;
  }

  /** One black frame through an identical, short-lived ffmpeg: its sequence header is ours. */
  private async probe(): Promise<Buffer | undefined> {
    const probe = this.spawn(this.format);
    const submission = probe.submit(new Uint8Array(this.width * this.height * bytesPerPixel(this.format)));
    await submission.written;
    const finished = probe.finish(this.closeTimeoutMs);
    try {
      await submission.encoded;
    } finally {
      await finished;
    }
    if (this.codec === 'h263') return undefined;
    if (!probe.sequenceHeader) throw new Error('ffmpeg encoded a frame but wrote no AVC sequence header');
    return probe.sequenceHeader;
  }

  private spawn(format: PixelFormat): FfmpegProcess {
    return new FfmpegProcess(this.options.ffmpegPath, ffmpegArgs(this.codec, this.settings, this.width, this.height, format));
  }

  /** Lets the current process flush and exit, then starts one for `format`. */
  private async restart(format: PixelFormat): Promise<FfmpegProcess> {
    const old = this.process!;
    const { rest, error } = await old.finish(this.closeTimeoutMs);
    this.leftovers.push(...rest);
    this.format = format;
    this.process = this.spawn(format);
    if (error) throw error;
    return this.process;
  }

  private parameterName(name: string): SettingName {
    const key = this.parameters.find((known) => known === name);
    if (!key) throw new ParameterError(`unknown ${this.codec} parameter ${JSON.stringify(name)}; known: ${this.parameters.join(', ')}`);
    return key as SettingName;
  }

  private checkFrame(frame: Frame): void {
    if (frame.width !== this.width || frame.height !== this.height) {
      throw new Error(`frame is ${frame.width}x${frame.height} but the encoder was initialised for ${this.width}x${this.height}`);
    }
    if (!this.pixelFormats.includes(frame.format)) throw new Error(`pixel format ${String(frame.format)} is not one of ${this.pixelFormats.join(', ')}`);
    const expected = frame.width * frame.height * bytesPerPixel(frame.format);
    if (frame.data.length !== expected) throw new Error(`a ${frame.width}x${frame.height} ${frame.format} frame has ${expected} bytes, not ${frame.data.length}`);
  }
}

import { ParameterError, type ParameterValue, type PixelFormat } from '../../lib/plugins/contract';

export type FfmpegCodec = 'h264' | 'h263';

export interface Settings {
  /** Target bitrate in bits per second (ABR; for H.263 only while `quality` is 0). */
  bitrate: number;
  /** Frames per second: x264's rate control and VUI timing depend on it. */
  frameRate: number;
  /** Frames from one key frame to the next; fixed, because scene-cut key frames are turned off. */
  keyFrameInterval: number;
  /** x264 preset (speed against compression). */
  preset: string;
  /** H.263 fixed quantizer 2 (best) … 31, or 0 for rate control by `bitrate`. */
  quality: number;
}

export type SettingName = keyof Settings;

export const defaultSettings: Readonly<Settings> = {
  bitrate: 1_000_000,
  frameRate: 30,
  keyFrameInterval: 60,
  preset: 'veryfast',
  quality: 0,
};

export const parameterNames: Readonly<Record<FfmpegCodec, readonly SettingName[]>> = {
  h264: ['bitrate', 'frameRate', 'keyFrameInterval', 'preset'],
  h263: ['bitrate', 'frameRate', 'keyFrameInterval', 'quality'],
};

const x264Presets = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow', 'placebo'];

function integer(name: string, value: ParameterValue, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ParameterError(`${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks one value; returns it as stored, or throws a ParameterError naming the allowed range. */
export function checkSetting(name: SettingName, value: ParameterValue): number | string {
  switch (name) {
    case 'bitrate':
      return integer(name, value, 1_000, 500_000_000);
    case 'frameRate':
      // Fractional rates (29.97) are real; ffmpeg parses the decimal string itself.
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1000) {
        throw new ParameterError(`frameRate must be a number above 0 and at most 1000, not ${JSON.stringify(value)}`);
      }
      return value;
    case 'keyFrameInterval':
      return integer(name, value, 1, 100_000);
    case 'preset':
      if (typeof value !== 'string' || !x264Presets.includes(value)) {
        throw new ParameterError(`preset must be one of ${x264Presets.join(', ')}, not ${JSON.stringify(value)}`);
      }
      return value;
    case 'quality':
      if (value === 0) return 0;
      return integer(name, value, 2, 31);
  }
}

/**
 * The ffmpeg command line for one stream. Everything that could make ffmpeg hold a frame
 * back is turned off (B-frames, lookahead via zerolatency, frame rate conversion), so one
 * frame in gives one packet out; -flush_packets pushes each packet through the pipe at once.
 */
export function ffmpegArgs(codec: FfmpegCodec, settings: Settings, width: number, height: number, format: PixelFormat): string[] {
  const input = ['-f', 'rawvideo', '-pix_fmt', format, '-s', `${width}x${height}`, '-r', String(settings.frameRate), '-i', 'pipe:0'];
  const video =
    codec === 'h264'
      ? // -sc_threshold 0 turns x264's scene-cut off: key frames fall exactly every keyFrameInterval,
        // which is what the encoder relies on to know whether a forced key frame needs a restart.
        ['-c:v', 'libx264', '-preset', settings.preset, '-tune', 'zerolatency', '-sc_threshold', '0', '-b:v', String(settings.bitrate)]
      : // mpegvideo's scene change check is "score above threshold"; a huge threshold turns it off.
        ['-c:v', 'flv', '-sc_threshold', '1000000000', ...(settings.quality > 0 ? ['-q:v', String(settings.quality)] : ['-b:v', String(settings.bitrate)])];
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    ...input,
    ...video,
    '-g',
    String(settings.keyFrameInterval),
    '-bf',
    '0',
    '-pix_fmt',
    'yuv420p',
    '-fps_mode',
    'passthrough',
    '-f',
    'flv',
    '-flush_packets',
    '1',
    '-flvflags',
    'no_duration_filesize',
    'pipe:1',
  ];
}

import { execFile } from 'node:child_process';
import { VIDEO_PLUGIN_API_VERSION, VIDEO_PLUGIN_TYPE, type VideoPlugin } from '../../lib/plugins/contract';
import { VideoCodecId } from '../../lib/protocol/media-tags';
import { FfmpegVideoEncoder } from './encoder';
import type { FfmpegCodec } from './settings';

export { FfmpegVideoEncoder } from './encoder';
export type { FfmpegCodec, Settings } from './settings';

export interface FfmpegVideoPluginOptions {
  /** The ffmpeg executable; default: $RXRTMP_FFMPEG, else `ffmpeg` on the PATH. */
  readonly ffmpegPath?: string;
  /** How long an encoder's close() lets ffmpeg flush before killing it (ms). */
  readonly closeTimeoutMs?: number;
}

const codecs = [
  { name: 'h264', flvCodecId: VideoCodecId.Avc },
  { name: 'h263', flvCodecId: VideoCodecId.SorensonH263 },
] as const;

const isCodec = (name: string): name is FfmpegCodec => codecs.some((codec) => codec.name === name);

/** `ffmpeg -encoders` output; rejects with why ffmpeg could not be run. */
function listEncoders(ffmpegPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(ffmpegPath, ['-hide_banner', '-encoders'], { timeout: 15_000, maxBuffer: 8 * 1024 * 1024 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout);
    });
  });
}

/**
 * The plugin, with its ffmpeg made injectable: a deployment may keep ffmpeg off the
 * PATH, and a spec proves the refusal with a path that does not exist.
 */
export function createFfmpegVideoPlugin(options: FfmpegVideoPluginOptions = {}): VideoPlugin {
  // Read at use, not at import: the default plugin is created when the module loads, the
  // environment may be set afterwards (tests, a CLI that parses its config first).
  const ffmpegPath = (): string => options.ffmpegPath ?? process.env['RXRTMP_FFMPEG'] ?? 'ffmpeg';
  return {
    type: VIDEO_PLUGIN_TYPE,
    apiVersion: VIDEO_PLUGIN_API_VERSION,
    name: 'ffmpeg-video',
    version: '1.0.0',
    codecs,
    async init(): Promise<void> {
      const path = ffmpegPath();
      let encoders: string;
      try {
        encoders = await listEncoders(path);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`the h264 plugin needs ffmpeg with libx264 on the PATH: running ${path} failed (${reason})`);
      }
      // Lines look like " V....D libx264   libx264 H.264 …": flags, then the encoder name.
      const missing = ['libx264', 'flv'].filter((name) => !new RegExp(`^\\s*V\\S*\\s+${name}\\s`, 'm').test(encoders));
      if (missing.length > 0) {
        throw new Error(`the h264 plugin needs ffmpeg with libx264 on the PATH: ${path} has no ${missing.join(' or ')} encoder`);
      }
    },
    createEncoder(codec: string): FfmpegVideoEncoder {
      if (!isCodec(codec)) throw new Error(`the ffmpeg-video plugin has no ${JSON.stringify(codec)} encoder; it has h264 and h263`);
      return new FfmpegVideoEncoder(codec, { ffmpegPath: ffmpegPath(), closeTimeoutMs: options.closeTimeoutMs });
    },
  };
}

export const plugin: VideoPlugin = createFfmpegVideoPlugin();
export default plugin;

/**
 * The video plugin contract. A plugin module's default export (or its export
 * `plugin`) is one `VideoPlugin`; the loader checks it before anything uses it.
 * Kept small on purpose: a type and version to check, the codecs it provides, and
 * factories for encoders (and decoders where it can).
 */

/** The loader refuses plugins of another type or another contract version. */
export const VIDEO_PLUGIN_TYPE = 'rxrtmp-video-plugin';
export const VIDEO_PLUGIN_API_VERSION = 1;

/** Pixel layouts a frame can have: RGBA (4 bytes a pixel) or BGR24 (3 bytes, as Screen Video stores them). */
export type PixelFormat = 'rgba' | 'bgr24';

export const bytesPerPixel = (format: PixelFormat): number => (format === 'rgba' ? 4 : 3);

/** A raw picture, top row first, rows packed without padding. */
export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly format: PixelFormat;
  readonly data: Uint8Array;
}

/** One encoded picture: an FLV video tag body (frame type and codec id first), ready to be a video message. */
export interface EncodedVideo {
  readonly data: Buffer;
  readonly keyFrame: boolean;
}

export type ParameterValue = number | string | boolean;

export interface VideoEncoder {
  readonly codec: string;
  /** Pixel formats `encode` accepts, most preferred first; frames in others are converted before. */
  readonly pixelFormats: readonly PixelFormat[];
  /** Names `set` and `get` accept. */
  readonly parameters: readonly string[];
  /**
   * Prepares for pictures of this size. Returns the codec's sequence header (an FLV
   * video tag body, e.g. an AVC decoder configuration) if it has one.
   */
  init(width: number, height: number): Promise<Buffer | undefined>;
  /** Sets a codec parameter (bitrate, frameRate, keyFrameInterval, quality, blockSize…); unknown names throw. */
  set(name: string, value: ParameterValue): void;
  get(name: string): ParameterValue;
  /**
   * Encodes one picture. Inter frames are coded against the previous picture this
   * encoder encoded, so a picture that is skipped is simply never passed here.
   */
  encode(frame: Frame, options?: { keyFrame?: boolean }): Promise<EncodedVideo>;
  /** Flushes what remains and releases the encoder. */
  close(): Promise<EncodedVideo[]>;
}

export interface VideoDecoder {
  readonly codec: string;
  /** Decodes one FLV video tag body into a picture (after any sequence header it needs). */
  decode(data: Buffer): Promise<Frame | undefined>;
  close(): Promise<void>;
}

export interface CodecDescription {
  /** The name applications ask for: `screen-video`, `h264`, `h263`. */
  readonly name: string;
  /** FLV video CodecID (3 Screen Video, 7 AVC, 2 Sorenson H.263). */
  readonly flvCodecId: number;
}

export interface VideoPlugin {
  readonly type: typeof VIDEO_PLUGIN_TYPE;
  readonly apiVersion: typeof VIDEO_PLUGIN_API_VERSION;
  readonly name: string;
  readonly version: string;
  readonly codecs: readonly CodecDescription[];
  /** Runs once when loaded; a throw refuses the plugin (e.g. a missing ffmpeg). */
  init?(): void | Promise<void>;
  exit?(): void | Promise<void>;
  /** One encoder per stream; encoders are never shared. */
  createEncoder(codec: string): VideoEncoder;
  createDecoder?(codec: string): VideoDecoder;
}

/** Thrown for unknown parameter names and values out of range. */
export class ParameterError extends Error {
  override readonly name = 'ParameterError';
}

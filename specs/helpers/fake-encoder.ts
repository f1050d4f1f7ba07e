import { EncodedVideo, Frame, ParameterError, PixelFormat, VIDEO_PLUGIN_API_VERSION, VIDEO_PLUGIN_TYPE, VideoEncoder, VideoPlugin } from '../../lib/plugins/contract';

/**
 * A stand-in encoder for pipeline specs: every picture becomes a tiny Screen-Video-
 * shaped tag carrying the frame's first byte, so specs can tell pictures apart.
 * `delayMs` makes it slow on purpose.
 */
export class FakeEncoder implements VideoEncoder {
  readonly codec = 'fake';
  readonly pixelFormats: readonly PixelFormat[] = ['bgr24'];
  readonly parameters = ['keyFrameInterval'] as const;
  encoded: Frame[] = [];
  private count = 0;
  private keyFrameInterval = 10;
  closed = false;

  constructor(private readonly delayMs = 0) {}

  async init(): Promise<Buffer | undefined> {
    return undefined;
  }

  set(name: string, value: number | string | boolean): void {
    if (name !== 'keyFrameInterval' || typeof value !== 'number') throw new ParameterError(`unknown parameter ${name}`);
    this.keyFrameInterval = value;
  }

  get(name: string): number {
    if (name !== 'keyFrameInterval') throw new ParameterError(`unknown parameter ${name}`);
    return this.keyFrameInterval;
  }

  async encode(frame: Frame, options: { keyFrame?: boolean } = {}): Promise<EncodedVideo> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const keyFrame = options.keyFrame === true || this.count % this.keyFrameInterval === 0;
    this.count++;
    this.encoded.push(frame);
    return { data: Buffer.from([keyFrame ? 0x13 : 0x23, frame.data[0] ?? 0, frame.data[1] ?? 0]), keyFrame };
  }

  async close(): Promise<EncodedVideo[]> {
    this.closed = true;
    return [];
  }
}

export function fakePlugin(name = 'fake-plugin', delayMs = 0): VideoPlugin {
  return {
    type: VIDEO_PLUGIN_TYPE,
    apiVersion: VIDEO_PLUGIN_API_VERSION,
    name,
    version: '1.0.0',
    codecs: [{ name: 'fake', flvCodecId: 3 }],
    createEncoder: () => new FakeEncoder(delayMs),
  };
}

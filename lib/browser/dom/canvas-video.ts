import { ScreenVideoDecoder } from '../../../plugins/screen-video/decoder';

/** A video message as the client's `media$` gives it. */
export interface VideoMessage {
  typeId: number;
  timestamp: number;
  payload: Uint8Array;
}

export interface CanvasVideoOptions {
  /** Called after each picture is drawn, with its RTMP timestamp (ms). */
  onFrame?: (timestamp: number) => void;
  onError?: (error: Error) => void;
}

const VIDEO = 9;
const SCREEN_VIDEO = 3;
const AVC = 7;

/** `avc1.PPCCLL` from an AVCDecoderConfigurationRecord: profile, constraint flags and level. */
function avcCodecString(record: Uint8Array): string {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return `avc1.${hex(record[1]!)}${hex(record[2]!)}${hex(record[3]!)}`;
}

/**
 * Video messages drawn on a canvas: Screen Video decoded in the page (the bundled
 * decoder, inflating with fflate), H.264 through WebCodecs' VideoDecoder where the
 * browser has it. Decoding errors are reported and the next key frame starts over.
 */
export class CanvasVideo {
  readonly context: CanvasRenderingContext2D;
  private readonly screenVideo = new ScreenVideoDecoder();
  private avc: VideoDecoder | undefined;
  private avcWaitsForKey = true;
  private image: ImageData | undefined;
  /** Pictures drawn since start. */
  drawn = 0;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly options: CanvasVideoOptions = {},
  ) {
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no 2d context on the canvas');
    this.context = context;
  }

  /** Whether this browser can decode H.264 (WebCodecs). */
  static get hasWebCodecs(): boolean {
    return typeof VideoDecoder === 'function' && typeof EncodedVideoChunk === 'function';
  }

  push(message: VideoMessage): void {
    if (message.typeId !== VIDEO || message.payload.length < 1) return;
    const codec = message.payload[0]! & 0x0f;
    try {
      if (codec === SCREEN_VIDEO) this.screenVideoFrame(message);
      else if (codec === AVC) this.avcFrame(message);
    } catch (error) {
      this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
    }
  }

  close(): void {
    if (this.avc && this.avc.state !== 'closed') this.avc.close();
  }

  private screenVideoFrame(message: VideoMessage): void {
    const frame = this.screenVideo.decodeSync(message.payload as Buffer);
    if (!frame) return;
    if (this.canvas.width !== frame.width || this.canvas.height !== frame.height) {
      this.canvas.width = frame.width;
      this.canvas.height = frame.height;
    }
    if (!this.image || this.image.width !== frame.width || this.image.height !== frame.height) this.image = this.context.createImageData(frame.width, frame.height);
    const rgba = this.image.data;
    const bgr = frame.data;
    for (let i = 0, o = 0; i < bgr.length; i += 3, o += 4) {
      rgba[o] = bgr[i + 2]!;
      rgba[o + 1] = bgr[i + 1]!;
      rgba[o + 2] = bgr[i]!;
      rgba[o + 3] = 255;
    }
    this.context.putImageData(this.image, 0, 0);
    this.drawn++;
    this.options.onFrame?.(message.timestamp);
  }

  private avcFrame(message: VideoMessage): void {
    if (!CanvasVideo.hasWebCodecs) throw new Error('this browser has no WebCodecs VideoDecoder for H.264');
    const payload = message.payload;
    const keyFrame = payload[0]! >> 4 === 1;
    const packetType = payload[1];
    const composition = ((payload[2]! << 16) | (payload[3]! << 8) | payload[4]!) << 8 >> 8;
    const data = payload.subarray(5);
    if (packetType === 0) {
      this.close();
      this.avc = new VideoDecoder({
        output: (picture) => {
          if (this.canvas.width !== picture.displayWidth || this.canvas.height !== picture.displayHeight) {
            this.canvas.width = picture.displayWidth;
            this.canvas.height = picture.displayHeight;
          }
          this.context.drawImage(picture, 0, 0);
          const timestamp = picture.timestamp / 1000;
          picture.close();
          this.drawn++;
          this.options.onFrame?.(timestamp);
        },
        error: (error) => {
          this.avcWaitsForKey = true;
          this.options.onError?.(error);
        },
      });
      this.avc.configure({ codec: avcCodecString(data), description: data.slice(), optimizeForLatency: true });
      this.avcWaitsForKey = true;
      return;
    }
    if (packetType !== 1 || !this.avc || this.avc.state !== 'configured') return;
    if (this.avcWaitsForKey && !keyFrame) return;
    this.avcWaitsForKey = false;
    // The timestamp carried is the decode time: the frame is drawn with it, so a call's effect is matched by it.
    void composition;
    this.avc.decode(new EncodedVideoChunk({ type: keyFrame ? 'key' : 'delta', timestamp: message.timestamp * 1000, data: data.slice() }));
  }
}

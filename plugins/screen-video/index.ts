/**
 * The bundled Flash Screen Video plugin (FLV video codec id 3): a lossless,
 * block-based codec that suits screen sharing, where most of the picture stays
 * still. See encoder.ts for how the work is kept small and spread over cores.
 */
import { VIDEO_PLUGIN_API_VERSION, VIDEO_PLUGIN_TYPE, VideoDecoder, VideoEncoder, VideoPlugin } from '../../lib/plugins/contract';
import { ScreenVideoDecoder } from './decoder';
import { ScreenVideoEncoder } from './encoder';
import { shutdownPool } from './pool';

export { ScreenVideoDecoder, ScreenVideoDecodeError } from './decoder';
export { ScreenVideoEncoder } from './encoder';
export type { WorkerMode } from './encoder';
export { poolStats } from './pool';
export type { PoolStats } from './pool';

const CODEC = 'screen-video';

function checkCodec(codec: string): void {
  if (codec !== CODEC) throw new Error(`screen-video plugin: unknown codec ${JSON.stringify(codec)} (it provides ${CODEC})`);
}

export const plugin: VideoPlugin = {
  type: VIDEO_PLUGIN_TYPE,
  apiVersion: VIDEO_PLUGIN_API_VERSION,
  name: 'screen-video',
  version: '1.0.0',
  codecs: [{ name: CODEC, flvCodecId: 3 }],
  createEncoder(codec: string): VideoEncoder {
    checkCodec(codec);
    return new ScreenVideoEncoder();
  },
  createDecoder(codec: string): VideoDecoder {
    checkCodec(codec);
    return new ScreenVideoDecoder();
  },
  // The worker pool is unref'd and needs no shutdown; exit stops it anyway so a
  // server that unloads its plugins leaves no threads behind.
  exit: () => shutdownPool(),
};

export default plugin;

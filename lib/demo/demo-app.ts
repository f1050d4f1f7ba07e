import type { RtmpServer } from '../app/server';
import { LiveRegistry } from '../media/registry';
import { RenderedStream } from '../media/rendered-stream';
import type { PluginRegistry } from '../plugins/registry';
import type { Connection } from '../session/connection';
import type { CallHandler, ConnectHandler, StreamHandler } from '../session/handlers';
import { DemoScene } from './scene';

export interface CameraPosition {
  x: number;
  y: number;
}

export interface DemoOptions {
  /** Encoders for the rendered scene; without them `scene` is not offered. */
  plugins?: PluginRegistry;
  width?: number;
  height?: number;
  /** Frames per second of the rendered scene. */
  rate?: number;
}

const CAMERA = 'demo.camera';
const APP = 'demo';

/** The camera position of a demo connection; the rendered scene follows it. */
export function cameraOf(connection: Connection): CameraPosition {
  let camera = connection.properties.get(CAMERA) as CameraPosition | undefined;
  if (camera === undefined) {
    camera = { x: 0, y: 0 };
    connection.properties.set(CAMERA, camera);
  }
  return camera;
}

const echo: CallHandler = (call) => [...call.args];

/**
 * `moveCamera(dx, dy)` answers `{ x, y, sceneTime }`: the camera, and the clock of the
 * connection's rendered scene at the move, in the timestamps its player gets (null while it
 * plays none). Every frame stamped later shows the move, so a client can time a call to the
 * first frame showing it.
 */
function moveCameraWith(sceneTime: (connection: Connection) => number | null): CallHandler {
  return (call) => {
    const [dx, dy] = call.args;
    if (typeof dx !== 'number' || typeof dy !== 'number' || !Number.isFinite(dx) || !Number.isFinite(dy)) {
      throw new Error('moveCamera(dx, dy) takes two finite numbers');
    }
    const camera = cameraOf(call.connection);
    camera.x += dx;
    camera.y += dy;
    return { x: camera.x, y: camera.y, sceneTime: sceneTime(call.connection) };
  };
}

/** `scene` is Screen Video; `scene.h264` or `scene?codec=h264` asks for another loaded codec. */
export function codecOfSceneName(name: string): { codec: string; scene: boolean } {
  const [base, query] = name.split('?');
  const fromQuery = new URLSearchParams(query ?? '').get('codec');
  const [stem, suffix] = (base ?? '').split('.');
  return { scene: stem === 'scene', codec: fromQuery ?? suffix ?? 'screen-video' };
}

/**
 * The built-in `demo` application: `echo(...args)` answers its arguments as one
 * array, `moveCamera(dx, dy)` moves this connection's camera and answers {x, y}, and
 * playing `scene` shows a server-rendered turning cube that follows the camera,
 * encoded once for all of the connection's players of that codec.
 */
export function installDemo(server: RtmpServer, options: DemoOptions = {}): LiveRegistry {
  const registry = new LiveRegistry({ gopCache: true });
  const rendered = new Map<Connection, Map<string, RenderedStream>>();
  const scene = new DemoScene(options.width ?? 640, options.height ?? 360);

  const renderedFor = (connection: Connection, codec: string): string => {
    const key = `scene~${connection.id}~${codec}`;
    let streams = rendered.get(connection);
    if (streams === undefined) rendered.set(connection, (streams = new Map()));
    if (!streams.has(key)) {
      const plugins = options.plugins!;
      const codecId = plugins.list().flatMap((p) => p.codecs).find((c) => c.name === codec)?.flvCodecId ?? 0;
      const camera = cameraOf(connection);
      streams.set(
        key,
        new RenderedStream(registry.openSource(APP, key), {
          encoder: plugins.createEncoder(codec),
          codecId,
          rate: options.rate ?? 30,
          render: ({ time }) => scene.render(time, { cameraX: camera.x, cameraY: camera.y }),
        }),
      );
    }
    return key;
  };

  // On the timeline of the connection's player: its timestamps start at 0 with its first frame.
  const sceneTime = (connection: Connection): number | null => {
    for (const [key, stream] of rendered.get(connection) ?? []) {
      for (const player of registry.get(APP, key)?.players ?? []) if (player.stream.connection === connection) return player.playerTime(stream.time);
    }
    return null;
  };
  const moveCamera = moveCameraWith(sceneTime);
  const connect: ConnectHandler = {
    connect(connection, request) {
      if (request.properties.app !== APP) return undefined;
      connection.onCall('echo', echo).onCall('moveCamera', moveCamera);
      cameraOf(connection);
      return true;
    },
    disconnect(connection) {
      for (const stream of rendered.get(connection)?.values() ?? []) void stream.close();
      rendered.delete(connection);
    },
  };

  const ours = (app: string | undefined): boolean => app === APP;
  const streams: StreamHandler = {
    play(stream, request) {
      if (!ours(stream.connection.app)) return undefined;
      const { scene: isScene, codec } = codecOfSceneName(request.streamName);
      if (!isScene) return undefined;
      if (!options.plugins?.has(codec)) {
        return { reject: `no ${codec} encoder is loaded (have: ${options.plugins?.codecs().join(', ') || 'none'})`, code: 'NetStream.Play.StreamNotFound' };
      }
      registry.play(APP, renderedFor(stream.connection, codec), stream);
      return true;
    },
    playing: (stream) => ours(stream.connection.app) && registry.startPlaying(stream),
    stop: (stream) => ours(stream.connection.app) && registry.stop(stream),
    pause: (stream) => ours(stream.connection.app) && registry.setPaused(stream, true),
    resume: (stream) => ours(stream.connection.app) && registry.setPaused(stream, false),
  };

  server.onConnect(connect);
  server.onStream(streams);
  return registry;
}

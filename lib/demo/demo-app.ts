import type { RtmpServer } from '../app/server';
import type { Connection } from '../session/connection';
import type { CallHandler, ConnectHandler } from '../session/handlers';

export interface CameraPosition {
  x: number;
  y: number;
}

const CAMERA = 'demo.camera';

/** The camera position of a demo connection; the rendered scene (a later part) reads it. */
export function cameraOf(connection: Connection): CameraPosition {
  let camera = connection.properties.get(CAMERA) as CameraPosition | undefined;
  if (camera === undefined) {
    camera = { x: 0, y: 0 };
    connection.properties.set(CAMERA, camera);
  }
  return camera;
}

const echo: CallHandler = (call) => [...call.args];

const moveCamera: CallHandler = (call) => {
  const [dx, dy] = call.args;
  if (typeof dx !== 'number' || typeof dy !== 'number' || !Number.isFinite(dx) || !Number.isFinite(dy)) {
    throw new Error('moveCamera(dx, dy) takes two finite numbers');
  }
  const camera = cameraOf(call.connection);
  camera.x += dx;
  camera.y += dy;
  return { x: camera.x, y: camera.y };
};

/**
 * The built-in `demo` application: accepts connections to the app `demo` and answers
 * `echo(...args)` with its arguments as one array and `moveCamera(dx, dy)` with the
 * new camera position. Unknown procedures get `_error` from the session.
 */
export const demoApp: ConnectHandler = {
  connect(connection, request) {
    if (request.properties.app !== 'demo') return undefined;
    connection.onCall('echo', echo).onCall('moveCamera', moveCamera);
    cameraOf(connection);
    return true;
  },
};

export function installDemo(server: RtmpServer): void {
  server.onConnect(demoApp);
}

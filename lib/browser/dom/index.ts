/**
 * rxrtmp in the browser: the same client as in Node, over WebSocket
 * (`RtmpClient.connect('ws://host:port/rtmp/app')`), and video drawn on a canvas.
 * Built by esbuild into `/assets/rxrtmp.js` (global `rxrtmp`).
 */
export { RtmpClient } from '../../client/client';
export { ClientCallError, ClientClosedError, ClientTimeoutError, StreamStatusError } from '../../client/errors';
export { ScreenVideoDecoder } from '../../../plugins/screen-video/decoder';
export { CanvasVideo } from './canvas-video';

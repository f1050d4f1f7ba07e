/** The RTMP client: connect to a server, call procedures, play and publish streams. */
export { RtmpClient, ClientOptions, ClientStatus, ClientCallHandler, CLIENT_WINDOW_ACK_SIZE } from './client';
export { ClientStream, PlayOptions, PLAY_BUFFER_MS } from './client-stream';
export { ClientCallError, ClientClosedError, ClientTimeoutError, StreamStatusError } from './errors';
export { ConnectFields, DEFAULT_FLASH_VER } from './connect-command';
export { parseRtmpUrl, RtmpTarget, DEFAULT_RTMP_PORT } from './url';

import { registerClientSpecs } from './client-specs';

// The same call, play and publish specs as over TCP, with RTMP carried over WebSocket.
registerClientSpecs('websocket');

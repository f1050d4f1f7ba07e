/** rxrtmp's public surface. */
export { createServer, RtmpServer, ServerOptions, ListenOptions } from './app/server';
export { Connection, ConnectionStats } from './session/connection';
export { NetStream, NetStreamState } from './session/net-stream';
export { CallError } from './session/calls';
export type {
  CallEvent,
  CallHandler,
  ConnectHandler,
  ConnectRequest,
  Decision,
  PlayRequest,
  PublishRequest,
  StreamHandler,
} from './session/handlers';
export { connectionMachine, ConnectionStateName } from './session/machine';
export { SessionOptions, defaultSessionOptions, Logger, consoleLogger, jsonLogger, silentLogger } from './session/options';
export { acceptHandshake, initiateHandshake } from './pipeline/handshake';
export { demuxChunks } from './pipeline/demux';
export { dispatchCommands } from './pipeline/dispatch';
export { fromTransport } from './pipeline/transport';
export { MessageWriter } from './pipeline/writer';
export * from './pipeline/kinds';
export * as protocol from './protocol';
export * from './client';
export { acceptRtmpOverWebSocket, RtmpWebSocketAcceptor, RtmpWebSocketOptions } from './app/websocket';
export { WebSocketDuplex, WebSocketLike } from './pipeline/websocket-duplex';
export { installLive, LiveAppOptions } from './media/live-app';
export { LiveRegistry, LiveOptions, defaultLiveOptions } from './media/registry';
export { RenderedStream, RenderedStreamOptions, RenderContext, RenderStats } from './media/rendered-stream';
export { encodeWith, TimedFrame, EncodedPacket } from './pipeline/encode';
export { PluginRegistry, PluginError } from './plugins/registry';
export { VIDEO_PLUGIN_TYPE, VIDEO_PLUGIN_API_VERSION, Frame, PixelFormat, VideoEncoder, VideoDecoder, VideoPlugin, EncodedVideo, CodecDescription } from './plugins/contract';
export { installDemo, DemoOptions } from './demo/demo-app';
export { Authorizer, AuthorizationRequest, Authorization, StreamAction, authorizeStreams, withoutQuery } from './auth/authorizer';
export { TokenAuthorizer, TokenOptions, TokenClaims, signToken } from './auth/tokens';
export { HttpHookAuthorizer, HttpHookOptions } from './auth/http-hooks';

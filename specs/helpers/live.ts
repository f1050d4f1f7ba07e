import { createServer, RtmpClient, RtmpServer, silentLogger } from '../../lib';
import type { ServerOptions } from '../../lib/app/server';
import type { ClientStream } from '../../lib/client';
import { installLive, LiveAppOptions } from '../../lib/media/live-app';
import { LiveRegistry } from '../../lib/media/registry';
import { MessageType, RtmpMessage } from '../../lib/protocol/message';
import { chunkBytes, decodeInPieces } from './fixtures';

/** The recorded ffmpeg publish session: @setDataFrame, AVC + AAC sequence headers, 120 H.264 frames (key every 30), 174 AAC frames. */
export const recordedMedia: RtmpMessage[] = decodeInPieces(chunkBytes('ffmpeg-publish-h264-aac.c2s')).filter(
  (m) => m.typeId === MessageType.Audio || m.typeId === MessageType.Video || m.typeId === MessageType.DataAmf0,
);

export const isKeyFrame = (m: RtmpMessage): boolean => m.typeId === MessageType.Video && m.payload[0] === 0x17 && m.payload[1] === 1;
export const isVideoHeader = (m: RtmpMessage): boolean => m.typeId === MessageType.Video && m.payload[0] === 0x17 && m.payload[1] === 0;
export const isFrame = (m: RtmpMessage): boolean => m.typeId === MessageType.Video && m.payload[1] === 1;

export async function liveServer(options: LiveAppOptions = {}, serverOptions: ServerOptions = {}): Promise<{ server: RtmpServer; registry: LiveRegistry; url: string; port: number }> {
  const server = createServer({ logger: silentLogger, ...serverOptions });
  const registry = installLive(server, options);
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, registry, url: `rtmp://127.0.0.1:${port}/live`, port };
}

/** Sends recorded messages [from, to) through a publishing stream, as fast as the socket takes them. */
export function sendRecorded(stream: ClientStream, from = 0, to = recordedMedia.length, timeOffset = 0): void {
  for (const message of recordedMedia.slice(from, to)) {
    stream.sendMedia({ typeId: message.typeId, timestamp: message.timestamp + timeOffset, payload: message.payload });
  }
}

export async function publisher(url: string, name: string, type: 'live' | 'record' | 'append' = 'live'): Promise<{ client: RtmpClient; stream: ClientStream }> {
  const client = await RtmpClient.connect(url);
  const stream = await client.createStream();
  await stream.publish(name, type);
  return { client, stream };
}

/** A player of ours collecting what it receives. */
export async function player(url: string, name: string): Promise<{ client: RtmpClient; stream: ClientStream; received: RtmpMessage[] }> {
  const client = await RtmpClient.connect(url);
  const stream = await client.createStream();
  const received: RtmpMessage[] = [];
  stream.media$.subscribe((m) => received.push({ ...m, payload: Buffer.from(m.payload) }));
  await stream.play(name);
  return { client, stream, received };
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function until(condition: () => boolean, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout} ms`);
    await delay(10);
  }
}

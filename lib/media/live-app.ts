import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RtmpServer } from '../app/server';
import type { Logger } from '../session/options';
import type { NetStream } from '../session/net-stream';
import type { ConnectHandler, StreamHandler } from '../session/handlers';
import { FlvRecorder } from './recorder';
import { LiveOptions, LiveRegistry, streamNameOf } from './registry';

export interface LiveAppOptions extends Partial<LiveOptions> {
  /** App names served as live relays. */
  apps?: string[];
  /** Where `record` / `append` publishes (and auto-recorded apps) write FLV files. */
  recordDir?: string;
  /** Apps whose every publish is recorded, whatever its publish type. */
  autoRecord?: string[];
  logger?: Logger;
}

/** Recording file names keep to safe characters: a stream name is client input. */
const safeFileName = (name: string): string => name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || 'stream';

/**
 * The live relay application: accepts connections to its apps, lets clients
 * publish and play by name through the registry, and records when asked.
 */
export function installLive(server: RtmpServer, options: LiveAppOptions = {}): LiveRegistry {
  const apps = new Set(options.apps ?? ['live']);
  const registry = new LiveRegistry(options);
  const recordDir = options.recordDir ?? 'recordings';
  const autoRecord = new Set(options.autoRecord ?? []);
  const publishing = new Map<NetStream, { unsubscribe(): void; recorder?: FlvRecorder }>();

  const ours = (stream: NetStream): boolean => stream.connection.app !== undefined && apps.has(stream.connection.app);

  const connect: ConnectHandler = {
    connect: (_connection, request) => (apps.has(request.properties.app) ? true : undefined),
  };

  const endPublish = (stream: NetStream): void => {
    const entry = publishing.get(stream);
    if (entry === undefined) return;
    publishing.delete(stream);
    entry.unsubscribe();
    entry.recorder?.close();
    const live = registry.get(stream.connection.app!, stream.name ?? '');
    if (live) registry.unpublish(live, stream);
  };

  const streams: StreamHandler = {
    publish(stream, request) {
      if (!ours(stream)) return undefined;
      const app = stream.connection.app!;
      const result = registry.publish(app, request.streamName, stream);
      if ('reject' in result) return { reject: result.reject, code: 'NetStream.Publish.BadName' };
      const live = result.stream;
      const entry: { unsubscribe(): void; recorder?: FlvRecorder } = { unsubscribe: () => undefined };
      const recording = request.publishType !== 'live' || autoRecord.has(app);
      // The file opens with the first packet, so that the publisher's onMetaData (sent after publish) heads it.
      const openRecorder = (): FlvRecorder => {
        mkdirSync(recordDir, { recursive: true });
        const path = join(recordDir, `${safeFileName(streamNameOf(request.streamName))}.flv`);
        options.logger?.info(`recording ${live.key} to ${path}`);
        return new FlvRecorder(path, live.metadata, { append: request.publishType === 'append' });
      };
      const subscription = stream.published$.subscribe({
        next: (message) => {
          try {
            live.ingest(message);
          } catch (error) {
            stream.connection.close(`bad media from the publisher of ${live.key}: ${error instanceof Error ? error.message : String(error)}`);
          }
        },
      });
      const taps = recording ? live.media$.subscribe((packet) => (entry.recorder ??= openRecorder()).record(packet)) : undefined;
      entry.unsubscribe = () => {
        subscription.unsubscribe();
        taps?.unsubscribe();
      };
      publishing.set(stream, entry);
      return true;
    },
    unpublish: (stream) => endPublish(stream),
    play(stream, request) {
      if (!ours(stream)) return undefined;
      registry.play(stream.connection.app!, request.streamName, stream);
      return true;
    },
    playing: (stream) => registry.startPlaying(stream),
    stop: (stream) => registry.stop(stream),
    pause: (stream) => registry.setPaused(stream, true),
    resume: (stream) => registry.setPaused(stream, false),
    seek: (stream) => registry.playerOf(stream)?.live.startPlayer(registry.playerOf(stream)!.player),
  };

  server.onConnect(connect);
  server.onStream(streams);
  return registry;
}

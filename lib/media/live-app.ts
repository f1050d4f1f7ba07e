import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { parseFlv } from '../protocol/flv';
import { FlvFilePlayer } from './file-player';
import { resolve, sep } from 'node:path';
import type { RtmpServer } from '../app/server';
import type { Logger } from '../session/options';
import type { NetStream } from '../session/net-stream';
import type { ConnectHandler, Decision, PlayRequest, PublishRequest, StreamHandler } from '../session/handlers';
import { FlvRecorder } from './recorder';
import { LiveOptions, LiveRegistry, streamNameOf } from './registry';
import type { LiveStream } from './live-stream';

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
 * The recording of a stream name, and never a path outside `root`. Names are checked by the
 * session before they get here and flattened above; this is the last line, whatever a
 * custom `namePattern` lets through.
 */
export function recordingPath(root: string, streamName: string): string {
  const base = resolve(root);
  const path = resolve(base, `${safeFileName(streamNameOf(streamName))}.flv`);
  if (!path.startsWith(base + sep)) throw new Error(`the recording of ${JSON.stringify(streamName)} would leave ${base}`);
  return path;
}

/**
 * The live relay application: accepts connections to its apps, lets clients
 * publish and play by name through the registry, and records when asked.
 */
export function installLive(server: RtmpServer, options: LiveAppOptions = {}): LiveRegistry {
  const apps = new Set(options.apps ?? ['live']);
  const registry = new LiveRegistry(options);
  const recordDir = options.recordDir ?? 'recordings';
  const autoRecord = new Set(options.autoRecord ?? []);
  const publishing = new Map<NetStream, { live: LiveStream; unsubscribe(): void; recorder?: FlvRecorder }>();
  const files = new Map<NetStream, FlvFilePlayer>();

  const ours = (stream: NetStream): boolean => stream.connection.app !== undefined && apps.has(stream.connection.app);

  const connect: ConnectHandler = {
    connect: (_connection, request) => (apps.has(request.properties.app) ? true : undefined),
  };

  const endPublish = (stream: NetStream): void => {
    const entry = publishing.get(stream);
    if (entry === undefined) return;
    publishing.delete(stream);
    stream.readPacing = undefined;
    entry.unsubscribe();
    entry.recorder?.close();
    registry.unpublish(entry.live, stream);
  };

  const streams: StreamHandler = {
    publish(stream, request) {
      if (!ours(stream)) return undefined;
      const federation = registry.federation;
      if (federation === undefined) return startPublish(stream, request);
      return federation.admitPublish(stream.connection.app!, streamNameOf(request.streamName)).then((refusal) => refusal ?? startPublish(stream, request));
    },
    unpublish: (stream) => endPublish(stream),
    play(stream, request) {
      if (!ours(stream)) return undefined;
      const federation = registry.federation;
      const app = stream.connection.app!;
      const live = registry.get(app, request.streamName);
      if (federation === undefined || live?.state === 'live' || request.start >= 0) return startPlay(stream, request);
      // Not live here: the cluster may know where it is, and start fetching it before the player joins.
      return federation.admitPlay(app, streamNameOf(request.streamName)).then((refusal) => refusal ?? startPlay(stream, request));
    },
    playing: (stream) => (files.has(stream) ? files.get(stream)!.start() : registry.startPlaying(stream)),
    stop: (stream) => {
      files.get(stream)?.stop();
      files.delete(stream);
      registry.stop(stream);
    },
    pause: (stream) => (files.has(stream) ? files.get(stream)!.pause() : registry.setPaused(stream, true)),
    resume: (stream) => (files.has(stream) ? files.get(stream)!.resume() : registry.setPaused(stream, false)),
    seek: (stream, ms) => {
      if (files.has(stream)) return files.get(stream)!.seek(ms);
      const entry = registry.playerOf(stream);
      entry?.live.startPlayer(entry.player);
    },
  };

  function startPublish(stream: NetStream, request: PublishRequest): Decision {
    const app = stream.connection.app!;
    const result = registry.publish(app, request.streamName, stream);
    if ('reject' in result) return { reject: result.reject, code: 'NetStream.Publish.BadName' };
    const live = result.stream;
    // While the stream batches, its publisher is read once per tick of it.
    stream.readPacing = live.batch;
    const entry: { live: LiveStream; unsubscribe(): void; recorder?: FlvRecorder } = { live, unsubscribe: () => undefined };
    const recording = request.publishType !== 'live' || autoRecord.has(app);
    // The file opens with the first packet, so that the publisher's onMetaData (sent after publish) heads it.
    const openRecorder = (): FlvRecorder => {
      mkdirSync(recordDir, { recursive: true });
      const path = recordingPath(recordDir, request.streamName);
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
  }

  function startPlay(stream: NetStream, request: PlayRequest): Decision {
    const app = stream.connection.app!;
    const live = registry.get(app, request.streamName);
    // A stream in its failover grace counts as ended for a new player choosing between live and recorded.
    const isLive = live !== undefined && live.state === 'live';
    const path = recordingPath(recordDir, request.streamName);
    // start -1 (ffmpeg: -1000): live only; -2 (ffmpeg: -2000): live if it is on, else the recording; >= 0: the recording.
    const mode = request.start >= 0 ? 'recorded' : request.start === -1 || request.start === -1000 ? 'live' : 'any';
    const hasFile = mode !== 'live' && existsSync(path);
    if (mode === 'live' || (mode === 'any' && (isLive || !hasFile))) {
      registry.play(app, request.streamName, stream);
      return true;
    }
    if (!hasFile) return { reject: `${request.streamName} has no recording`, code: 'NetStream.Play.StreamNotFound' };
    let file;
    try {
      file = parseFlv(readFileSync(path));
    } catch (error) {
      return { reject: `${request.streamName}: the recording cannot be read (${error instanceof Error ? error.message : String(error)})`, code: 'NetStream.Play.Failed' };
    }
    files.set(
      stream,
      new FlvFilePlayer(stream, file, {
        start: Math.max(0, request.start),
        duration: request.duration,
        onEnd: () => stream.connection.stopPlaying(stream, `${request.streamName} played to the end.`),
      }),
    );
    return true;
  }

  server.onConnect(connect);
  server.onStream(streams);
  return registry;
}

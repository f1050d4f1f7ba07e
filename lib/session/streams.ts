import { baseName, NameRules, nameProblem } from './names';
import { AmfValue } from '../protocol/amf/values';
import { MessageType, RtmpMessage } from '../protocol/message';
import { NetCommand } from '../protocol/net-commands';
import type { Connection } from './connection';
import { decide } from './decide';
import type { StreamHandler } from './handlers';
import { NetStream, StreamOutput } from './net-stream';

/** What the stream controller needs from its connection. */
export interface StreamHost {
  readonly connection: Connection;
  readonly output: StreamOutput;
  handlers(): readonly StreamHandler[];
  reply(transactionId: number, result: 'ok' | 'error', value: AmfValue, description?: string): void;
  /** Tells the connection actor a stream became active or inactive. */
  activity(active: boolean): void;
  /** Tells the connection actor a stream was created or deleted. */
  lifecycle(created: boolean): void;
  maxStreams: number;
  maxPublishes: number;
  names: NameRules;
  warn(message: string): void;
}

type StreamCommand = Extract<
  NetCommand,
  { kind: 'play' | 'play2' | 'publish' | 'pause' | 'seek' | 'receiveAudio' | 'receiveVideo' | 'closeStream' }
>;

/** Creates, runs and deletes the NetStreams of one connection, asking the stream handlers at each step. */
export class StreamController {
  readonly streams = new Map<number, NetStream>();
  private nextId = 1;

  constructor(private readonly host: StreamHost) {}

  /** Tells every handler; one that throws is logged and does not stop the others (or the teardown). */
  private each(call: (handler: StreamHandler) => void): void {
    for (const handler of this.host.handlers()) {
      try {
        call(handler);
      } catch (error) {
        this.host.warn(`a stream handler threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  async create(transactionId: number): Promise<void> {
    if (this.streams.size >= this.host.maxStreams) {
      return this.host.reply(transactionId, 'error', null, `at most ${this.host.maxStreams} streams per connection`);
    }
    const verdict = await decide(this.host.handlers(), (h) => h.createStream?.(this.host.connection), { accepted: true });
    if (!verdict.accepted) return this.host.reply(transactionId, 'error', null, verdict.description);
    const id = this.nextId++;
    this.streams.set(id, new NetStream(id, this.host.connection, this.host.output));
    this.host.lifecycle(true);
    this.host.reply(transactionId, 'ok', id);
  }

  delete(id: number): void {
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    this.stopActivity(stream);
    stream.state = 'closed';
    this.streams.delete(id);
    this.host.lifecycle(false);
    this.each((h) => h.deleteStream?.(stream));
  }

  /** The connection ended: every stream stops and is deleted. */
  deleteAll(): void {
    for (const id of [...this.streams.keys()]) this.delete(id);
  }

  /** Media and data the client sends on a stream go to that stream's subscribers only. */
  receive(message: RtmpMessage): void {
    this.streams.get(message.streamId)?.receive(message);
  }

  async handle(streamId: number, command: StreamCommand): Promise<void> {
    const stream = this.streams.get(streamId);
    if (stream === undefined) return;
    switch (command.kind) {
      case 'play': {
        const { streamName, start, duration, reset } = command;
        return this.play(stream, { streamName, start, duration, reset });
      }
      case 'play2':
        return this.play(stream, {
          streamName: String(command.parameters.streamName ?? ''),
          start: typeof command.parameters.start === 'number' ? command.parameters.start : -2,
          duration: typeof command.parameters.len === 'number' ? command.parameters.len : -1,
          reset: true,
        });
      case 'publish':
        return this.publish(stream, command.streamName, command.publishType);
      case 'pause':
        return this.pause(stream, command.pause, command.milliseconds);
      case 'seek':
        // Notify first: players flush their buffers on it, so media from the new position must follow it.
        stream.sendStatus('NetStream.Seek.Notify', `Seeking ${command.milliseconds} (stream ID: ${stream.id}).`, 'status');
        this.each((h) => h.seek?.(stream, command.milliseconds));
        return;
      case 'receiveAudio':
        stream.receiveAudio = command.enabled;
        return;
      case 'receiveVideo':
        stream.receiveVideo = command.enabled;
        return;
      case 'closeStream':
        return this.stopActivity(stream);
    }
  }

  private async play(stream: NetStream, request: { streamName: string; start: number; duration: number; reset: boolean }): Promise<void> {
    // A new play on a playing stream replaces the old one.
    this.stopActivity(stream);
    const problem = nameProblem('stream', request.streamName, this.host.names);
    if (problem) {
      this.host.warn(`play refused: ${problem}`);
      return stream.sendStatus('NetStream.Play.Failed', `Refused: ${problem}.`, 'error');
    }
    const verdict = await decide(this.host.handlers(), (h) => h.play?.(stream, request), {
      accepted: false,
      code: 'NetStream.Play.StreamNotFound',
      description: `Stream ${baseName(request.streamName)} not found.`,
    });
    if (stream.state === 'closed') {
      // Deleted, or its connection closed, while the handlers decided: what they took for it is let go.
      if (verdict.accepted) this.each((h) => h.stop?.(stream));
      return;
    }
    if (!verdict.accepted) {
      return stream.sendStatus(verdict.code ?? 'NetStream.Play.Failed', verdict.description, 'error');
    }
    stream.name = request.streamName;
    stream.state = 'playing';
    stream.sendStreamBegin();
    if (request.reset) stream.sendStatus('NetStream.Play.Reset', `Playing and resetting ${baseName(request.streamName)}.`);
    stream.sendStatus('NetStream.Play.Start', `Started playing ${baseName(request.streamName)}.`);
    stream.sendData('|RtmpSampleAccess', [true, true]);
    this.host.activity(true);
    this.each((h) => h.playing?.(stream));
  }

  private async publish(stream: NetStream, streamName: string, publishType: 'live' | 'record' | 'append'): Promise<void> {
    this.stopActivity(stream);
    const problem = nameProblem('stream', streamName, this.host.names);
    if (problem) {
      this.host.warn(`publish refused: ${problem}`);
      return stream.sendStatus('NetStream.Publish.BadName', `Refused: ${problem}.`, 'error');
    }
    const publishing = [...this.streams.values()].filter((s) => s.state === 'publishing').length;
    if (publishing >= this.host.maxPublishes) {
      this.host.warn(`publish refused: ${publishing} streams published already (at most ${this.host.maxPublishes})`);
      return stream.sendStatus('NetStream.Publish.Denied', `At most ${this.host.maxPublishes} streams published per connection.`, 'error');
    }
    // One request for every handler: an authorizer's rename (a hook's redirect) reaches the rest.
    const request = { streamName, publishType };
    const verdict = await decide(this.host.handlers(), (h) => h.publish?.(stream, request), {
      accepted: false,
      code: 'NetStream.Publish.Denied',
      description: `Publishing ${baseName(streamName)} is not allowed here.`,
    });
    if (stream.state === 'closed') {
      if (verdict.accepted) this.each((h) => h.unpublish?.(stream));
      return;
    }
    if (!verdict.accepted) {
      return stream.sendStatus(verdict.code ?? 'NetStream.Publish.Denied', verdict.description, 'error');
    }
    stream.beginPublishing(request.streamName);
    stream.sendStatus('NetStream.Publish.Start', `${baseName(request.streamName)} is now published.`);
    this.host.activity(true);
  }

  private pause(stream: NetStream, pause: boolean, milliseconds: number): void {
    if (stream.state !== 'playing' && stream.state !== 'paused') {
      return stream.sendStatus('NetStream.Failed', 'pause needs a playing stream', 'error');
    }
    if (pause && stream.state === 'playing') {
      stream.state = 'paused';
      this.each((h) => h.pause?.(stream, milliseconds));
      stream.sendStreamEof();
    } else if (!pause && stream.state === 'paused') {
      stream.state = 'playing';
      this.each((h) => h.resume?.(stream, milliseconds));
      stream.sendStreamBegin();
    }
    // Pausing a paused stream (or resuming a playing one) changes nothing and is confirmed all the same.
    if (pause) stream.sendStatus('NetStream.Pause.Notify', `Pausing ${stream.name ?? ''}.`);
    else stream.sendStatus('NetStream.Unpause.Notify', `Unpausing ${stream.name ?? ''}.`);
  }

  /** Ends whatever the stream was doing, telling the handlers. */
  private stopActivity(stream: NetStream): void {
    if (stream.state === 'playing' || stream.state === 'paused') {
      stream.state = 'idle';
      this.each((h) => h.stop?.(stream));
      this.host.activity(false);
    } else if (stream.state === 'publishing') {
      stream.endPublishing();
      stream.sendStatus('NetStream.Unpublish.Success', `${stream.name ?? ''} is now unpublished.`);
      this.each((h) => h.unpublish?.(stream));
      this.host.activity(false);
    }
  }

  /** Stops a playing stream from the server side: Play.Stop, then Stream EOF. */
  stopPlaying(stream: NetStream, description = 'Stopped playing.'): void {
    if (stream.state !== 'playing' && stream.state !== 'paused') return;
    stream.sendStatus('NetStream.Play.Stop', description);
    stream.sendStreamEof();
    this.stopActivity(stream);
  }
}

export const isMediaOrData = (typeId: number): boolean =>
  typeId === MessageType.Audio ||
  typeId === MessageType.Video ||
  typeId === MessageType.Aggregate ||
  typeId === MessageType.DataAmf0 ||
  typeId === MessageType.DataAmf3;

import { ProtocolError } from './errors';
import { AmfObject, AmfValue, isEcmaArray, isPlainObject } from './amf/values';
import { Command, ObjectEncoding } from './commands';

/** The connect command object, with the fields every client sends given types. */
export interface ConnectProperties {
  app: string;
  tcUrl?: string;
  flashVer?: string;
  swfUrl?: string;
  pageUrl?: string;
  fpad?: boolean;
  audioCodecs?: number;
  videoCodecs?: number;
  videoFunction?: number;
  objectEncoding: ObjectEncoding;
  /** Enhanced RTMP v1: the FourCC codecs the client supports. */
  fourCcList?: string[];
  /** Every property as sent, including ones not listed above. */
  raw: AmfObject;
}

export type PublishType = 'live' | 'record' | 'append';

export interface StatusInfo extends AmfObject {
  level: 'status' | 'error' | 'warning';
  code: string;
  description: string;
}

/**
 * The NetConnection and NetStream commands, typed. Anything else with a transaction
 * id is a remote procedure call (`call`).
 */
export type NetCommand =
  | { kind: 'connect'; transactionId: number; properties: ConnectProperties; args: AmfValue[] }
  | { kind: 'call'; procedure: string; transactionId: number; commandObject: AmfValue; args: AmfValue[] }
  | { kind: 'close' }
  | { kind: 'createStream'; transactionId: number }
  | { kind: 'result'; transactionId: number; commandObject: AmfValue; args: AmfValue[] }
  | { kind: 'error'; transactionId: number; commandObject: AmfValue; args: AmfValue[] }
  | { kind: 'onStatus'; info: StatusInfo }
  | { kind: 'deleteStream'; transactionId: number; streamId: number | undefined; streamName?: string }
  | { kind: 'closeStream' }
  | { kind: 'play'; streamName: string; start: number; duration: number; reset: boolean }
  | { kind: 'play2'; parameters: AmfObject }
  | { kind: 'publish'; streamName: string; publishType: PublishType }
  | { kind: 'seek'; milliseconds: number }
  | { kind: 'pause'; pause: boolean; milliseconds: number }
  | { kind: 'receiveAudio'; enabled: boolean }
  | { kind: 'receiveVideo'; enabled: boolean }
  | { kind: 'releaseStream' | 'FCPublish' | 'FCUnpublish' | 'FCSubscribe' | 'getStreamLength'; transactionId: number; streamName: string }
  | { kind: 'checkBandwidth'; transactionId: number };

function fail(command: string, why: string): never {
  throw new ProtocolError('ERR_COMMAND', `${command}: ${why}`);
}

function stringArg(command: Command, index: number, what: string): string {
  const value = command.args[index];
  if (typeof value !== 'string') fail(command.name, `${what} must be a string`);
  return value;
}

function numberArg(command: Command, index: number, fallback: number): number {
  const value = command.args[index];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) fail(command.name, `argument ${index + 1} must be a number`);
  return value;
}

function booleanArg(command: Command, index: number, fallback: boolean): boolean {
  const value = command.args[index];
  if (value === undefined || value === null) return fallback;
  // librtmp sends pause's flag as a boolean, some players as 0/1.
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  fail(command.name, `argument ${index + 1} must be a boolean`);
}

function optional<T extends AmfValue>(value: AmfValue, type: 'string' | 'number' | 'boolean'): T | undefined {
  return typeof value === type ? (value as T) : undefined;
}

function connectProperties(command: Command): ConnectProperties {
  const raw = command.commandObject;
  if (!isPlainObject(raw) && !isEcmaArray(raw)) fail('connect', 'the command object must be an object');
  if (typeof raw.app !== 'string') fail('connect', 'the command object has no app name');
  const encoding = raw.objectEncoding ?? 0;
  if (encoding !== 0 && encoding !== 3) fail('connect', `objectEncoding ${String(encoding)} is neither 0 nor 3`);
  const fourCcList = Array.isArray(raw.fourCcList) ? raw.fourCcList.filter((c): c is string => typeof c === 'string') : undefined;
  return {
    app: raw.app,
    tcUrl: optional(raw.tcUrl, 'string'),
    flashVer: optional(raw.flashVer, 'string'),
    swfUrl: optional(raw.swfUrl, 'string'),
    pageUrl: optional(raw.pageUrl, 'string'),
    fpad: optional(raw.fpad, 'boolean'),
    audioCodecs: optional(raw.audioCodecs, 'number'),
    videoCodecs: optional(raw.videoCodecs, 'number'),
    videoFunction: optional(raw.videoFunction, 'number'),
    objectEncoding: encoding,
    fourCcList,
    raw,
  };
}

function publishType(command: Command): PublishType {
  const value = command.args[1] ?? 'live';
  if (value !== 'live' && value !== 'record' && value !== 'append') fail('publish', `publish type ${String(value)} is not live, record or append`);
  return value;
}

function statusInfo(value: AmfValue): StatusInfo {
  if (!isPlainObject(value) || typeof value.code !== 'string') fail('onStatus', 'the info object has no code');
  const level = value.level === 'error' || value.level === 'warning' ? value.level : 'status';
  return { ...value, level, code: value.code, description: typeof value.description === 'string' ? value.description : '' };
}

/** Gives a command its typed form; throws ERR_COMMAND when its arguments do not fit. */
export function parseNetCommand(command: Command): NetCommand {
  const { transactionId } = command;
  switch (command.name) {
    case 'connect':
      return { kind: 'connect', transactionId, properties: connectProperties(command), args: command.args };
    case 'close':
      return { kind: 'close' };
    case 'createStream':
      return { kind: 'createStream', transactionId };
    case '_result':
    case '_error':
      return { kind: command.name === '_result' ? 'result' : 'error', transactionId, commandObject: command.commandObject, args: command.args };
    case 'onStatus':
      return { kind: 'onStatus', info: statusInfo(command.args[0] ?? command.commandObject) };
    case 'deleteStream': {
      // GStreamer's rtmp2sink (1.22) sends the stream's name here instead of its id.
      const target = command.args[0];
      if (typeof target === 'string') return { kind: 'deleteStream', transactionId, streamId: undefined, streamName: target };
      return { kind: 'deleteStream', transactionId, streamId: typeof target === 'number' ? target : undefined };
    }
    case 'closeStream':
      return { kind: 'closeStream' };
    case 'play':
      return {
        kind: 'play',
        streamName: stringArg(command, 0, 'the stream name'),
        start: numberArg(command, 1, -2),
        duration: numberArg(command, 2, -1),
        reset: booleanArg(command, 3, true),
      };
    case 'play2': {
      const parameters = command.args[0];
      if (!isPlainObject(parameters)) fail('play2', 'the parameters must be an object');
      return { kind: 'play2', parameters };
    }
    case 'publish':
      return { kind: 'publish', streamName: stringArg(command, 0, 'the stream name'), publishType: publishType(command) };
    case 'seek':
      return { kind: 'seek', milliseconds: numberArg(command, 0, 0) };
    case 'pause':
      return { kind: 'pause', pause: booleanArg(command, 0, true), milliseconds: numberArg(command, 1, 0) };
    case 'receiveAudio':
    case 'receiveVideo':
      return { kind: command.name, enabled: booleanArg(command, 0, true) };
    case 'releaseStream':
    case 'FCPublish':
    case 'FCUnpublish':
    case 'FCSubscribe':
    case 'getStreamLength':
      return { kind: command.name, transactionId, streamName: stringArg(command, 0, 'the stream name') };
    case '_checkbw':
      return { kind: 'checkBandwidth', transactionId };
    default:
      return { kind: 'call', procedure: command.name, transactionId, commandObject: command.commandObject, args: command.args };
  }
}

/** The wire form of a typed command, for the client side and for tests. */
export function toCommand(net: NetCommand): Command {
  const command = (name: string, transactionId: number, args: AmfValue[], commandObject: AmfValue = null): Command => ({
    name,
    transactionId,
    commandObject,
    args,
  });
  switch (net.kind) {
    case 'connect':
      return command('connect', net.transactionId, net.args, net.properties.raw);
    case 'call':
      return command(net.procedure, net.transactionId, net.args, net.commandObject);
    case 'close':
      return command('close', 0, []);
    case 'createStream':
      return command('createStream', net.transactionId, []);
    case 'result':
      return command('_result', net.transactionId, net.args, net.commandObject);
    case 'error':
      return command('_error', net.transactionId, net.args, net.commandObject);
    case 'onStatus':
      return command('onStatus', 0, [net.info]);
    case 'deleteStream':
      return command('deleteStream', net.transactionId, [net.streamId ?? net.streamName ?? null]);
    case 'closeStream':
      return command('closeStream', 0, []);
    case 'play':
      return command('play', 0, [net.streamName, net.start, net.duration, net.reset]);
    case 'play2':
      return command('play2', 0, [net.parameters]);
    case 'publish':
      return command('publish', 0, [net.streamName, net.publishType]);
    case 'seek':
      return command('seek', 0, [net.milliseconds]);
    case 'pause':
      return command('pause', 0, [net.pause, net.milliseconds]);
    case 'receiveAudio':
    case 'receiveVideo':
      return command(net.kind, 0, [net.enabled]);
    case 'releaseStream':
    case 'FCPublish':
    case 'FCUnpublish':
    case 'FCSubscribe':
    case 'getStreamLength':
      return command(net.kind, net.transactionId, [net.streamName]);
    case 'checkBandwidth':
      return command('_checkbw', net.transactionId, []);
  }
}

/** `onStatus` info objects, as the server sends them on a stream. */
export function status(code: string, description: string, level: StatusInfo['level'] = 'status', extra: AmfObject = {}): StatusInfo {
  return { level, code, description, ...extra };
}

import { AmfObject } from '../protocol/amf/values';
import { ObjectEncoding } from '../protocol/commands';
import { RtmpTarget } from './url';

/** Connect command object fields a client may choose; app and tcUrl come from the URL. */
export type ConnectFields = Partial<{ flashVer: string; swfUrl: string; pageUrl: string; objectEncoding: ObjectEncoding; fourCcList: string[] }>;

export const DEFAULT_FLASH_VER = 'FMLE/3.0 (compatible; rxrtmp)';

/**
 * The connect command object, in the order ffmpeg writes it, with the capabilities a
 * player announces (servers use them to choose codecs; nginx and ours ignore them).
 */
export function connectCommandObject(target: RtmpTarget, fields: ConnectFields = {}): AmfObject {
  const object: AmfObject = { app: target.app, type: 'nonprivate', flashVer: fields.flashVer ?? DEFAULT_FLASH_VER, tcUrl: target.tcUrl };
  if (fields.swfUrl !== undefined) object.swfUrl = fields.swfUrl;
  Object.assign(object, { fpad: false, capabilities: 15, audioCodecs: 4071, videoCodecs: 252, videoFunction: 1 });
  if (fields.pageUrl !== undefined) object.pageUrl = fields.pageUrl;
  object.objectEncoding = fields.objectEncoding ?? 0;
  if (fields.fourCcList !== undefined) object.fourCcList = [...fields.fourCcList];
  return object;
}

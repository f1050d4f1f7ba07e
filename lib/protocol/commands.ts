import { ByteReader, ByteWriter } from './bytes';
import { ProtocolError } from './errors';
import { Amf0Marker, Amf0Reader, Amf0Writer } from './amf/amf0';
import { writeAmf3Value } from './amf/amf3';
import { AmfLimits, AmfObject, AmfValue, isPlainObject } from './amf/values';
import { MessageType } from './message';

/** A command message as on the wire: name, transaction id, command object, arguments. */
export interface Command {
  name: string;
  transactionId: number;
  commandObject: AmfValue;
  args: AmfValue[];
}

/** A data message: a handler name (`@setDataFrame`, `onMetaData`, `|RtmpSampleAccess`…) and values. */
export interface DataMessage {
  name: string;
  values: AmfValue[];
}

/** AMF0 is what every current client sends; AMF3 (`objectEncoding: 3`) is Flash's alternative. */
export type ObjectEncoding = 0 | 3;

function readValues(typeId: number, payload: Buffer, amf3Type: number, limits?: AmfLimits): AmfValue[] {
  const reader = new ByteReader(payload);
  // Types 17 and 15 open with a format byte, then AMF0 values that may switch to AMF3 one by one.
  if (typeId === amf3Type) reader.u8();
  const amf = new Amf0Reader(reader, limits);
  const values: AmfValue[] = [];
  while (!amf.done) values.push(amf.read());
  return values;
}

function writeValues(values: readonly AmfValue[], encoding: ObjectEncoding): Buffer {
  const out = new ByteWriter();
  if (encoding === 3) out.u8(0);
  const amf0 = new Amf0Writer(out);
  for (const value of values) {
    // Under AMF3, names and numbers stay AMF0 (as Flash Media Server writes them); structures switch.
    if (encoding === 3 && typeof value === 'object' && value !== null) {
      out.u8(Amf0Marker.AvmPlus);
      writeAmf3Value(out, value);
    } else {
      amf0.write(value);
    }
  }
  return out.toBuffer();
}

export function decodeCommand(typeId: number, payload: Buffer, limits?: AmfLimits): Command {
  const values = readValues(typeId, payload, MessageType.CommandAmf3, limits);
  const [name, transactionId, commandObject, ...args] = values;
  if (typeof name !== 'string') throw new ProtocolError('ERR_COMMAND', 'a command message must start with its name as a string');
  // librtmp omits the transaction id and object on some notifications; treat missing as 0 / null.
  if (transactionId !== undefined && typeof transactionId !== 'number') {
    throw new ProtocolError('ERR_COMMAND', `command ${name} has a transaction id that is not a number`);
  }
  return { name, transactionId: transactionId ?? 0, commandObject: commandObject ?? null, args };
}

export function encodeCommand(command: Command, encoding: ObjectEncoding = 0): { typeId: MessageType; payload: Buffer } {
  const values: AmfValue[] = [command.name, command.transactionId, command.commandObject, ...command.args];
  return {
    typeId: encoding === 3 ? MessageType.CommandAmf3 : MessageType.CommandAmf0,
    payload: writeValues(values, encoding),
  };
}

export function decodeData(typeId: number, payload: Buffer, limits?: AmfLimits): DataMessage {
  const [name, ...values] = readValues(typeId, payload, MessageType.DataAmf3, limits);
  if (typeof name !== 'string') throw new ProtocolError('ERR_COMMAND', 'a data message must start with its handler name as a string');
  return { name, values };
}

export function encodeData(data: DataMessage, encoding: ObjectEncoding = 0): { typeId: MessageType; payload: Buffer } {
  return {
    typeId: encoding === 3 ? MessageType.DataAmf3 : MessageType.DataAmf0,
    payload: writeValues([data.name, ...data.values], encoding),
  };
}

/**
 * A publisher's `@setDataFrame("onMetaData", {...})` is stored and relayed as
 * `onMetaData({...})`; returns that form, or undefined for other data messages.
 */
export function metadataFromSetDataFrame(data: DataMessage): DataMessage | undefined {
  if (data.name === '@setDataFrame' && typeof data.values[0] === 'string') {
    return { name: data.values[0], values: data.values.slice(1) };
  }
  if (data.name === 'onMetaData') return data;
  return undefined;
}

export function asObject(value: AmfValue): AmfObject {
  return isPlainObject(value) ? value : {};
}

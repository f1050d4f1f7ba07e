import { AmfError } from '../errors';
import { ByteReader, ByteWriter } from '../bytes';
import { readAmf3Value, writeAmf3Value } from './amf3';
import {
  AmfDictionary,
  AmfLimits,
  AmfObject,
  AmfTypedObject,
  AmfValue,
  AmfVector,
  AmfXml,
  asEcmaArray,
  defaultAmfLimits,
  isEcmaArray,
  isPlainObject,
} from './values';

export enum Amf0Marker {
  Number = 0x00,
  Boolean = 0x01,
  String = 0x02,
  Object = 0x03,
  MovieClip = 0x04,
  Null = 0x05,
  Undefined = 0x06,
  Reference = 0x07,
  EcmaArray = 0x08,
  ObjectEnd = 0x09,
  StrictArray = 0x0a,
  Date = 0x0b,
  LongString = 0x0c,
  Unsupported = 0x0d,
  RecordSet = 0x0e,
  XmlDocument = 0x0f,
  TypedObject = 0x10,
  AvmPlus = 0x11,
}

/** Reads AMF0 values from one message; the reference table spans the whole message. */
export class Amf0Reader {
  private readonly references: AmfValue[] = [];
  private depth = 0;

  constructor(
    private readonly reader: ByteReader,
    private readonly limits: AmfLimits = defaultAmfLimits,
  ) {}

  get done(): boolean {
    return this.reader.remaining === 0;
  }

  read(): AmfValue {
    const at = this.reader.offset;
    const marker = this.reader.u8();
    switch (marker) {
      case Amf0Marker.Number:
        return this.reader.f64();
      case Amf0Marker.Boolean:
        return this.reader.u8() !== 0;
      case Amf0Marker.String:
        return this.reader.utf8(this.reader.u16(), 'a string');
      case Amf0Marker.LongString:
        return this.reader.utf8(this.reader.u32(), 'a long string');
      case Amf0Marker.Null:
        return null;
      case Amf0Marker.Undefined:
      case Amf0Marker.Unsupported:
        return undefined;
      case Amf0Marker.Object:
        return this.nested(() => this.readPairs(this.remember({})));
      case Amf0Marker.EcmaArray: {
        // The count is only a hint (encoders get it wrong); the end marker decides.
        this.reader.u32();
        return this.nested(() => this.readPairs(this.remember(asEcmaArray({}))));
      }
      case Amf0Marker.TypedObject: {
        const className = this.reader.utf8(this.reader.u16(), 'a class name');
        const typed = new AmfTypedObject(className, {});
        this.references.push(typed);
        this.nested(() => this.readPairs(typed.members));
        return typed;
      }
      case Amf0Marker.StrictArray: {
        const count = this.reader.u32();
        // Every value takes at least one byte: a count beyond that is a lie, refused before allocating.
        if (count > this.reader.remaining) {
          throw new AmfError('ERR_AMF_LENGTH', `strict array declares ${count} values but only ${this.reader.remaining} bytes remain`, at);
        }
        const array: AmfValue[] = this.remember([]);
        return this.nested(() => {
          for (let i = 0; i < count; i++) array.push(this.read());
          return array;
        });
      }
      case Amf0Marker.Date: {
        const ms = this.reader.f64();
        this.reader.s16(); // time zone: always 0 in practice and ignored by every player
        return new Date(ms);
      }
      case Amf0Marker.XmlDocument:
        return new AmfXml(this.reader.utf8(this.reader.u32(), 'an XML document'));
      case Amf0Marker.Reference: {
        const index = this.reader.u16();
        if (index >= this.references.length) {
          throw new AmfError('ERR_AMF_REFERENCE', `reference ${index} points past the ${this.references.length} objects seen`, at);
        }
        return this.references[index];
      }
      case Amf0Marker.AvmPlus:
        return readAmf3Value(this.reader, this.limits);
      case Amf0Marker.MovieClip:
      case Amf0Marker.RecordSet:
        throw new AmfError('ERR_AMF_MARKER', `reserved AMF0 marker 0x${marker.toString(16).padStart(2, '0')}`, at);
      default:
        throw new AmfError('ERR_AMF_MARKER', `unknown AMF0 marker 0x${marker.toString(16).padStart(2, '0')}`, at);
    }
  }

  private remember<T extends AmfValue>(value: T): T {
    this.references.push(value);
    return value;
  }

  private nested<T>(body: () => T): T {
    if (++this.depth > this.limits.maxDepth) {
      throw new AmfError('ERR_AMF_DEPTH', `AMF0 nesting deeper than ${this.limits.maxDepth}`, this.reader.offset);
    }
    try {
      return body();
    } finally {
      this.depth--;
    }
  }

  private readPairs(target: AmfObject): AmfObject {
    for (;;) {
      const key = this.reader.utf8(this.reader.u16(), 'a property name');
      if (key === '' && this.reader.remaining > 0 && this.reader.buffer[this.reader.offset] === Amf0Marker.ObjectEnd) {
        this.reader.offset++;
        return target;
      }
      target[key] = this.read();
    }
  }
}

/** Writes AMF0 values; objects seen twice are written again (no references), cycles are refused. */
export class Amf0Writer {
  private readonly open = new Set<object>();

  constructor(readonly writer: ByteWriter = new ByteWriter()) {}

  write(value: AmfValue): void {
    const w = this.writer;
    if (value === undefined) return w.u8(Amf0Marker.Undefined);
    if (value === null) return w.u8(Amf0Marker.Null);
    switch (typeof value) {
      case 'number':
        w.u8(Amf0Marker.Number);
        return w.f64(value);
      case 'boolean':
        w.u8(Amf0Marker.Boolean);
        return w.u8(value ? 1 : 0);
      case 'string':
        return this.writeString(value);
      case 'object':
        break;
      default:
        throw new AmfError('ERR_AMF_UNENCODABLE', `AMF0 cannot encode a ${typeof value}`);
    }
    if (value instanceof Date) {
      w.u8(Amf0Marker.Date);
      w.f64(value.getTime());
      return w.s16(0);
    }
    if (value instanceof AmfXml && value.kind === 'document') {
      w.u8(Amf0Marker.XmlDocument);
      w.u32(Buffer.byteLength(value.xml, 'utf8'));
      w.utf8(value.xml);
      return;
    }
    if (value instanceof Uint8Array || value instanceof AmfVector || value instanceof AmfDictionary || value instanceof AmfXml) {
      // Types with no AMF0 form travel as AMF3 behind the switch marker, as Flash does.
      w.u8(Amf0Marker.AvmPlus);
      return writeAmf3Value(w, value);
    }
    this.enter(value);
    try {
      if (Array.isArray(value)) {
        w.u8(Amf0Marker.StrictArray);
        w.u32(value.length);
        for (const item of value) this.write(item);
      } else if (value instanceof AmfTypedObject) {
        w.u8(Amf0Marker.TypedObject);
        this.writeKey(value.className);
        this.writePairs(value.members);
      } else if (isEcmaArray(value)) {
        w.u8(Amf0Marker.EcmaArray);
        w.u32(Object.keys(value).length);
        this.writePairs(value);
      } else if (isPlainObject(value)) {
        w.u8(Amf0Marker.Object);
        this.writePairs(value);
      } else {
        throw new AmfError('ERR_AMF_UNENCODABLE', `AMF0 cannot encode an instance of ${(value as object).constructor?.name ?? 'an unknown class'}`);
      }
    } finally {
      this.open.delete(value);
    }
  }

  private enter(value: object): void {
    if (this.open.has(value)) throw new AmfError('ERR_AMF_UNENCODABLE', 'AMF0 cannot encode a cyclic structure');
    this.open.add(value);
  }

  private writeString(value: string): void {
    const w = this.writer;
    const byteLength = Buffer.byteLength(value, 'utf8');
    if (byteLength > 0xffff) {
      w.u8(Amf0Marker.LongString);
      w.u32(byteLength);
    } else {
      w.u8(Amf0Marker.String);
      w.u16(byteLength);
    }
    w.utf8(value);
  }

  private writeKey(key: string): void {
    const byteLength = Buffer.byteLength(key, 'utf8');
    if (byteLength > 0xffff) throw new AmfError('ERR_AMF_UNENCODABLE', 'an AMF0 property name is limited to 65535 bytes');
    this.writer.u16(byteLength);
    this.writer.utf8(key);
  }

  private writePairs(object: AmfObject): void {
    for (const key of Object.keys(object)) {
      const member = object[key];
      if (typeof member === 'function') continue;
      this.writeKey(key);
      this.write(member);
    }
    this.writer.u16(0);
    this.writer.u8(Amf0Marker.ObjectEnd);
  }
}

/** Decodes every AMF0 value in `buffer`. */
export function decodeAmf0(buffer: Buffer, limits?: AmfLimits): AmfValue[] {
  const reader = new Amf0Reader(new ByteReader(buffer), limits);
  const values: AmfValue[] = [];
  while (!reader.done) values.push(reader.read());
  return values;
}

export function encodeAmf0(values: readonly AmfValue[]): Buffer {
  const writer = new Amf0Writer();
  for (const value of values) writer.write(value);
  return writer.writer.toBuffer();
}

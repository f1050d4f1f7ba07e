/** AMF3 decoding; see amf3.ts for the context rules. */
import { ByteReader } from '../bytes';
import { AmfError } from '../errors';
import { AmfDictionary, AmfLimits, AmfObject, AmfTypedObject, AmfValue, AmfVector, AmfXml } from './values';
import { asEcmaArray, defaultAmfLimits } from './values';
import { M, NumberVectorKind, Traits, setMember } from './amf3-shared';

export class Amf3Reader {
  private readonly strings: string[] = [];
  private readonly objects: AmfValue[] = [];
  private readonly traits: Traits[] = [];
  private depth = 0;

  constructor(
    private readonly reader: ByteReader,
    private readonly limits: AmfLimits,
  ) {}

  value(): AmfValue {
    const at = this.reader.offset;
    const marker = this.reader.u8();
    switch (marker) {
      case M.undefined: return undefined;
      case M.null: return null;
      case M.false: return false;
      case M.true: return true;
      case M.integer: {
        const raw = this.u29();
        return raw & 0x10000000 ? raw - 0x20000000 : raw;
      }
      case M.double: return this.reader.f64();
      case M.string: return this.string();
    }
    if (marker > M.dictionary) {
      throw new AmfError('ERR_AMF_MARKER', `unknown AMF3 marker 0x${marker.toString(16).padStart(2, '0')}`, at);
    }
    // Every remaining type is an object-table entry whose U29 header may be a reference.
    const header = this.u29();
    if ((header & 1) === 0) return this.reference(this.objects, header >> 1, 'object', at);
    const size = header >> 1;
    switch (marker) {
      case M.xmlDocument: return this.register(new AmfXml(this.reader.utf8(size, 'AMF3 XML'), 'document'));
      case M.xml: return this.register(new AmfXml(this.reader.utf8(size, 'AMF3 XML'), 'e4x'));
      case M.date: return this.register(new Date(this.reader.f64()));
      // A copy, so the value outlives the (possibly pooled) message buffer.
      case M.byteArray: return this.register(Buffer.from(this.reader.bytes(size, 'an AMF3 byte array')));
    }
    this.enter(at);
    let result: AmfValue;
    switch (marker) {
      case M.array: result = this.array(size, at); break;
      case M.object: result = this.object(header, at); break;
      case M.vectorInt: result = this.numberVector('int', size, at); break;
      case M.vectorUint: result = this.numberVector('uint', size, at); break;
      case M.vectorDouble: result = this.numberVector('double', size, at); break;
      case M.vectorObject: result = this.objectVector(size, at); break;
      default: result = this.dictionary(size, at);
    }
    this.depth--;
    return result;
  }

  private register<T extends AmfValue>(value: T): T {
    this.objects.push(value);
    return value;
  }

  private u29(): number {
    let value = 0;
    for (let i = 0; i < 3; i++) {
      const byte = this.reader.u8();
      value = (value << 7) | (byte & 0x7f);
      if ((byte & 0x80) === 0) return value;
    }
    // The fourth byte has no continuation bit, which is how U29 reaches 29 bits.
    return (value << 8) | this.reader.u8();
  }

  private reference<T>(table: readonly T[], index: number, what: string, at: number): T {
    if (index >= table.length) {
      throw new AmfError('ERR_AMF_REFERENCE', `${what} reference ${index} but only ${table.length} known`, at);
    }
    return table[index]!;
  }

  /** Rejects a declared count that the remaining input cannot hold, before anything is sized by it. */
  private count(count: number, minBytesEach: number, what: string, at: number): number {
    const remaining = this.reader.remaining;
    if (count * minBytesEach > remaining) {
      throw new AmfError('ERR_AMF_LENGTH', `${what} declares ${count} entries but ${remaining} bytes remain`, at);
    }
    return count;
  }

  private enter(at: number): void {
    if (++this.depth > this.limits.maxDepth) {
      throw new AmfError('ERR_AMF_DEPTH', `AMF3 nesting deeper than ${this.limits.maxDepth}`, at);
    }
  }

  private string(): string {
    const at = this.reader.offset;
    const header = this.u29();
    if ((header & 1) === 0) return this.reference(this.strings, header >> 1, 'string', at);
    if (header === 1) return '';
    const text = this.reader.utf8(header >> 1, 'an AMF3 string');
    this.strings.push(text);
    return text;
  }

  private array(size: number, at: number): AmfValue {
    const dense = this.count(size, 1, 'an AMF3 array', at);
    // The first associative name decides the JS shape; it is a string, so reading it
    // before registering the array cannot disturb the object table.
    let name = this.string();
    if (name === '') {
      const array = this.register<AmfValue[]>([]);
      for (let i = 0; i < dense; i++) array.push(this.value());
      return array;
    }
    const object = this.register(asEcmaArray<AmfObject>({}));
    for (; name !== ''; name = this.string()) setMember(object, name, this.value());
    for (let i = 0; i < dense; i++) setMember(object, String(i), this.value());
    return object;
  }

  private object(header: number, at: number): AmfValue {
    let traits: Traits;
    if ((header & 2) === 0) {
      traits = this.reference(this.traits, header >> 2, 'traits', at);
    } else {
      const className = this.string();
      if (header & 4) {
        throw new AmfError(
          'ERR_AMF_EXTERNALIZABLE',
          `AMF3 object of class "${className}" is externalizable; only that class knows its body`,
          at,
        );
      }
      // Each sealed member needs at least a one-byte name and a one-byte value.
      const sealedCount = this.count(header >> 4, 2, 'AMF3 traits', at);
      const sealed: string[] = [];
      for (let i = 0; i < sealedCount; i++) sealed.push(this.string());
      traits = { className, sealed, dynamic: (header & 8) !== 0 };
      this.traits.push(traits);
    }
    const members: AmfObject = {};
    const result = this.register(traits.className === '' ? members : new AmfTypedObject(traits.className, members));
    for (const name of traits.sealed) setMember(members, name, this.value());
    if (traits.dynamic) {
      for (let name = this.string(); name !== ''; name = this.string()) setMember(members, name, this.value());
    }
    return result;
  }

  private numberVector(kind: NumberVectorKind, size: number, at: number): AmfValue {
    const fixed = this.reader.u8() !== 0;
    const count = this.count(size, kind === 'double' ? 8 : 4, `an AMF3 ${kind} vector`, at);
    const items: number[] = [];
    const vector = this.register(new AmfVector(kind, items, fixed));
    const reader = this.reader;
    for (let i = 0; i < count; i++) {
      items.push(kind === 'int' ? reader.s32() : kind === 'uint' ? reader.u32() : reader.f64());
    }
    return vector;
  }

  private objectVector(size: number, at: number): AmfValue {
    const fixed = this.reader.u8() !== 0;
    const className = this.string();
    const count = this.count(size, 1, 'an AMF3 object vector', at);
    const items: AmfValue[] = [];
    const vector = this.register(new AmfVector('object', items, fixed, className));
    for (let i = 0; i < count; i++) items.push(this.value());
    return vector;
  }

  private dictionary(size: number, at: number): AmfValue {
    const weakKeys = this.reader.u8() !== 0;
    const count = this.count(size, 2, 'an AMF3 dictionary', at);
    const entries: Array<[AmfValue, AmfValue]> = [];
    const dictionary = this.register(new AmfDictionary(entries, weakKeys));
    for (let i = 0; i < count; i++) {
      const key = this.value();
      entries.push([key, this.value()]);
    }
    return dictionary;
  }
}


/** Reads one AMF3 value with fresh reference tables (AMF0's 0x11 marker starts a new context). */
export function readAmf3Value(reader: ByteReader, limits: AmfLimits = defaultAmfLimits): AmfValue {
  return new Amf3Reader(reader, limits).value();
}


/** Decodes every value up to the end of `buffer`, sharing one set of reference tables. */
export function decodeAmf3(buffer: Buffer, limits: AmfLimits = defaultAmfLimits): AmfValue[] {
  const reader = new ByteReader(buffer);
  const context = new Amf3Reader(reader, limits);
  const values: AmfValue[] = [];
  while (reader.remaining > 0) values.push(context.value());
  return values;
}

/**
 * AMF3 codec. AMF3 messages carry three per-message reference tables (strings,
 * objects, traits), so one reader or writer context lives for exactly one message:
 * `decodeAmf3`/`encodeAmf3` share it across every value of the message, while
 * `readAmf3Value`/`writeAmf3Value` start fresh because AMF0's switch-to-AMF3 marker
 * begins a new AMF3 context for each value.
 */
import { ByteReader, ByteWriter } from '../bytes';
import { AmfError } from '../errors';
import { AmfDictionary, AmfLimits, AmfObject, AmfTypedObject, AmfValue, AmfVector, AmfXml } from './values';
import { asEcmaArray, defaultAmfLimits, isEcmaArray, isPlainObject } from './values';

const M = {
  undefined: 0x00, null: 0x01, false: 0x02, true: 0x03, integer: 0x04, double: 0x05, string: 0x06,
  xmlDocument: 0x07, date: 0x08, array: 0x09, object: 0x0a, xml: 0x0b, byteArray: 0x0c,
  vectorInt: 0x0d, vectorUint: 0x0e, vectorDouble: 0x0f, vectorObject: 0x10, dictionary: 0x11,
} as const;

const U29_MAX = 0x1fffffff;
const INT29_MIN = -0x10000000;
const INT29_MAX = 0x0fffffff;
/** The empty string: ends dynamic member lists and is never a string-table entry. */
const EMPTY_STRING = 0x01;

type NumberVectorKind = 'int' | 'uint' | 'double';
const VECTOR_MARKERS = { int: M.vectorInt, uint: M.vectorUint, double: M.vectorDouble, object: M.vectorObject };

interface Traits { className: string; sealed: string[]; dynamic: boolean }

/**
 * Member names come from the peer; assigning `__proto__` would replace the object's
 * prototype instead of creating a member, so that one name is defined explicitly.
 */
function setMember(target: AmfObject, name: string, value: AmfValue): void {
  if (name === '__proto__') {
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[name] = value;
  }
}

function unencodable(what: string): AmfError {
  return new AmfError('ERR_AMF_UNENCODABLE', `AMF3 cannot encode ${what}`);
}

class Amf3Reader {
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

class Amf3Writer {
  private readonly strings = new Map<string, number>();
  private readonly objects = new Map<object, number>();
  private readonly traits = new Map<string, number>();

  constructor(private readonly out: ByteWriter) {}

  /** Takes `unknown` because application values reach here untyped at runtime. */
  value(value: unknown): void {
    switch (typeof value) {
      case 'undefined': return this.out.u8(M.undefined);
      case 'boolean': return this.out.u8(value ? M.true : M.false);
      case 'number': return this.number(value);
      case 'string': this.out.u8(M.string); return this.string(value);
      case 'object': return value === null ? this.out.u8(M.null) : this.object(value);
      default: throw unencodable(`a ${typeof value}`);
    }
  }

  private u29(value: number): void {
    const out = this.out;
    if (!Number.isInteger(value) || value < 0 || value > U29_MAX) {
      throw unencodable(`a length, count or reference of ${value} (over the U29 range)`);
    }
    if (value > 0x1fffff) {
      // Four bytes: the last one carries a full 8 bits, so the first three shift by 22/15/8.
      out.u8((value >> 22) | 0x80);
      out.u8(((value >> 15) & 0x7f) | 0x80);
      out.u8(((value >> 8) & 0x7f) | 0x80);
      return out.u8(value & 0xff);
    }
    if (value > 0x3fff) out.u8((value >> 14) | 0x80);
    if (value > 0x7f) out.u8(((value >> 7) & 0x7f) | 0x80);
    out.u8(value & 0x7f);
  }

  /** Multiplication rather than shifts, so an oversized length fails the U29 check instead of wrapping. */
  private inline(length: number): void {
    this.u29(length * 2 + 1);
  }

  private number(value: number): void {
    if (Number.isInteger(value) && value >= INT29_MIN && value <= INT29_MAX && !Object.is(value, -0)) {
      this.out.u8(M.integer);
      this.u29(value & U29_MAX);
    } else {
      this.out.u8(M.double);
      this.out.f64(value);
    }
  }

  /** A string without its marker: the form used for values, member names and class names alike. */
  private string(value: string): void {
    if (value === '') return this.out.u8(EMPTY_STRING);
    const index = this.strings.get(value);
    if (index !== undefined) return this.u29(index * 2);
    this.strings.set(value, this.strings.size);
    this.text(value);
  }

  private text(value: string): void {
    this.inline(Buffer.byteLength(value, 'utf8'));
    this.out.utf8(value);
  }

  /**
   * Writes the marker, then a reference if this object was written before. Otherwise
   * registers it before the caller writes its body, matching the decoder's order.
   */
  private referenced(marker: number, value: object): boolean {
    this.out.u8(marker);
    const index = this.objects.get(value);
    if (index !== undefined) {
      this.u29(index * 2);
      return true;
    }
    this.objects.set(value, this.objects.size);
    return false;
  }

  private object(value: object): void {
    if (Array.isArray(value)) return this.array(value);
    if (value instanceof Date) {
      if (this.referenced(M.date, value)) return;
      this.u29(1);
      return this.out.f64(value.getTime());
    }
    if (value instanceof Uint8Array) {
      if (this.referenced(M.byteArray, value)) return;
      this.inline(value.length);
      return this.out.bytes(value);
    }
    if (value instanceof AmfXml) {
      if (!this.referenced(value.kind === 'e4x' ? M.xml : M.xmlDocument, value)) this.text(value.xml);
      return;
    }
    if (value instanceof AmfTypedObject) return this.typedObject(value);
    if (value instanceof AmfVector) return this.vector(value);
    if (value instanceof AmfDictionary) return this.dictionary(value);
    if (isEcmaArray(value)) return this.ecmaArray(value);
    if (isPlainObject(value)) return this.plainObject(value);
    throw unencodable(`an instance of ${value.constructor?.name ?? 'an unknown class'}`);
  }

  private array(value: unknown[]): void {
    if (this.referenced(M.array, value)) return;
    this.inline(value.length);
    this.out.u8(EMPTY_STRING);
    for (let i = 0; i < value.length; i++) this.value(value[i]);
  }

  private ecmaArray(value: AmfObject): void {
    if (this.referenced(M.array, value)) return;
    let dense = 0;
    while (Object.prototype.hasOwnProperty.call(value, String(dense)) && typeof value[String(dense)] !== 'function') {
      dense++;
    }
    this.inline(dense);
    this.dynamicMembers(value, (name) => /^(?:0|[1-9]\d*)$/.test(name) && Number(name) < dense);
    for (let i = 0; i < dense; i++) this.value(value[String(i)]);
  }

  private plainObject(value: AmfObject): void {
    if (this.referenced(M.object, value)) return;
    this.traitsHeader('', [], true);
    this.dynamicMembers(value, () => false);
  }

  /** Name/value pairs ended by the empty string; functions are methods, not data, so they are left out. */
  private dynamicMembers(value: AmfObject, skip: (name: string) => boolean): void {
    for (const [name, member] of Object.entries(value)) {
      if (typeof member === 'function' || skip(name)) continue;
      if (name === '') throw unencodable('an empty dynamic member name, which would end the member list');
      this.string(name);
      this.value(member);
    }
    this.out.u8(EMPTY_STRING);
  }

  private typedObject(value: AmfTypedObject): void {
    if (this.referenced(M.object, value)) return;
    const members = value.members;
    const names = Object.keys(members).filter((name) => typeof members[name] !== 'function');
    this.traitsHeader(value.className, names, false);
    for (const name of names) this.value(members[name]);
  }

  private traitsHeader(className: string, sealed: string[], dynamic: boolean): void {
    const key = JSON.stringify([className, dynamic, sealed]);
    const index = this.traits.get(key);
    if (index !== undefined) return this.u29(index * 4 + 1);
    this.traits.set(key, this.traits.size);
    this.u29(sealed.length * 16 + (dynamic ? 8 : 0) + 3);
    this.string(className);
    for (const name of sealed) this.string(name);
  }

  private vector(value: AmfVector): void {
    const marker = VECTOR_MARKERS[value.kind];
    if (marker === undefined) throw unencodable(`a vector of kind ${String(value.kind)}`);
    if (this.referenced(marker, value)) return;
    const items = value.items;
    this.inline(items.length);
    this.out.u8(value.fixed ? 1 : 0);
    if (value.kind === 'object') {
      this.string(value.className);
      for (const item of items) this.value(item);
      return;
    }
    for (const item of items) this.vectorNumber(value.kind, item);
  }

  private vectorNumber(kind: NumberVectorKind, item: unknown): void {
    if (typeof item !== 'number') throw unencodable(`a ${typeof item} in a ${kind} vector`);
    if (kind === 'double') return this.out.f64(item);
    const [min, max] = kind === 'int' ? [-0x80000000, 0x7fffffff] : [0, 0xffffffff];
    if (!Number.isInteger(item) || item < min || item > max) throw unencodable(`${item} in a ${kind} vector`);
    // ByteWriter.u32 writes the two's-complement bits, which is also the s32 encoding.
    this.out.u32(item);
  }

  private dictionary(value: AmfDictionary): void {
    if (this.referenced(M.dictionary, value)) return;
    this.inline(value.entries.length);
    this.out.u8(value.weakKeys ? 1 : 0);
    for (const [key, entry] of value.entries) {
      this.value(key);
      this.value(entry);
    }
  }
}

/** Reads one AMF3 value with fresh reference tables (AMF0's 0x11 marker starts a new context). */
export function readAmf3Value(reader: ByteReader, limits: AmfLimits = defaultAmfLimits): AmfValue {
  return new Amf3Reader(reader, limits).value();
}

/** Writes one AMF3 value with fresh reference tables. */
export function writeAmf3Value(writer: ByteWriter, value: AmfValue): void {
  new Amf3Writer(writer).value(value);
}

/** Decodes every value up to the end of `buffer`, sharing one set of reference tables. */
export function decodeAmf3(buffer: Buffer, limits: AmfLimits = defaultAmfLimits): AmfValue[] {
  const reader = new ByteReader(buffer);
  const context = new Amf3Reader(reader, limits);
  const values: AmfValue[] = [];
  while (reader.remaining > 0) values.push(context.value());
  return values;
}

/** Encodes `values` in order, sharing one set of reference tables. */
export function encodeAmf3(values: AmfValue[]): Buffer {
  const writer = new ByteWriter();
  const context = new Amf3Writer(writer);
  for (const value of values) context.value(value);
  return writer.toBuffer();
}

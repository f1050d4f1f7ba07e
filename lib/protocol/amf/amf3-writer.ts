/** AMF3 encoding; see amf3.ts for the context rules. */
import { ByteWriter } from '../bytes';
import { AmfDictionary, AmfObject, AmfTypedObject, AmfValue, AmfVector, AmfXml } from './values';
import { isEcmaArray, isPlainObject } from './values';
import { EMPTY_STRING, INT29_MAX, INT29_MIN, M, NumberVectorKind, U29_MAX, VECTOR_MARKERS, unencodable } from './amf3-shared';

export class Amf3Writer {
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

/** Writes one AMF3 value with fresh reference tables. */
export function writeAmf3Value(writer: ByteWriter, value: AmfValue): void {
  new Amf3Writer(writer).value(value);
}


/** Encodes `values` in order, sharing one set of reference tables. */
export function encodeAmf3(values: AmfValue[]): Buffer {
  const writer = new ByteWriter();
  const context = new Amf3Writer(writer);
  for (const value of values) context.value(value);
  return writer.toBuffer();
}

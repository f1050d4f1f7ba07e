/**
 * The AMF value model shared by AMF0 and AMF3.
 *
 * Plain JavaScript values stand for the common types (numbers, strings, booleans, null,
 * undefined, Date, arrays, plain objects, Uint8Array for byte arrays) so that command
 * arguments and metadata read naturally. The rarer types have small classes.
 */
export type AmfValue =
  | undefined
  | null
  | boolean
  | number
  | string
  | Date
  | AmfValue[]
  | AmfObject
  | Uint8Array
  | AmfXml
  | AmfTypedObject
  | AmfVector
  | AmfDictionary;

export interface AmfObject {
  [key: string]: AmfValue;
}

/** An XML value; AMF0 and AMF3 XMLDocument are `document`, AMF3 E4X XML is `e4x`. */
export class AmfXml {
  constructor(
    readonly xml: string,
    readonly kind: 'document' | 'e4x' = 'document',
  ) {}
}

/** An object with a registered class name (AMF0 typed object, AMF3 object with traits). */
export class AmfTypedObject {
  constructor(
    readonly className: string,
    readonly members: AmfObject,
  ) {}
}

export type AmfVectorKind = 'int' | 'uint' | 'double' | 'object';

/** An AMF3 vector; `className` is the element type name of an object vector. */
export class AmfVector {
  constructor(
    readonly kind: AmfVectorKind,
    readonly items: AmfValue[],
    readonly fixed = false,
    readonly className = '',
  ) {}
}

/** An AMF3 dictionary: keys may be any value, so entries are kept as pairs. */
export class AmfDictionary {
  constructor(
    readonly entries: Array<[AmfValue, AmfValue]>,
    readonly weakKeys = false,
  ) {}
}

const ecmaArrays = new WeakSet<object>();

/**
 * Marks a plain object as an associative (ECMA) array, the form Flash uses for
 * onMetaData. The object stays an ordinary object for the application; only the
 * encoders look at the mark.
 */
export function asEcmaArray<T extends AmfObject>(object: T): T {
  ecmaArrays.add(object);
  return object;
}

export function isEcmaArray(value: unknown): value is AmfObject {
  return typeof value === 'object' && value !== null && ecmaArrays.has(value);
}

export function isPlainObject(value: unknown): value is AmfObject {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Limits applied while decoding untrusted AMF. */
export interface AmfLimits {
  /** Deepest nesting of objects and arrays accepted. */
  maxDepth: number;
}

export const defaultAmfLimits: AmfLimits = { maxDepth: 64 };

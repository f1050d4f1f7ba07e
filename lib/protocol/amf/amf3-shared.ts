/** What the AMF3 reader and writer share: markers, limits, traits. */
import { AmfError } from '../errors';
import { AmfObject, AmfValue } from './values';

export const M = {
  undefined: 0x00, null: 0x01, false: 0x02, true: 0x03, integer: 0x04, double: 0x05, string: 0x06,
  xmlDocument: 0x07, date: 0x08, array: 0x09, object: 0x0a, xml: 0x0b, byteArray: 0x0c,
  vectorInt: 0x0d, vectorUint: 0x0e, vectorDouble: 0x0f, vectorObject: 0x10, dictionary: 0x11,
} as const;

export const U29_MAX = 0x1fffffff;
export const INT29_MIN = -0x10000000;
export const INT29_MAX = 0x0fffffff;
/** The empty string: ends dynamic member lists and is never a string-table entry. */
export const EMPTY_STRING = 0x01;

export type NumberVectorKind = 'int' | 'uint' | 'double';
export const VECTOR_MARKERS = { int: M.vectorInt, uint: M.vectorUint, double: M.vectorDouble, object: M.vectorObject };

export interface Traits { className: string; sealed: string[]; dynamic: boolean }

/**
 * Member names come from the peer; assigning `__proto__` would replace the object's
 * prototype instead of creating a member, so that one name is defined explicitly.
 */
export function setMember(target: AmfObject, name: string, value: AmfValue): void {
  if (name === '__proto__') {
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[name] = value;
  }
}

export function unencodable(what: string): AmfError {
  return new AmfError('ERR_AMF_UNENCODABLE', `AMF3 cannot encode ${what}`);
}


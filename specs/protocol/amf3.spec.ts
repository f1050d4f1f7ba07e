import { deepStrictEqual } from 'node:assert';
import test from 'ava';
import fc from 'fast-check';
import { ByteReader, ByteWriter } from '../../lib/protocol/bytes';
import { AmfError, ProtocolErrorCode } from '../../lib/protocol/errors';
import { decodeAmf3, encodeAmf3, readAmf3Value, writeAmf3Value } from '../../lib/protocol/amf/amf3';
import {
  AmfDictionary,
  AmfObject,
  AmfTypedObject,
  AmfValue,
  AmfVector,
  AmfXml,
  asEcmaArray,
  isEcmaArray,
} from '../../lib/protocol/amf/values';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const show = (buffer: Buffer): string => buffer.toString('hex').replace(/(..)(?!$)/g, '$1 ').toUpperCase();
const encodesTo = (values: AmfValue[]): string => show(encodeAmf3(values));
const tidy = (text: string): string => text.replace(/\s+/g, ' ').trim().toUpperCase();

/** U29 header bytes for any value up to 2^29-1, taken from the integer encoding. */
const u29 = (value: number): string => show(encodeAmf3([value >= 2 ** 28 ? value - 2 ** 29 : value]).subarray(1));

function throwsAmf(t: import('ava').ExecutionContext, run: () => unknown, code: ProtocolErrorCode): AmfError | undefined {
  const error = t.throws(run, { instanceOf: AmfError });
  t.is(error?.code, code);
  return error;
}

const integerVectors: Array<[number, string]> = [
  [0, '04 00'],
  [127, '04 7F'],
  [128, '04 81 00'],
  [16383, '04 FF 7F'],
  [16384, '04 81 80 00'],
  [2097151, '04 FF FF 7F'],
  [2097152, '04 80 C0 80 00'],
  [2 ** 28 - 1, '04 BF FF FF FF'],
  [-1, '04 FF FF FF FF'],
  [-(2 ** 28), '04 C0 80 80 00'],
];

test('encodes integers in every U29 width byte-exactly', (t) => {
  for (const [value, bytes] of integerVectors) t.is(encodesTo([value]), bytes, String(value));
});

test('decodes every U29 width back to the signed 29-bit integer', (t) => {
  for (const [value, bytes] of integerVectors) t.deepEqual(decodeAmf3(hex(bytes)), [value], bytes);
});

test('encodes numbers outside the 29-bit range, fractions and -0 as doubles', (t) => {
  t.is(encodesTo([2 ** 28]), '05 41 B0 00 00 00 00 00 00');
  t.is(encodesTo([-(2 ** 28) - 1]), '05 C1 B0 00 00 01 00 00 00');
  t.is(encodesTo([1.5]), '05 3F F8 00 00 00 00 00 00');
  t.is(encodesTo([-0]), '05 80 00 00 00 00 00 00 00');
  t.true(Object.is(decodeAmf3(encodeAmf3([-0]))[0], -0));
  t.true(Number.isNaN(decodeAmf3(encodeAmf3([Number.NaN]))[0]));
});

test('encodes undefined, null, false and true as bare markers', (t) => {
  t.is(encodesTo([undefined, null, false, true]), '00 01 02 03');
  t.deepEqual(decodeAmf3(hex('00 01 02 03')), [undefined, null, false, true]);
});

test('encodes a string inline with its UTF-8 byte length', (t) => {
  t.is(encodesTo(['abc']), '06 07 61 62 63');
  t.is(encodesTo(['é']), '06 05 C3 A9');
  t.deepEqual(decodeAmf3(hex('06 07 61 62 63 06 05 C3 A9')), ['abc', 'é']);
});

test('encodes the empty string as 06 01 and never enters it in the string table', (t) => {
  // "a" is string-table entry 0 even though "" came first, so the reference is 06 00.
  t.is(encodesTo(['', 'a', '', 'a']), '06 01 06 03 61 06 01 06 00');
  t.deepEqual(decodeAmf3(hex('06 01 06 03 61 06 00')), ['', 'a', 'a']);
});

test('encodes a repeated string as a reference to its first occurrence', (t) => {
  t.is(encodesTo(['abc', 'xy', 'abc', 'xy']), '06 07 61 62 63 06 05 78 79 06 00 06 02');
});

test('decodes a string reference to the earlier string', (t) => {
  t.deepEqual(decodeAmf3(hex('06 07 61 62 63 06 05 78 79 06 02 06 00')), ['abc', 'xy', 'xy', 'abc']);
});

test('shares one string table between values, member names and class names', (t) => {
  t.is(encodesTo(['a', { a: 'a' }]), '06 03 61 0A 0B 01 00 06 00 01');
  t.is(encodesTo(['P', new AmfTypedObject('P', {})]), '06 03 50 0A 03 00');
  t.deepEqual(decodeAmf3(hex('06 03 61 0A 0B 01 00 06 00 01')), ['a', { a: 'a' }]);
});

test('encodes a plain object as an anonymous dynamic object with no sealed members', (t) => {
  t.is(encodesTo([{ a: 1 }]), '0A 0B 01 03 61 04 01 01');
  t.deepEqual(decodeAmf3(hex('0A 0B 01 03 61 04 01 01')), [{ a: 1 }]);
});

test('skips function-valued members and keeps undefined members', (t) => {
  const value = { a: undefined, f: () => 1 } as unknown as AmfObject;
  t.is(encodesTo([value]), '0A 0B 01 03 61 00 01');
  t.deepEqual(decodeAmf3(hex('0A 0B 01 03 61 00 01')), [{ a: undefined }]);
});

test('reuses the anonymous dynamic traits by reference for a second object', (t) => {
  t.is(encodesTo([{ a: 1 }, { b: 2 }]), '0A 0B 01 03 61 04 01 01 0A 01 03 62 04 02 01');
  t.deepEqual(decodeAmf3(hex('0A 0B 01 03 61 04 01 01 0A 01 03 62 04 02 01')), [{ a: 1 }, { b: 2 }]);
});

test('encodes a typed object with sealed traits and refers to those traits on the second occurrence', (t) => {
  const values = [new AmfTypedObject('P', { x: 1, y: 2 }), new AmfTypedObject('P', { x: 3, y: 4 })];
  const bytes = '0A 23 03 50 03 78 03 79 04 01 04 02 0A 01 04 03 04 04';
  t.is(encodesTo(values), bytes);
  t.deepEqual(decodeAmf3(hex(bytes)), values);
});

test('decodes sealed and dynamic members of an anonymous object into one plain object', (t) => {
  // Header 0x1B: inline, inline traits, dynamic, one sealed member.
  t.deepEqual(decodeAmf3(hex('0A 1B 01 03 61 04 01 03 62 04 02 01')), [{ a: 1, b: 2 }]);
});

test('encodes the same object twice as an object reference and decodes it to the same identity', (t) => {
  const shared = { k: true };
  t.is(encodesTo([shared, [shared]]), '0A 0B 01 03 6B 03 01 09 03 01 0A 00');
  const [first, array] = decodeAmf3(encodeAmf3([shared, [shared]])) as [AmfObject, AmfValue[]];
  t.is(array[0], first);
});

test('encodes and decodes a self-referencing object without looping', (t) => {
  const cyclic: AmfObject = { name: 'me' };
  cyclic.self = cyclic;
  t.is(encodesTo([cyclic]), '0A 0B 01 09 6E 61 6D 65 06 05 6D 65 09 73 65 6C 66 0A 00 01');
  const [decoded] = decodeAmf3(encodeAmf3([cyclic])) as [AmfObject];
  t.is(decoded.self, decoded);
});

test('encodes a JS array as a dense-only AMF3 array', (t) => {
  t.is(encodesTo([[1, 2]]), '09 05 01 04 01 04 02');
  t.deepEqual(decodeAmf3(hex('09 05 01 04 01 04 02')), [[1, 2]]);
});

test('registers an array before its members so a self-reference decodes', (t) => {
  const array: AmfValue[] = [];
  array.push(array);
  t.is(encodesTo([array]), '09 03 01 09 00');
  const [decoded] = decodeAmf3(hex('09 03 01 09 00')) as [AmfValue[]];
  t.is(decoded[0], decoded);
});

test('decodes an array with an associative part into an ECMA-marked object', (t) => {
  const [decoded] = decodeAmf3(hex('09 05 03 61 04 01 01 06 03 78 06 03 79'));
  t.deepEqual(decoded, { a: 1, 0: 'x', 1: 'y' });
  t.true(isEcmaArray(decoded));
});

test('encodes an ECMA-marked object as contiguous dense keys plus associative members', (t) => {
  const value = asEcmaArray<AmfObject>({ 0: 'x', 1: 'y', 3: 'w', name: 'z' });
  t.is(encodesTo([value]), tidy('09 05  03 33 06 03 77  09 6E 61 6D 65 06 03 7A  01  06 03 78 06 03 79'));
  const [decoded] = decodeAmf3(encodeAmf3([value]));
  t.deepEqual(decoded, value);
  t.true(isEcmaArray(decoded));
});

test('encodes a date inline as milliseconds and decodes it to a Date', (t) => {
  const date = new Date(Date.UTC(2020, 0, 1)); // 1577836800000 ms
  t.is(encodesTo([date]), '08 01 42 76 F5 E6 6E 80 00 00');
  t.deepEqual(decodeAmf3(hex('08 01 42 76 F5 E6 6E 80 00 00')), [date]);
});

test('encodes XML documents and E4X XML under their own markers', (t) => {
  const values = [new AmfXml('<a/>'), new AmfXml('<b/>', 'e4x')];
  t.is(encodesTo(values), '07 09 3C 61 2F 3E 0B 09 3C 62 2F 3E');
  t.deepEqual(decodeAmf3(hex('07 09 3C 61 2F 3E 0B 09 3C 62 2F 3E')), values);
});

test('encodes any Uint8Array as a byte array and decodes a copy of the bytes', (t) => {
  t.is(encodesTo([new Uint8Array([1, 2, 3])]), '0C 07 01 02 03');
  t.is(encodesTo([Buffer.from([4])]), '0C 03 04');
  const input = hex('0C 07 01 02 03');
  const [decoded] = decodeAmf3(input) as [Buffer];
  t.deepEqual([...decoded], [1, 2, 3]);
  input[2] = 0xff;
  t.is(decoded[0], 1);
});

test('encodes int, uint and double vectors with their fixed flag', (t) => {
  const values = [
    new AmfVector('int', [-1, 1]),
    new AmfVector('uint', [0xffffffff], true),
    new AmfVector('double', [1.5]),
  ];
  const bytes = '0D 05 00 FF FF FF FF 00 00 00 01 0E 03 01 FF FF FF FF 0F 03 00 3F F8 00 00 00 00 00 00';
  t.is(encodesTo(values), bytes);
  t.deepEqual(decodeAmf3(hex(bytes)), values);
});

test('encodes an object vector with its element type name', (t) => {
  const vector = new AmfVector('object', ['a', 1], false, 'String');
  const bytes = '10 05 00 0D 53 74 72 69 6E 67 06 03 61 04 01';
  t.is(encodesTo([vector]), bytes);
  t.deepEqual(decodeAmf3(hex(bytes)), [vector]);
});

test('encodes a dictionary as key/value pairs with the weak-keys flag', (t) => {
  const dictionary = new AmfDictionary([['k', 1], [2, 'v']], true);
  const bytes = '11 05 01 06 03 6B 04 01 04 02 06 03 76';
  t.is(encodesTo([dictionary]), bytes);
  t.deepEqual(decodeAmf3(hex(bytes)), [dictionary]);
});

const everything = (): AmfValue => {
  const shared = { s: 'shared' };
  return {
    numbers: [0, -1, 2 ** 28, 0.25, -(2 ** 40)],
    strings: ['', 'x', 'x', 'ünï'],
    flags: [true, false, null, undefined],
    when: new Date(1_600_000_000_000),
    xml: [new AmfXml('<r/>'), new AmfXml('<e/>', 'e4x')],
    bytes: Buffer.from([9, 8, 7]),
    meta: asEcmaArray<AmfObject>({ 0: 'zero', duration: 12.5 }),
    typed: [new AmfTypedObject('T', { a: 1 }), new AmfTypedObject('T', { a: 2 })],
    vectors: [new AmfVector('int', [1]), new AmfVector('object', [shared], true, '*')],
    dict: new AmfDictionary([[shared, 'by object'], ['key', [1]]]),
    again: shared,
  };
};

test('round-trips every value type in one message', (t) => {
  const value = everything();
  const [decoded] = decodeAmf3(encodeAmf3([value])) as [AmfObject];
  t.deepEqual(decoded, value);
  t.is(decoded.again, (decoded.dict as AmfDictionary).entries[0]![0]);
});

test('starts fresh reference tables on each readAmf3Value and writeAmf3Value call', (t) => {
  const writer = new ByteWriter();
  writeAmf3Value(writer, 'abc');
  writeAmf3Value(writer, 'abc');
  t.is(show(writer.toBuffer()), '06 07 61 62 63 06 07 61 62 63');
  const reader = new ByteReader(hex('06 07 61 62 63 06 00'));
  t.is(readAmf3Value(reader), 'abc');
  throwsAmf(t, () => readAmf3Value(reader), 'ERR_AMF_REFERENCE');
  t.deepEqual(decodeAmf3(hex('06 07 61 62 63 06 00')), ['abc', 'abc']);
});

test('rejects an unknown marker, naming it and its offset', (t) => {
  const error = throwsAmf(t, () => decodeAmf3(hex('01 12')), 'ERR_AMF_MARKER');
  t.is(error?.offset, 1);
  t.regex(error?.message ?? '', /0x12/);
  throwsAmf(t, () => decodeAmf3(hex('FF')), 'ERR_AMF_MARKER');
});

test('throws AmfError for every truncated prefix of a valid encoding', (t) => {
  const full = encodeAmf3([everything()]);
  for (let length = 0; length < full.length; length++) {
    t.throws(() => readAmf3Value(new ByteReader(full.subarray(0, length))), { instanceOf: AmfError }, `prefix ${length}`);
  }
});

test('rejects string, object and traits references beyond their tables', (t) => {
  for (const bytes of ['06 00', '06 03 61 06 02', '0A 00', '09 02', '08 00', '0C 00', '11 00', '0A 01', '0A 05']) {
    throwsAmf(t, () => decodeAmf3(hex(bytes)), 'ERR_AMF_REFERENCE');
  }
});

test('rejects externalizable objects because only their class can read the body', (t) => {
  const error = throwsAmf(t, () => decodeAmf3(hex('0A 07 07 46 6F 6F 00 00')), 'ERR_AMF_EXTERNALIZABLE');
  t.regex(error?.message ?? '', /Foo/);
});

test('enforces the depth limit on nested arrays, objects, vectors and dictionaries', (t) => {
  const wrappers: Array<(inner: AmfValue) => AmfValue> = [
    (inner) => [inner],
    (inner) => ({ inner }),
    (inner) => new AmfVector('object', [inner]),
    (inner) => new AmfDictionary([['k', inner]]),
  ];
  for (const wrap of wrappers) {
    let value: AmfValue = 1;
    for (let i = 0; i < 5; i++) value = wrap(value);
    const bytes = encodeAmf3([value]);
    t.deepEqual(decodeAmf3(bytes, { maxDepth: 5 }), [value]);
    throwsAmf(t, () => decodeAmf3(bytes, { maxDepth: 4 }), 'ERR_AMF_DEPTH');
  }
  throwsAmf(t, () => decodeAmf3(hex('0D 01 00'), { maxDepth: 0 }), 'ERR_AMF_DEPTH');
  // 100,000 nested one-element arrays stop at the default limit instead of overflowing the stack.
  throwsAmf(t, () => decodeAmf3(Buffer.concat(Array.from({ length: 100_000 }, () => hex('09 03 01')))), 'ERR_AMF_DEPTH');
});

test('rejects huge declared counts and lengths before allocating', (t) => {
  const max = u29(2 ** 29 - 1);
  t.is(max, 'FF FF FF FF');
  for (const bytes of [`09 ${max} 01`, `0D ${max} 00`, `0E ${max} 00`, `0F ${max} 00`, `10 ${max} 00 01`, `11 ${max} 00`]) {
    throwsAmf(t, () => decodeAmf3(hex(bytes)), 'ERR_AMF_LENGTH');
  }
  // Inline, inline traits, dynamic, 2^25-1 sealed members.
  throwsAmf(t, () => decodeAmf3(hex(`0A ${u29(2 ** 29 - 5)} 01`)), 'ERR_AMF_LENGTH');
  // An int vector of 2 declares 8 bytes but carries 4.
  throwsAmf(t, () => decodeAmf3(hex('0D 05 00 00 00 00 01')), 'ERR_AMF_LENGTH');
  for (const bytes of [`06 ${max}`, `07 ${max}`, `0B ${max}`, `0C ${max}`]) {
    throwsAmf(t, () => decodeAmf3(hex(bytes)), 'ERR_AMF_TRUNCATED');
  }
});

test('refuses to encode functions, symbols, bigints, class instances and items that do not fit a vector kind', (t) => {
  class Point {
    x = 1;
  }
  const values: unknown[] = [() => 1, Symbol('s'), 1n, new Point(), new Map(), [new Set()]];
  values.push(new AmfVector('int', [2 ** 31]), new AmfVector('uint', [-1]), new AmfVector('double', ['1']));
  for (const value of values) throwsAmf(t, () => encodeAmf3([value as AmfValue]), 'ERR_AMF_UNENCODABLE');
});

test('refuses to encode an empty dynamic member name, which would end the member list', (t) => {
  throwsAmf(t, () => encodeAmf3([{ '': 1 }]), 'ERR_AMF_UNENCODABLE');
  throwsAmf(t, () => encodeAmf3([asEcmaArray<AmfObject>({ '': 1 })]), 'ERR_AMF_UNENCODABLE');
});

test('keeps a __proto__ member as an ordinary member instead of replacing the prototype', (t) => {
  // { "__proto__": { polluted: true } }
  const bytes = hex('0A 0B 01 13 5F 5F 70 72 6F 74 6F 5F 5F 0A 01 11 70 6F 6C 6C 75 74 65 64 03 01 01');
  const [decoded] = decodeAmf3(bytes) as [AmfObject];
  t.is(Object.getPrototypeOf(decoded), Object.prototype);
  t.deepEqual(Object.keys(decoded), ['__proto__']);
  t.is(({} as AmfObject).polluted, undefined);
  t.deepEqual(decodeAmf3(encodeAmf3([decoded])), [decoded]);
});

const jsonLike = fc.letrec<{ value: AmfValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
    fc.string({ unit: 'binary' }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ minLength: 1, unit: 'binary' }), tie('value'), { maxKeys: 5, noNullPrototype: true }),
  ),
})).value;

test('decode(encode(v)) deep-equals v for arbitrary JSON-like values', (t) => {
  fc.assert(
    // node:assert throws, which lets fast-check shrink a failure; t.deepEqual would only record it.
    fc.property(fc.array(jsonLike, { maxLength: 4 }), (values) => {
      deepStrictEqual(decodeAmf3(encodeAmf3(values)), values);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

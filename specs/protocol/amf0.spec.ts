import test from 'ava';
import fc from 'fast-check';
import { decodeAmf0, encodeAmf0 } from '../../lib/protocol/amf/amf0';
import { AmfError } from '../../lib/protocol/errors';
import { AmfTypedObject, AmfValue, AmfXml, asEcmaArray, isEcmaArray } from '../../lib/protocol/amf/values';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

const vectors: Array<[string, AmfValue, string]> = [
  ['the number 1', 1, '00 3F F0 00 00 00 00 00 00'],
  ['true', true, '01 01'],
  ['false', false, '01 00'],
  ['"abc"', 'abc', '02 00 03 61 62 63'],
  ['null', null, '05'],
  ['undefined', undefined, '06'],
  ['{a:1}', { a: 1 }, '03 00 01 61 00 3F F0 00 00 00 00 00 00 00 00 09'],
  ['a strict array [1, "x"]', [1, 'x'], '0A 00 00 00 02 00 3F F0 00 00 00 00 00 00 02 00 01 78'],
  ['an empty object', {}, '03 00 00 09'],
];

for (const [what, value, bytes] of vectors) {
  test(`encodes ${what} byte for byte`, (t) => {
    t.deepEqual(encodeAmf0([value]), hex(bytes));
  });
  test(`decodes ${what} byte for byte`, (t) => {
    t.deepEqual(decodeAmf0(hex(bytes)), [value]);
  });
}

test('writes an ECMA array with its count and reads it back as a marked object', (t) => {
  const bytes = encodeAmf0([asEcmaArray({ width: 640, height: 360 })]);
  t.is(bytes[0], 0x08);
  t.is(bytes.readUInt32BE(1), 2);
  const [decoded] = decodeAmf0(bytes);
  t.deepEqual(decoded, { width: 640, height: 360 });
  t.true(isEcmaArray(decoded));
});

test('ignores a wrong ECMA array count and trusts the end marker', (t) => {
  const bytes = hex('08 00 00 00 07 00 01 61 01 01 00 00 09');
  t.deepEqual(decodeAmf0(bytes), [{ a: true }]);
});

test('round-trips a date in milliseconds and writes time zone 0', (t) => {
  const date = new Date(1_700_000_000_123);
  const bytes = encodeAmf0([date]);
  t.is(bytes.length, 11);
  t.is(bytes.readInt16BE(9), 0);
  t.deepEqual(decodeAmf0(bytes), [date]);
});

test('writes strings longer than 65535 bytes as long strings', (t) => {
  const long = 'x'.repeat(70_000);
  const bytes = encodeAmf0([long]);
  t.is(bytes[0], 0x0c);
  t.is(bytes.readUInt32BE(1), 70_000);
  t.deepEqual(decodeAmf0(bytes), [long]);
});

test('round-trips a typed object with its class name', (t) => {
  const typed = new AmfTypedObject('flash.geom.Point', { x: 1, y: 2 });
  const bytes = encodeAmf0([typed]);
  t.is(bytes[0], 0x10);
  const [decoded] = decodeAmf0(bytes);
  t.true(decoded instanceof AmfTypedObject);
  t.is((decoded as AmfTypedObject).className, 'flash.geom.Point');
  t.deepEqual((decoded as AmfTypedObject).members, { x: 1, y: 2 });
});

test('round-trips an XML document as a long-length string', (t) => {
  const bytes = encodeAmf0([new AmfXml('<a b="1"/>')]);
  t.deepEqual(bytes, Buffer.concat([hex('0F 00 00 00 0A'), Buffer.from('<a b="1"/>')]));
  t.deepEqual(decodeAmf0(bytes), [new AmfXml('<a b="1"/>')]);
});

test('decodes a reference to the same earlier object', (t) => {
  // [ {a:1}, ref 1 ]: index 0 is the strict array itself, 1 the object.
  const bytes = hex('0A 00 00 00 02  03 00 01 61 00 3F F0 00 00 00 00 00 00 00 00 09  07 00 01');
  const [array] = decodeAmf0(bytes) as [AmfValue[]];
  t.is(array[0], array[1]);
  t.deepEqual(array[1], { a: 1 });
});

test('decodes the unsupported marker as undefined', (t) => {
  t.deepEqual(decodeAmf0(hex('0D')), [undefined]);
});

test('switches to AMF3 for one value on marker 0x11', (t) => {
  // 0x11, then AMF3 integer 5, then an AMF0 number again.
  t.deepEqual(decodeAmf0(hex('11 04 05 00 3F F0 00 00 00 00 00 00')), [5, 1]);
});

test('writes byte arrays through the AMF3 switch', (t) => {
  const bytes = encodeAmf0([Buffer.from([1, 2, 3])]);
  t.deepEqual(bytes, hex('11 0C 07 01 02 03'));
});

test('rejects the reserved movieclip and recordset markers', (t) => {
  for (const marker of ['04', '0E']) {
    const error = t.throws(() => decodeAmf0(hex(marker)), { instanceOf: AmfError });
    t.is(error?.code, 'ERR_AMF_MARKER');
  }
});

test('rejects an unknown marker and names its offset', (t) => {
  const error = t.throws(() => decodeAmf0(hex('05 05 42')), { instanceOf: AmfError });
  t.is(error?.code, 'ERR_AMF_MARKER');
  t.is(error?.offset, 2);
});

test('rejects a reference past the objects seen', (t) => {
  const error = t.throws(() => decodeAmf0(hex('07 00 00')), { instanceOf: AmfError });
  t.is(error?.code, 'ERR_AMF_REFERENCE');
});

test('rejects a string length longer than the input', (t) => {
  const error = t.throws(() => decodeAmf0(hex('02 FF FF 61')), { instanceOf: AmfError });
  t.is(error?.code, 'ERR_AMF_TRUNCATED');
});

test('rejects a huge strict array count before allocating', (t) => {
  const error = t.throws(() => decodeAmf0(hex('0A FF FF FF FF 05')), { instanceOf: AmfError });
  t.is(error?.code, 'ERR_AMF_LENGTH');
});

test('rejects nesting deeper than the limit', (t) => {
  const deep = Buffer.concat([Buffer.alloc(100, 0x0a).map((_, i) => (i % 5 === 0 ? 0x0a : i % 5 === 4 ? 1 : 0)), hex('05')]);
  const error = t.throws(() => decodeAmf0(deep, { maxDepth: 10 }), { instanceOf: AmfError });
  t.is(error?.code, 'ERR_AMF_DEPTH');
});

test('refuses to encode a cyclic object', (t) => {
  const cyclic: { self?: unknown } = {};
  cyclic.self = cyclic;
  const error = t.throws(() => encodeAmf0([cyclic as AmfValue]), { instanceOf: AmfError });
  t.is(error?.code, 'ERR_AMF_UNENCODABLE');
});

test('every truncation of a valid encoding throws AmfError', (t) => {
  const bytes = encodeAmf0(['connect', 1, { app: 'live', tcUrl: 'rtmp://h/live', n: 3, ok: true }, [1, 'two', null], new Date(5)]);
  for (let end = 1; end < bytes.length; end++) {
    try {
      decodeAmf0(bytes.subarray(0, end));
      // Some prefixes end exactly between values and decode to fewer values: that is fine.
    } catch (error) {
      t.true(error instanceof AmfError, `prefix ${end} threw ${String(error)}`);
    }
  }
  t.pass();
});

const jsonLike = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.double({ noNaN: true }).filter((n) => !Object.is(n, -0)),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string().filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 5 }),
  ),
})).value as fc.Arbitrary<AmfValue>;

test('decode(encode(v)) equals v for arbitrary JSON-like values', (t) => {
  fc.assert(
    fc.property(fc.array(jsonLike, { maxLength: 4 }), (values) => {
      t.deepEqual(decodeAmf0(encodeAmf0(values)), values);
    }),
    { numRuns: 300 },
  );
});

test('never throws anything but AmfError on random bytes', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decodeAmf0(Buffer.from(bytes));
      } catch (error) {
        if (!(error instanceof AmfError)) throw error;
      }
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

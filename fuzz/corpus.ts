// The shared corpus of good and bad safetensors files: each built by hand here, byte for byte,
// with the verdict the format's rules give it written beside it (not computed by either reader).
// `node dist/fuzz/writeCorpus.js` writes them to fuzz/corpus/ with fuzz/corpus/verdicts.json;
// test/fixtures/corpus.test.ts checks that the TypeScript reader, the C++ reader
// (hip/harness/safetensors_check) and the Python oracle (fuzz/oracle.py) each give every file
// its listed verdict, and fuzz/run.ts mutates these files.

export interface CorpusFile {
  readonly name: string;
  readonly verdict: 'ok' | 'reject';
  /** The rule that decides the verdict. */
  readonly why: string;
  readonly bytes: Uint8Array;
}

const encoder = new TextEncoder();

/** u64 LE header length, the header bytes as given (no padding added), then the data bytes. */
function raw(header: Uint8Array, data: number[] | Uint8Array = [], length = header.length): Uint8Array {
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(length), true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

/** A header text padded with spaces to a multiple of 8, as writers do. */
function file(header: string, data: number[] | Uint8Array = []): Uint8Array {
  const bytes = encoder.encode(header);
  const padded = new Uint8Array(Math.ceil(bytes.length / 8) * 8).fill(0x20);
  padded.set(bytes);
  return raw(padded, data);
}

function entry(name: string, dtype: string, shape: string, offsets: string): string {
  return `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":${shape},"data_offsets":${offsets}}`;
}

const bytes = (n: number) => Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);
const ok = (name: string, why: string, data: Uint8Array): CorpusFile => ({ name, verdict: 'ok', why, bytes: data });
const bad = (name: string, why: string, data: Uint8Array): CorpusFile => ({ name, verdict: 'reject', why, bytes: data });

const x = entry('x', 'BF16', '[2,2]', '[0,8]');

export function corpusFiles(): CorpusFile[] {
  return [
    // Good files.
    ok('empty', 'no tensors, empty buffer', file('{}')),
    ok('one-bf16', 'one tensor covering the buffer', file(`{${x}}`, bytes(8))),
    ok(
      'all-dtypes',
      'every dtype we read, contiguous',
      file(
        `{${entry('a', 'BF16', '[3]', '[0,6]')},${entry('b', 'F32', '[1]', '[6,10]')},${entry('c', 'F8_E4M3', '[1]', '[10,11]')},` +
          `${entry('d', 'F8_E4M3FNUZ', '[1]', '[11,12]')},${entry('e', 'F8_E5M2', '[2]', '[12,14]')},${entry('f', 'F8_E5M2FNUZ', '[1]', '[14,15]')},` +
          `${entry('g', 'F8_E8M0', '[1]', '[15,16]')}}`,
        bytes(16),
      ),
    ),
    ok(
      'keys-out-of-order',
      'tensors may be listed in any order; offsets decide',
      file(`{${entry('b', 'F32', '[1]', '[4,8]')},${entry('a', 'F32', '[1]', '[0,4]')}}`, bytes(8)),
    ),
    ok('metadata', '__metadata__ string -> string', file(`{"__metadata__":{"k":"v","contract":"{\\"a\\":1}"},${x}}`, bytes(8))),
    ok('metadata-null', 'the reference reads an Option: null is none', file(`{"__metadata__":null,${x}}`, bytes(8))),
    ok(
      'zero-size-first-key',
      'a zero-size tensor at offset 0, listed before the tensor there',
      file(`{${entry('z', 'F32', '[0,5]', '[0,0]')},${x}}`, bytes(8)),
    ),
    ok('zero-size-last-key', 'the same file with the zero-size tensor listed last', file(`{${x},${entry('z', 'F32', '[0,5]', '[0,0]')}}`, bytes(8))),
    ok(
      'zero-size-between',
      'a zero-size tensor where one tensor ends and the next begins',
      file(`{${entry('b', 'BF16', '[1]', '[2,4]')},${entry('z', 'BF16', '[3,0]', '[2,2]')},${entry('a', 'BF16', '[1]', '[0,2]')}}`, bytes(4)),
    ),
    ok('zero-dim-before-huge', 'a 0 first keeps the running product at 0', file(`{${entry('z', 'F32', '[0,9007199254740991,9007199254740991]', '[0,0]')}}`)),
    ok('scalar', 'shape [] is one element', file(`{${entry('s', 'F32', '[]', '[0,4]')}}`, bytes(4))),
    ok('eight-dims', 'the most dimensions we read', file(`{${entry('d', 'F8_E4M3', '[1,1,1,1,1,1,1,2]', '[0,2]')}}`, bytes(2))),
    ok(
      'unicode-names',
      'names in raw UTF-8 and in escapes (a surrogate pair)',
      file(`{${entry('ünï', 'F8_E5M2', '[1]', '[0,1]')},"\\ud83d\\ude00\\u00e9":{"dtype":"F8_E5M2","shape":[1],"data_offsets":[1,2]}}`, bytes(2)),
    ),
    ok(
      'escaped-control-name',
      'escaped control characters are legal in a name (and must never print raw)',
      file(`{"a\\u001b[31mb\\n":{"dtype":"F8_E5M2","shape":[1],"data_offsets":[0,1]}}`, bytes(1)),
    ),
    ok('whitespace-padding', 'JSON whitespace (space, tab, LF, CR) may pad the header', raw(encoder.encode(`{ ${x} }\t\n\r  `), bytes(8))),
    ok('name-1024-bytes', 'a name of exactly 1024 bytes', file(`{${entry('n'.repeat(1024), 'F8_E5M2', '[1]', '[0,1]')}}`, bytes(1))),
    ok('zero-size-at-end', 'a zero-size tensor at the end of the buffer, listed first', file(`{${entry('z', 'F32', '[0]', '[8,8]')},${x}}`, bytes(8))),
    // Bad files: length prefix and encoding.
    bad('short', 'fewer than 8 bytes', new Uint8Array([2, 0, 0, 0])),
    bad('header-too-large', 'header length above 100,000,000', raw(encoder.encode('{}      '), [], 100_000_001)),
    bad('header-past-end', 'header length runs past the file', raw(encoder.encode('{}      '), [], 16)),
    bad('empty-header', "a header must start with '{'", raw(new Uint8Array(0))),
    bad('bom', "a byte-order mark before '{'", raw(new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('{}   ')]))),
    bad('leading-space', "a space before '{'", raw(encoder.encode(' {}     '))),
    bad('utf8-overlong', 'overlong UTF-8 (C0 AF) in a name', raw(new Uint8Array([...encoder.encode('{"'), 0xc0, 0xaf, ...encoder.encode('":{}}  ')]))),
    bad(
      'utf8-surrogate',
      'a surrogate encoded in UTF-8 (ED A0 80)',
      raw(new Uint8Array([...encoder.encode('{"'), 0xed, 0xa0, 0x80, ...encoder.encode('":1}  ')])),
    ),
    bad('utf8-truncated', 'a UTF-8 sequence cut short', raw(new Uint8Array([...encoder.encode('{"'), 0xe2, 0x82, ...encoder.encode('":1} ')]))),
    bad('utf8-above-max', 'F5: above U+10FFFF', raw(new Uint8Array([...encoder.encode('{"'), 0xf5, 0x80, 0x80, 0x80, ...encoder.encode('":1}')]))),
    // Bad files: JSON.
    bad('lone-high-surrogate', 'a lone high surrogate escape in a name', file(`{"\\ud800":{"dtype":"F8_E5M2","shape":[1],"data_offsets":[0,1]}}`, bytes(1))),
    bad('lone-low-surrogate', 'a lone low surrogate escape in metadata', file(`{"__metadata__":{"k":"\\udc00"}}`)),
    bad('control-char', 'a raw control character in a string', file(`{"__metadata__":{"k":"a\tb"}}`)),
    bad('bad-escape', 'an escape JSON does not have', file(`{"__metadata__":{"k":"\\x41"}}`)),
    bad('trailing-text', 'text after the JSON value', file(`{${x}}x`, bytes(8))),
    bad('trailing-comma', 'a comma before }', file(`{${x},}`, bytes(8))),
    bad(
      'deep-nesting',
      'metadata nested 10,000 levels deep (a stack overflow for a recursive reader)',
      file(`{"__metadata__":${'['.repeat(10000)}${']'.repeat(10000)}}`),
    ),
    bad('duplicate-tensor', 'the same tensor name twice', file(`{${x},${entry('x', 'BF16', '[2,2]', '[8,16]')}}`, bytes(16))),
    bad('duplicate-metadata', '__metadata__ twice', file(`{"__metadata__":{},"__metadata__":{},${x}}`, bytes(8))),
    bad('duplicate-entry-key', 'dtype twice in one entry', file(`{"x":{"dtype":"BF16","dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}}`, bytes(8))),
    bad(
      'duplicate-escaped-key',
      'the same name written raw and escaped',
      file(`{${entry('a', 'F8_E5M2', '[1]', '[0,1]')},"\\u0061":{"dtype":"F8_E5M2","shape":[1],"data_offsets":[1,2]}}`, bytes(2)),
    ),
    // Bad files: integers.
    bad('float-dim', '1.0 is not an integer literal', file(`{${entry('x', 'BF16', '[2,2.0]', '[0,8]')}}`, bytes(8))),
    bad('exponent-dim', '2e0 is not an integer literal', file(`{${entry('x', 'BF16', '[2,2e0]', '[0,8]')}}`, bytes(8))),
    bad('minus-zero-offset', '-0 is not a non-negative integer literal', file(`{${entry('x', 'BF16', '[2,2]', '[-0,8]')}}`, bytes(8))),
    bad('negative-dim', 'a negative dimension', file(`{${entry('x', 'BF16', '[-2,-2]', '[0,8]')}}`, bytes(8))),
    bad('dim-2pow53', 'a dimension of 2^53', file(`{${entry('x', 'F8_E5M2', '[9007199254740992,0]', '[0,0]')}}`)),
    bad(
      'product-overflow-before-zero',
      '[2^40, 2^40, 0]: the running product overflows before the 0',
      file(`{${entry('x', 'F32', '[1099511627776,1099511627776,0]', '[0,0]')}}`),
    ),
    bad('bytes-overflow', 'elements fit below 2^53 but bytes do not', file(`{${entry('x', 'F32', '[4503599627370496]', '[0,0]')}}`)),
    bad('dim-string', 'a dimension as a string', file(`{${entry('x', 'BF16', '[2,"2"]', '[0,8]')}}`, bytes(8))),
    bad('nine-dims', 'more than 8 dimensions', file(`{${entry('d', 'F8_E4M3', '[1,1,1,1,1,1,1,1,2]', '[0,2]')}}`, bytes(2))),
    // Bad files: entries.
    bad('unknown-dtype', 'a dtype we do not read', file(`{${entry('x', 'F16', '[2,2]', '[0,8]')}}`, bytes(8))),
    bad(
      'extra-entry-key',
      'an entry key besides dtype, shape, data_offsets',
      file(`{"x":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8],"extra":1}}`, bytes(8)),
    ),
    bad('missing-offsets', 'an entry without data_offsets', file(`{"x":{"dtype":"BF16","shape":[2,2]}}`, bytes(8))),
    bad('entry-array', 'an entry that is not an object', file('{"x":[1]}')),
    bad('metadata-number', 'a metadata value that is not a string', file(`{"__metadata__":{"k":1},${x}}`, bytes(8))),
    bad('metadata-array', '__metadata__ that is not an object', file('{"__metadata__":["k"]}')),
    bad('name-1025-bytes', 'a name longer than 1024 bytes', file(`{${entry('n'.repeat(1025), 'F8_E5M2', '[1]', '[0,1]')}}`, bytes(1))),
    // Bad files: offsets.
    bad('span-mismatch', 'offsets span 6 bytes, the shape needs 8', file(`{${entry('x', 'BF16', '[2,2]', '[0,6]')}}`, bytes(6))),
    bad('gap', 'a gap before the only tensor', file(`{${entry('x', 'BF16', '[2,2]', '[2,10]')}}`, bytes(10))),
    bad('overlap', 'two tensors share bytes', file(`{${entry('a', 'BF16', '[2]', '[0,4]')},${entry('b', 'BF16', '[2]', '[2,6]')}}`, bytes(6))),
    bad('trailing-bytes', 'data after the last tensor', file(`{${x}}`, bytes(9))),
    bad('truncated-data', 'offsets past the end of the file', file(`{${x}}`, bytes(7))),
    bad('reversed-offsets', 'begin after end', file(`{${entry('x', 'BF16', '[0]', '[8,0]')}}`, bytes(8))),
    bad('three-offsets', 'data_offsets with three numbers', file(`{${entry('x', 'BF16', '[2,2]', '[0,4,8]')}}`, bytes(8))),
  ];
}

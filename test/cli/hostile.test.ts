// Hostile files and careless hands (issue 13), every case through the built CLI binary: one
// line on stderr, exit 2, nothing written on failure, no file we did not create ever touched,
// concurrent and killed writers leaving a consistent suite.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../../src/fixtures/safetensors.js';
import { defaultSuite } from '../../src/fixtures/suite.js';

const CLI = join(__dirname, '../../dist/src/cli/main.js');
const CORPUS = join(__dirname, '../../fuzz/corpus');

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function ulpwise(...args: string[]): Result {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ulpwiseAsync(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A user error: exit 2, exactly one line on stderr matching `message`, no stack trace. */
function expectUserError(r: Result, message: RegExp, what: string): void {
  expect(r.code, `${what}: ${r.stderr}`).toBe(2);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, what).toHaveLength(1);
  expect(lines[0], what).toMatch(message);
  expect(lines[0], what).toMatch(/^ulpwise: /);
  expect(lines[0]).not.toMatch(/internal error/);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const tmp = (label: string) => mkdtempSync(join(tmpdir(), `ulpwise-hostile-${label}-`));

interface ManifestJson {
  ulpwise: string;
  cases: { file: string; case: Record<string, unknown>; sha256: string; bytes: number; outputs: string[] }[];
}
const readManifestJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ManifestJson;
const writeManifestJson = (dir: string, m: ManifestJson) => writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));

/** Rewrites a golden through `edit` (tensors in order, metadata) and returns the new bytes. */
function rewrite(bytes: Uint8Array, edit: (tensors: [string, SafetensorsTensor][], metadata: Record<string, string>) => void): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const entries = [...tensors];
  const meta = { ...metadata };
  edit(entries, meta);
  return encodeSafetensors(entries, meta);
}

/** A golden file rewritten with `edit`, its manifest entry's digest and size updated to match. */
function tamperSuite(dir: string, edit: (tensors: [string, SafetensorsTensor][], metadata: Record<string, string>) => void): void {
  const manifest = readManifestJson(dir);
  const entry = manifest.cases[0];
  const bytes = rewrite(new Uint8Array(readFileSync(join(dir, entry.file))), edit);
  writeFileSync(join(dir, entry.file), bytes);
  entry.sha256 = sha256(bytes);
  entry.bytes = bytes.length;
  writeManifestJson(dir, manifest);
}

let base: string;
let golden: string;
let goldenBytes: Uint8Array;

beforeAll(() => {
  base = join(tmp('base'), 'suite');
  // vllm-unfused: a cub tree, the dimension whose block size a hostile file could inflate.
  const gen = ulpwise('gen', '--preset', 'vllm-unfused', '--ranks', '2', '--tokens', '2', '--hidden', '256', '--out', base);
  expect(gen.code, gen.stderr).toBe(0);
  golden = join(base, readManifestJson(base).cases[0].file);
  goldenBytes = new Uint8Array(readFileSync(golden));
});

function copySuite(): string {
  const dir = join(tmp('suite'), 'suite');
  cpSync(base, dir, { recursive: true });
  return dir;
}

describe('files that are not files', () => {
  it('diff refuses /dev/zero, a FIFO, a folder and a (sparse) file over 2 GiB, each in one line', () => {
    const dir = tmp('files');
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const big = join(dir, 'big.safetensors');
    writeFileSync(big, '');
    truncateSync(big, 3 * 2 ** 30);
    expectUserError(ulpwise('diff', golden, '/dev/zero'), /candidate \/dev\/zero: not a regular file/, '/dev/zero');
    expectUserError(ulpwise('diff', '/dev/zero', golden), /golden \/dev\/zero: not a regular file/, '/dev/zero as golden');
    expectUserError(ulpwise('diff', golden, fifo), /not a regular file/, 'FIFO');
    expectUserError(ulpwise('diff', golden, dir), /it is a directory/, 'folder');
    expectUserError(ulpwise('diff', golden, big), /is 3221225472 bytes \(3\.0 GiB\); ulpwise reads such files up to/, 'sparse 3 GiB');
    expectUserError(ulpwise('diff', golden, join(dir, 'missing')), /no such file/, 'missing');
  });

  it('--html into a missing folder or onto a folder: one line, exit 2, nothing computed or written', () => {
    const dir = tmp('html');
    expectUserError(ulpwise('diff', golden, golden, '--html', join(dir, 'no', 'page.html')), /--html page .*folder .* does not exist/, 'missing folder');
    mkdirSync(join(dir, 'page.html'));
    expectUserError(ulpwise('diff', golden, golden, '--html', join(dir, 'page.html')), /exists and is not a regular file/, 'folder as page');
    expect(readdirSync(dir)).toEqual(['page.html']);
    expect(ulpwise('diff', golden, golden, '--html', join(dir, 'ok.html')).code).toBe(0);
    expect(existsSync(join(dir, 'ok.html'))).toBe(true);
  });
});

describe('malformed safetensors, through diff', () => {
  it('the corpus files for each rule the issue names, as the candidate: exit 2, one line naming the file', () => {
    // The rules the issue names; test/fixtures/corpus.test.ts runs every corpus file in-process.
    const named = [
      'bom',
      'lone-high-surrogate',
      'lone-low-surrogate',
      'float-dim',
      'minus-zero-offset',
      'product-overflow-before-zero',
      'dim-2pow53',
      'deep-nesting',
      'utf8-overlong',
      'duplicate-tensor',
      'trailing-bytes',
      'header-too-large',
    ];
    const verdicts = JSON.parse(readFileSync(join(CORPUS, 'verdicts.json'), 'utf8')) as { file: string; verdict: string }[];
    for (const file of named.map((n) => `${n}.safetensors`)) {
      expect(verdicts.find((v) => v.file === file)?.verdict, file).toBe('reject');
      const r = ulpwise('diff', golden, join(CORPUS, file));
      expectUserError(r, new RegExp(`${file.replace(/\./g, '\\.')}`), file);
      expect(r.stderr, file).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    }
  });

  it('a zero-size tensor in the candidate is read whichever key comes first', () => {
    const dir = tmp('zero');
    const { tensors } = decodeSafetensors(goldenBytes);
    const outputs = [...tensors].filter(([name]) => name.startsWith('out.'));
    // Hand-built header: the zero-size tensor at [0,0] listed after the tensor that starts at 0.
    let offset = 0;
    const entries: string[] = [];
    const chunks: Uint8Array[] = [];
    for (const [name, t] of outputs) {
      const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      entries.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":${JSON.stringify(t.shape)},"data_offsets":[${offset},${offset + data.length}]}`);
      chunks.push(data);
      offset += data.length;
    }
    for (const [label, header] of [
      ['last', `{${entries.join(',')},"empty":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]}}`],
      ['first', `{"empty":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]},${entries.join(',')}}`],
    ] as const) {
      const text = new TextEncoder().encode(header.padEnd(Math.ceil(header.length / 8) * 8, ' '));
      const file = new Uint8Array(8 + text.length + offset);
      new DataView(file.buffer).setBigUint64(0, BigInt(text.length), true);
      file.set(text, 8);
      let at = 8 + text.length;
      for (const c of chunks) {
        file.set(c, at);
        at += c.length;
      }
      const path = join(dir, `${label}.safetensors`);
      writeFileSync(path, file);
      const r = ulpwise('diff', golden, path);
      expect(r.code, `${label}: ${r.stderr}`).toBe(0);
    }
  });

  it('a legal 99 MB header is read in bounded time and refused as not a golden', () => {
    const dir = tmp('big-header');
    const header = `{"__metadata__":{"k":"${'a'.repeat(99_000_000)}"}}`;
    const bytes = Buffer.alloc(8 + header.length);
    bytes.writeBigUInt64LE(BigInt(header.length), 0);
    bytes.write(header, 8, 'latin1');
    const path = join(dir, 'big-header.safetensors');
    writeFileSync(path, bytes);
    const started = Date.now();
    expectUserError(ulpwise('diff', path, golden), /not an ulpwise golden/, '99 MB header');
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe("a golden's metadata is checked against its tensors before anything runs", () => {
  const variant = (label: string, edit: (tensors: [string, SafetensorsTensor][], metadata: Record<string, string>) => void): string => {
    const path = join(tmp(label), `${label}.safetensors`);
    writeFileSync(path, rewrite(goldenBytes, edit));
    return path;
  };
  const editCase = (change: Record<string, unknown>) => (_t: [string, SafetensorsTensor][], m: Record<string, string>) => {
    m['ulpwise.case'] = JSON.stringify({ ...(JSON.parse(m['ulpwise.case']) as object), ...change });
  };
  const editTree = (tree: unknown) => (_t: [string, SafetensorsTensor][], m: Record<string, string>) => {
    const contract = JSON.parse(m['ulpwise.contract']) as { norm: { sumOfSquares: { tree: unknown } } };
    contract.norm.sumOfSquares.tree = tree;
    m['ulpwise.contract'] = JSON.stringify(contract);
  };

  it('tokens 1e9 in ulpwise.case: diff and diff --rstd infer refuse it', () => {
    const path = variant('tokens', editCase({ tokens: 1e9 }));
    expectUserError(ulpwise('diff', path, golden), /ulpwise\.case' is invalid: tokens: .*1048576/, 'diff');
    expectUserError(ulpwise('diff', path, golden, '--rstd', 'infer'), /ulpwise\.case' is invalid: tokens/, 'diff --rstd infer');
  });

  it('a case that disagrees with the tensors (tokens 4 for [2, 256] inputs) is refused', () => {
    const path = variant('tokens4', editCase({ tokens: 4 }));
    expectUserError(ulpwise('diff', path, golden), /rank0\.input: shape \[2,256\], expected \[4, 256\]/, 'tokens 4');
  });

  it('a huge cub blockSize: diff --rstd infer refuses it with the bound', () => {
    const path = variant('cub', editTree({ kind: 'cub', blockSize: 1_000_000_000, warpSize: 32 }));
    expectUserError(ulpwise('diff', path, golden, '--rstd', 'infer'), /norm\.sumOfSquares\.tree\.blockSize: Too big: expected number to be <=1024/, 'cub');
  });

  it('an extra tensor, a preset named twice differently: refused', () => {
    const extra = variant('extra', (t) => t.push(['stray', { dtype: 'F32', shape: [1], data: Uint32Array.of(0) }]));
    expectUserError(ulpwise('diff', extra, golden), /unexpected tensor "stray"/, 'extra tensor');
    const escape = variant('escape', (t) => t.push(['\u001b[2J\u009b', { dtype: 'F32', shape: [1], data: Uint32Array.of(0) }]));
    const r = ulpwise('diff', escape, golden);
    expectUserError(r, /unexpected tensor "\\u001b\[2J\\u009b"/, 'escape sequence in a name');
    expect(r.stderr).not.toMatch(/[\u001b\u009b]/);
    const preset = variant('preset', (_t, m) => (m['ulpwise.preset'] = 'unfused'));
    expectUserError(ulpwise('diff', preset, golden), /'ulpwise\.preset' says 'unfused' but the case says 'vllm-unfused'/, 'preset');
  });
});

describe('verify holds the folder to its manifest', () => {
  it('passes the untouched suite', () => {
    const r = ulpwise('verify', copySuite(), '--engine', 'cpu');
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  const refused: [string, (dir: string) => void, RegExp][] = [
    ['an empty case list', (dir) => writeManifestJson(dir, { ...readManifestJson(dir), cases: [] }), /lists no cases/],
    ['an unlisted file', (dir) => writeFileSync(join(dir, 'model.safetensors'), 'mine'), /model\.safetensors: in .* but not in its manifest/],
    [
      'a duplicate entry',
      (dir) => {
        const m = readManifestJson(dir);
        writeManifestJson(dir, { ...m, cases: [m.cases[0], m.cases[0]] });
      },
      /listed more than once/,
    ],
    [
      "an entry whose file name is not its case's",
      (dir) => {
        const m = readManifestJson(dir);
        m.cases[0].case = { ...m.cases[0].case, seed: 12345 };
        writeManifestJson(dir, m);
      },
      /is not named for its case/,
    ],
    [
      'a wrong byte count',
      (dir) => {
        const m = readManifestJson(dir);
        m.cases[0].bytes += 1;
        writeManifestJson(dir, m);
      },
      /bytes, the manifest says/,
    ],
    [
      'wrong outputs',
      (dir) => {
        const m = readManifestJson(dir);
        m.cases[0].outputs = ['out.residual'];
        writeManifestJson(dir, m);
      },
      /outputs \[.*\] are not the manifest's \[out\.residual\]/,
    ],
    [
      'a garbage file with a matching digest',
      (dir) => {
        const m = readManifestJson(dir);
        const garbage = new TextEncoder().encode('not a safetensors file at all');
        writeFileSync(join(dir, m.cases[0].file), garbage);
        m.cases[0].sha256 = sha256(garbage);
        m.cases[0].bytes = garbage.length;
        writeManifestJson(dir, m);
      },
      /header length .* exceeds|runs past the end/,
    ],
    [
      'an extra tensor',
      (dir) => tamperSuite(dir, (t) => t.push(['out.extra', { dtype: 'F32', shape: [1], data: Uint32Array.of(0) }])),
      /unexpected tensor "out\.extra"/,
    ],
    [
      "a contract that is not its preset's",
      (dir) =>
        tamperSuite(dir, (_t, m) => {
          const contract = JSON.parse(m['ulpwise.contract']) as { norm: { eps: number } };
          contract.norm.eps = 0.5;
          m['ulpwise.contract'] = JSON.stringify(contract);
        }),
      /contract differs from preset 'vllm-unfused'/,
    ],
    [
      'a huge cub blockSize',
      (dir) =>
        tamperSuite(dir, (_t, m) => {
          const contract = JSON.parse(m['ulpwise.contract']) as { norm: { sumOfSquares: { tree: unknown } } };
          contract.norm.sumOfSquares.tree = { kind: 'cub', blockSize: 2 ** 30, warpSize: 32 };
          m['ulpwise.contract'] = JSON.stringify(contract);
        }),
      /norm\.sumOfSquares\.tree\.blockSize: Too big: expected number to be <=1024/,
    ],
  ];
  for (const [what, spoil, message] of refused) {
    it(`refuses ${what} before recomputing anything (exit 2)`, () => {
      const dir = copySuite();
      spoil(dir);
      const r = ulpwise('verify', dir, '--engine', 'cpu');
      expectUserError(r, /not a valid suite .*nothing was recomputed/, what);
      expect(r.stdout, what).toMatch(message);
      expect(r.stdout).not.toMatch(/verified bit-exact/);
    });
  }

  it('a missing listed file: exit 2, one line', () => {
    const dir = copySuite();
    rmSync(join(dir, readManifestJson(dir).cases[0].file));
    expectUserError(ulpwise('verify', dir, '--engine', 'cpu'), /cannot read the listed golden .*: no such file/, 'missing');
  });
});

describe('flags out of range', () => {
  const gen = (out: string, ...flags: string[]) => ulpwise('gen', '--preset', 'unfused', '--out', out, ...flags);
  const cases: [string[], RegExp][] = [
    [['--ranks', '2', '--tokens', '0', '--hidden', '8'], /--tokens: 0 is outside 1\.\.1048576/],
    [['--ranks', '65', '--tokens', '1', '--hidden', '8'], /--ranks: 65 is outside 1\.\.64/],
    [['--ranks', '2', '--tokens', '1', '--hidden', '8', '--seed', String(2 ** 32)], /--seed: 4294967296 is outside 0\.\.4294967295/],
    [['--ranks', '2', '--tokens', '1', '--hidden', '0'], /--hidden: 0 is outside/],
    [['--ranks', '2', '--tokens', '1', '--hidden', '99999999999999999999'], /--hidden: '99999999999999999999' is not a non-negative integer/],
    [['--ranks', '2', '--tokens', '1048576', '--hidden', '262144'], /exceeds 2147483648 output elements/],
    [['--ranks', '64', '--tokens', '1000000', '--hidden', '1024'], /64 ranks x 1000000 tokens x 1024 hidden needs about \d+\.\d GiB; this machine allows/],
  ];
  for (const [flags, message] of cases) {
    it(`gen ${flags.join(' ')}: exit 2, one line, no folder left behind`, () => {
      const out = join(tmp('flags'), 'out');
      expectUserError(gen(out, ...flags), message, flags.join(' '));
      expect(existsSync(out)).toBe(false);
    });
  }

  it('--out that is a file, or under a file: exit 2, one line, the file untouched', () => {
    const dir = tmp('outfile');
    const file = join(dir, 'file');
    writeFileSync(file, 'mine');
    expectUserError(gen(file, '--ranks', '2', '--tokens', '1', '--hidden', '256'), /--out .*file: exists and is not a directory/, '--out file');
    expectUserError(
      gen(join(file, 'sub'), '--ranks', '2', '--tokens', '1', '--hidden', '256'),
      /--out .*: cannot create the directory \(ENOTDIR\)/,
      '--out under a file',
    );
    expect(readFileSync(file, 'utf8')).toBe('mine');
    expectUserError(ulpwise('suite', '--out', file, '--no-summary'), /exists and is not a directory/, 'suite --out file');
  });

  // Lists a flag sizes (batch sizes, ranking lines, worst elements) are bounded before anything is
  // built: without the bounds, 1..99999999999 allocated its range and --worst kept every element.
  const invariance = (...flags: string[]) => ulpwise('invariance', '--preset', 'vllm', '--hidden', '256', ...flags);
  const listCases: [string, () => Result, RegExp][] = [
    ['invariance --tokens 1..99999999999', () => invariance('--tokens', '1..99999999999'), /^ulpwise: --tokens: 99999999999 is outside 1\.\.1048576$/],
    ['invariance --tokens 0..4', () => invariance('--tokens', '0..4'), /^ulpwise: --tokens: 0 is outside 1\.\.1048576$/],
    ['invariance --tokens 1..5000', () => invariance('--tokens', '1..5000'), /^ulpwise: --tokens: 1\.\.5000 spans 5000 batch sizes; at most 4096 per run$/],
    ['invariance --tokens 1..99999999999999999', () => invariance('--tokens', '1..99999999999999999'), /--tokens: '1\.\.99999999999999999' is not a\.\.b/],
    ['invariance --rows 0..99999999999', () => invariance('--tokens', '8..9', '--rows', '0..99999999999'), /^ulpwise: --rows: 99999999999 is outside 0\.\.7$/],
    [
      'invariance --ranks-range 1..100000000',
      () => invariance('--tokens', '8..9', '--ranks-range', '1..100000000'),
      /--ranks-range: 100000000 is outside 1\.\.64$/,
    ],
    [
      'invariance --hidden 2^40',
      () => ulpwise('invariance', '--preset', 'vllm', '--hidden', String(2 ** 40), '--tokens', '1'),
      /--hidden: \d+ is outside 1\.\.262144$/,
    ],
    ['explain --top 21', () => ulpwise('explain', golden, '--inputs', golden, '--top', '21'), /^ulpwise: --top: 21 is outside 1\.\.20$/],
    ['explain --top 0', () => ulpwise('explain', golden, '--inputs', golden, '--top', '0'), /^ulpwise: --top: 0 is outside 1\.\.20$/],
    ['explain --threads 65', () => ulpwise('explain', golden, '--inputs', golden, '--threads', '65'), /^ulpwise: --threads: 65 is outside 0\.\.64$/],
    ['explain --threads=-1', () => ulpwise('explain', golden, '--inputs', golden, '--threads=-1'), /^ulpwise: --threads: '-1' is not a non-negative integer$/],
    ['diff --worst 1001', () => ulpwise('diff', golden, golden, '--worst', '1001'), /^ulpwise: --worst: 1001 is outside 0\.\.1000$/],
    ['diff --worst 2^50', () => ulpwise('diff', golden, golden, '--worst', String(2 ** 50)), /^ulpwise: --worst: \d+ is outside 0\.\.1000$/],
  ];
  for (const [what, run, message] of listCases) it(`${what}: exit 2, one line`, () => expectUserError(run(), message, what));

  it('the bounds themselves are accepted', () => {
    expect(ulpwise('diff', golden, golden, '--worst', '1000').code).toBe(0);
    expect(ulpwise('explain', golden, '--inputs', golden, '--top', '20').code).toBe(0);
    expect(ulpwise('explain', golden, '--inputs', golden, '--threads', '2').code).toBe(0);
    expect(invariance('--tokens', '8..9', '--rows', '0,7').code).toBe(0);
  });
});

describe('writes never touch a file the command did not create', () => {
  it("suite --out DIR keeps a user's *.safetensors and replaces only what its manifest listed", () => {
    const dir = join(tmp('suite-owned'), 'golden');
    for (const seed of ['98', '99']) {
      const extra = ulpwise('gen', '--preset', 'unfused', '--ranks', '2', '--tokens', '1', '--hidden', '256', '--seed', seed, '--out', dir);
      expect(extra.code, extra.stderr).toBe(0);
    }
    // A file the old manifest listed, changed since by someone: no longer only ours.
    const changed = join(dir, 'unfused__tp2_m1_h256_random_s98.safetensors');
    writeFileSync(changed, Buffer.concat([readFileSync(changed), Buffer.from('edited')]));
    const model = new Uint8Array(readFileSync(golden));
    writeFileSync(join(dir, 'my-model.safetensors'), model);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const r = ulpwise('suite', '--out', dir, '--no-summary');
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.compare(readFileSync(join(dir, 'my-model.safetensors')), model)).toBe(0);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(dir, 'unfused__tp2_m1_h256_random_s99.safetensors'))).toBe(false); // listed by the old manifest, unchanged: ours
    expect(readFileSync(changed).subarray(-6).toString()).toBe('edited');
    expect(r.stderr).toMatch(/left .*unfused__tp2_m1_h256_random_s98\.safetensors in place: the previous manifest listed it, but its bytes have changed/);
    const listed = new Set(readManifestJson(dir).cases.map((c) => c.file));
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith('.safetensors') && !listed.has(f))
        .sort(),
    ).toEqual(['my-model.safetensors', 'unfused__tp2_m1_h256_random_s98.safetensors']);
  });

  it("suite refuses to overwrite an unlisted file that has a case's name, and changes nothing", () => {
    const dir = join(tmp('suite-clash'), 'golden');
    mkdirSync(dir);
    writeFileSync(join(dir, 'unfused__tp8_m1_h7168_random_s1.safetensors'), 'my file');
    expectUserError(ulpwise('suite', '--out', dir, '--no-summary'), /refusing to overwrite .*unfused__tp8_m1_h7168_random_s1\.safetensors/, 'clash');
    expect(readdirSync(dir)).toEqual(['unfused__tp8_m1_h7168_random_s1.safetensors']);
    expect(readFileSync(join(dir, 'unfused__tp8_m1_h7168_random_s1.safetensors'), 'utf8')).toBe('my file');
  });
});

describe('concurrent and killed writers', () => {
  it('six gen runs into one folder at once: every case listed, the suite verifies', async () => {
    const dir = join(tmp('concurrent'), 'suite');
    const runs = await Promise.all(
      Array.from({ length: 6 }, (_, seed) =>
        ulpwiseAsync('gen', '--preset', 'aiter-1stage', '--ranks', '2', '--tokens', '2', '--hidden', '256', '--seed', String(seed), '--out', dir),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(
      readManifestJson(dir)
        .cases.map((c) => c.case.seed)
        .sort(),
    ).toEqual([0, 1, 2, 3, 4, 5]);
    expect(ulpwise('verify', dir, '--engine', 'cpu').code).toBe(0);
  });

  it('gen beside suite: whichever runs last, every case file in the folder is listed', async () => {
    const dir = join(tmp('gen-suite'), 'golden');
    const [suite, gen] = await Promise.all([
      ulpwiseAsync('suite', '--out', dir, '--no-summary'),
      ulpwiseAsync('gen', '--preset', 'unfused', '--ranks', '2', '--tokens', '1', '--hidden', '256', '--seed', '7', '--out', dir),
    ]);
    expect(suite.code, suite.stderr).toBe(0);
    expect(gen.code, gen.stderr).toBe(0);
    const listed = new Set(readManifestJson(dir).cases.map((c) => c.file));
    expect(readdirSync(dir).filter((f) => f !== 'manifest.json' && !listed.has(f))).toEqual([]);
    // The suite's cases, plus gen's case when gen ran last.
    const cases = defaultSuite().length;
    expect(listed.size === cases || listed.size === cases + 1).toBe(true);
  });

  it('kill -9 mid-write (while a temp file is open) leaves no partial case; the next writer clears the stale lock and temp file', async () => {
    const dir = join(tmp('killed'), 'suite');
    mkdirSync(dir);
    const args = ['gen', '--preset', 'aiter-1stage', '--ranks', '8', '--tokens', '64', '--hidden', '7168', '--out', dir];
    let killedMidWrite = 0;
    for (let attempt = 0; attempt < 4 && killedMidWrite < 2; attempt++) {
      const child = spawn(process.execPath, [CLI, ...args, '--seed', String(attempt)]);
      let exited = false;
      child.on('exit', () => (exited = true));
      // Watch the folder and kill the moment a temp file of a case (10 MB, being written) appears.
      while (!exited && !readdirSync(dir).some((f) => f.endsWith('.tmp') && f.includes('.safetensors.'))) await new Promise((r) => setTimeout(r, 1));
      if (!exited) {
        child.kill('SIGKILL');
        killedMidWrite++;
      }
      await new Promise((resolve) => (exited ? resolve(null) : child.on('exit', resolve)));
      const listed = existsSync(join(dir, 'manifest.json')) ? new Set(readManifestJson(dir).cases.map((c) => c.file)) : new Set<string>();
      for (const f of readdirSync(dir)) if (f.endsWith('.safetensors') && !f.startsWith('.')) expect(listed.has(f), `${f} after a kill`).toBe(true);
    }
    expect(killedMidWrite).toBeGreaterThan(0);
    expect(
      readdirSync(dir).some((f) => f.endsWith('.tmp')),
      'the kill left the temp file',
    ).toBe(true);
    expect(existsSync(join(dir, '.ulpwise.lock')), 'the kill left the lock').toBe(true);
    const next = ulpwise('gen', '--preset', 'aiter-1stage', '--ranks', '2', '--tokens', '2', '--hidden', '256', '--out', dir);
    expect(next.code, next.stderr).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
    const v = ulpwise('verify', dir, '--engine', 'cpu');
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });
});

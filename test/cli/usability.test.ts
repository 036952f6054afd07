// The conventions a kernel engineer expects from the CLI, through the built binary: help for
// every command and option, --version, gen with one's own contract and data, a default output
// folder that is never the project's golden/, per-output tolerances, schema-versioned JSON,
// and messages for the usual mistakes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { canonicalJson, parseContract } from '../../src/contracts/validate.js';
import { getPreset, listPresets } from '../../src/contracts/presets.js';
import { applyOverrides, contractOverrides, genCommandFor } from '../../src/contracts/overrides.js';
import { readGolden } from '../../src/fixtures/golden.js';
import { encodeSafetensors } from '../../src/fixtures/safetensors.js';
import { f32FromBits } from '../../src/numerics/f32.js';
import type { Tensor } from '../../src/numerics/tensor.js';

const ROOT = join(__dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const COMMANDS = ['presets', 'gen', 'suite', 'verify', 'summary', 'diff', 'explain', 'invariance', 'crosscheck', 'selftest'];

function ulpwise(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `gen` into dir; returns the written golden's path. */
function gen(dir: string, ...args: string[]): string {
  const r = ulpwise(['gen', ...args, '--out', dir]);
  expect(r.code, r.stderr).toBe(0);
  return join(dir, r.stdout.split(' ')[1].split('/').pop()!);
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ulpwise-usability-'));
});

describe('help and version', () => {
  test('every command has --help (exit 0) naming every option it parses; help CMD prints the same', () => {
    for (const name of COMMANDS) {
      const r = ulpwise([name, '--help']);
      expect(r.code, name).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: ulpwise ${name}`));
      expect(ulpwise(['help', name]).stdout).toBe(r.stdout);
      // Every --option of the usage line is explained on a line of its own.
      const usageOptions = [...r.stdout.split('\n')[0].matchAll(/--([a-z-]+)/g)].map((m) => m[1]);
      for (const option of usageOptions) expect(r.stdout, `${name} --${option}`).toMatch(new RegExp(`^  --${option}\\b.*\\S{3,}`, 'm'));
    }
    expect(ulpwise(['help', 'nope'])).toMatchObject({ code: 2 });
    expect(ulpwise(['help', 'nope']).stderr).toMatch(/unknown command 'nope'; commands: presets, gen/);
  });

  test("--version prints package.json's version", () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(ulpwise(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  test('an unknown option points at --help', () => {
    expect(ulpwise(['diff', '--bogus']).stderr).toMatch(/Unknown option '--bogus'.*\(see --help\)/);
  });
});

describe('gen: your own contract, your own data', () => {
  test("--set turns one preset into another: the command genCommandFor renders writes the other preset's bits", () => {
    const dir = join(work, 'set');
    const shape = { ranks: 2, tokens: 3, hidden: 256 };
    const target = getPreset('aiter-1stage-pre2586');
    const { command, contractFile } = genCommandFor(target.contract, shape, 'aiter-1stage');
    expect(contractFile).toBeNull();
    expect(command).toBe('ulpwise gen --preset aiter-1stage --set allReduce.roundResult=none --ranks 2 --tokens 3 --hidden 256');
    const custom = readGolden(gen(dir, ...command.split(' ').slice(2)));
    const preset = readGolden(gen(dir, '--preset', target.name, '--ranks', '2', '--tokens', '3', '--hidden', '256'));
    expect(canonicalJson(custom.contract)).toBe(canonicalJson(target.contract));
    expect(custom.spec.custom).toMatch(/^[0-9a-f]{12}$/);
    for (const [name, t] of preset.outputs) expect(Buffer.from(custom.outputs.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
    expect(ulpwise(['verify', dir, '--engine', 'cpu']).stdout).toMatch(/2\/2 cases verified bit-exact/);
  });

  test('--contract FILE and --eps; a bad contract or override is one line naming the field path, nothing written', () => {
    const dir = join(work, 'contract');
    const file = join(work, 'mine.json');
    writeFileSync(file, JSON.stringify({ ...getPreset('unfused').contract, norm: { ...getPreset('unfused').contract.norm, eps: 1e-5 } }));
    const golden = readGolden(gen(dir, '--contract', file, '--eps', '0.25', '--ranks', '2', '--tokens', '1', '--hidden', '64'));
    expect(golden.contract.norm.eps).toBe(0.25);
    expect(golden.spec.preset).toBe('custom');
    const bad: [string[], RegExp][] = [
      [['--preset', 'unfused', '--set', 'residual.add=f64'], /residual\.add/],
      [['--preset', 'unfused', '--set', 'norm.nosuch=1'], /norm\.nosuch/],
      [['--preset', 'unfused', '--set', 'residual.add'], /expected path=value/],
      [['--preset', 'unfused', '--eps', 'tiny'], /--eps: 'tiny' is not a number/],
      [['--contract', join(work, 'missing.json')], /--contract .*missing\.json: no such file/],
      [['--contract', file, '--preset', 'unfused'], /give one of --preset P .* and --contract FILE\.json/],
    ];
    const before = readdirSync(dir).length;
    for (const [args, message] of bad) {
      const r = ulpwise(['gen', ...args, '--ranks', '2', '--tokens', '1', '--hidden', '64', '--out', dir]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    writeFileSync(file, JSON.stringify({ ...getPreset('unfused').contract, allReduce: { ...getPreset('unfused').contract.allReduce, accumulate: 'f16' } }));
    const invalid = ulpwise(['gen', '--contract', file, '--ranks', '2', '--tokens', '1', '--hidden', '64', '--out', dir]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^ulpwise: (--contract \S+: )?invalid contract: allReduce\.accumulate: .*\n$/);
    writeFileSync(file, JSON.stringify({ ...getPreset('unfused').contract, norm: { ...getPreset('unfused').contract.norm, epsilon: 1e-6 } }));
    const typo = ulpwise(['gen', '--contract', file, '--ranks', '2', '--tokens', '1', '--hidden', '64', '--out', dir]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^ulpwise: (--contract \S+: )?invalid contract: norm\.epsilon: .*\n$/);
    expect(readdirSync(dir).length).toBe(before);
  });

  test("--inputs-from: a golden's inputs give back its outputs bit for bit; F32 inputs must hold bf16 values; shapes are checked", () => {
    const dir = join(work, 'from');
    const original = readGolden(gen(dir, '--preset', 'vllm-ar-rms-quant', '--ranks', '2', '--tokens', '3', '--hidden', '256', '--seed', '9'));
    const widen = (t: Tensor): Tensor => ({ dtype: 'F32', shape: t.shape, data: Uint32Array.from(t.data, (b) => (b << 16) >>> 0) });
    const inputsFile = join(work, 'site.safetensors');
    // Rank inputs widened to F32 (exact), the residual and weight as they are.
    writeFileSync(
      inputsFile,
      encodeSafetensors([
        ['rank0.input', widen(original.inputs.rankInputs[0])],
        ['rank1.input', widen(original.inputs.rankInputs[1])],
        ['residual', original.inputs.residual!],
        ['weight', original.inputs.weight],
      ]),
    );
    const captured = readGolden(gen(dir, '--preset', 'vllm-ar-rms-quant', '--inputs-from', inputsFile));
    expect(captured.spec.inputs).toMatch(/^file-[0-9a-f]{12}$/);
    expect(captured.spec.custom).toBeUndefined();
    for (const [name, t] of original.outputs) expect(Buffer.from(captured.outputs.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);

    const inexact = widen(original.inputs.rankInputs[0]);
    (inexact.data as Uint32Array)[5] |= 1;
    writeFileSync(
      inputsFile,
      encodeSafetensors([
        ['rank0.input', inexact],
        ['residual', original.inputs.residual!],
        ['weight', original.inputs.weight],
      ]),
    );
    expect(ulpwise(['gen', '--preset', 'vllm-ar-rms-quant', '--inputs-from', inputsFile, '--out', dir]).stderr).toMatch(
      /'rank0\.input' is F32 and 1 of its 768 values are not bf16 values/,
    );
    writeFileSync(
      inputsFile,
      encodeSafetensors([
        ['rank0.input', original.inputs.rankInputs[0]],
        ['weight', original.inputs.weight],
      ]),
    );
    expect(ulpwise(['gen', '--preset', 'vllm-ar-rms-quant', '--inputs-from', inputsFile, '--out', dir]).stderr).toMatch(
      /no 'residual', but the contract adds one/,
    );
    expect(
      ulpwise(['gen', '--preset', 'vllm-ar-rms-quant', '--set', 'residual=null', '--inputs-from', inputsFile, '--tokens', '4', '--out', dir]).stderr,
    ).toMatch(/holds 1 ranks x 3 tokens x 256 hidden, but --tokens is 4/);
  });

  test("without --out, gen writes ./ulpwise-out; it refuses the project's golden/ from outside the project", () => {
    const cwd = mkdtempSync(join(tmpdir(), 'ulpwise-user-'));
    const r = ulpwise(['gen', '--preset', 'unfused', '--ranks', '2', '--tokens', '1', '--hidden', '64'], cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(join(cwd, 'ulpwise-out')).sort()).toEqual(['manifest.json', 'unfused__tp2_m1_h64_random_s0.safetensors']);
    const manifest = join(ROOT, 'golden', 'manifest.json');
    const before = existsSync(manifest) ? statSync(manifest).mtimeMs : null;
    const refused = ulpwise(['gen', '--preset', 'unfused', '--ranks', '2', '--tokens', '1', '--hidden', '64', '--out', join(ROOT, 'golden')], cwd);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/is ulpwise's own committed golden\/ folder/);
    expect(existsSync(join(ROOT, 'golden', 'unfused__tp2_m1_h64_random_s0.safetensors'))).toBe(false);
    expect(existsSync(manifest) ? statSync(manifest).mtimeMs : null).toBe(before);
  });
});

describe('contractOverrides / genCommandFor', () => {
  test('for every pair of presets, the overrides from one applied to it give the other exactly', () => {
    const presets = listPresets();
    for (const from of presets) {
      for (const to of presets) {
        const contract = parseContract(applyOverrides(from.contract, contractOverrides(from.contract, to.contract)));
        expect(canonicalJson(contract), `${from.name} -> ${to.name}`).toBe(canonicalJson(to.contract));
      }
    }
  });

  test('without a preset the command names a contract file holding the contract', () => {
    const { command, contractFile } = genCommandFor(getPreset('nccl-ring').contract, { ranks: 4, tokens: 2, hidden: 128 });
    expect(command).toBe('ulpwise gen --contract contract.json --ranks 4 --tokens 2 --hidden 128');
    expect(canonicalJson(parseContract(JSON.parse(contractFile!)))).toBe(canonicalJson(getPreset('nccl-ring').contract));
  });
});

describe('diff', () => {
  let golden: string;
  let candidate: string;
  beforeAll(() => {
    const dir = join(work, 'diff');
    golden = gen(dir, '--preset', 'vllm-ar-rms-quant', '--ranks', '2', '--tokens', '2', '--hidden', '256');
    // The golden with one norm-side change per output: q one code step, one scale one f32 ULP.
    const g = readGolden(golden);
    const q = { ...g.outputs.get('out.q')!, data: g.outputs.get('out.q')!.data.slice() } as Tensor;
    q.data[3] = q.data[3] ^ 1;
    const scale = { ...g.outputs.get('out.scale')!, data: g.outputs.get('out.scale')!.data.slice() } as Tensor;
    scale.data[1] = scale.data[1] + 1;
    candidate = join(dir, 'candidate.safetensors');
    writeFileSync(
      candidate,
      encodeSafetensors([
        ['out.residual', g.outputs.get('out.residual')!],
        ['out.q', q],
        ['out.scale', scale],
      ]),
    );
  });

  test('per-output tolerances: --max-ulp out.q=1,out.scale=1 passes, out.q=1 alone fails on out.scale; unknown outputs are refused', () => {
    expect(ulpwise(['diff', golden, candidate]).code).toBe(1);
    expect(ulpwise(['diff', golden, candidate, '--max-ulp', 'out.q=1,out.scale=1']).code).toBe(0);
    const one = ulpwise(['diff', golden, candidate, '--max-ulp', 'out.q=1']);
    expect(one.code).toBe(1);
    expect(one.stdout).toMatch(/^FAIL: out\.scale is not bit-exact$/m);
    expect(ulpwise(['diff', golden, candidate, '--max-ulp', 'out.norm=1']).stderr).toMatch(/--max-ulp: out\.norm: no such output here/);
    expect(ulpwise(['diff', golden, candidate, '--max-ulp', 'norm=1']).stderr).toMatch(/'norm' is not an output name/);
  });

  test("--json carries the schema version and the scale's relative error; --schema prints the JSON Schema", () => {
    const report = JSON.parse(ulpwise(['diff', golden, candidate, '--json']).stdout) as {
      schemaVersion: number;
      outputs: {
        name: string;
        tolerance: number;
        maxRelativeError: number | null;
        worst: { relativeError: number | null; golden: { bits: string }; candidate: { bits: string } }[];
      }[];
    };
    expect(report.schemaVersion).toBe(3);
    const scale = report.outputs.find((o) => o.name === 'out.scale')!;
    const [g, c] = [scale.worst[0].golden.bits, scale.worst[0].candidate.bits].map((b) => f32FromBits(Number(b)));
    // One f32 ULP up: |c - g| / g computed here in doubles from the two f32 values.
    expect(scale.maxRelativeError).toBe(Math.abs(c - g) / Math.abs(g));
    expect(scale.worst[0].relativeError).toBe(scale.maxRelativeError);
    expect(report.outputs.find((o) => o.name === 'out.q')!.maxRelativeError).toBeNull();
    const schema = JSON.parse(ulpwise(['diff', '--schema']).stdout) as { properties: Record<string, { const?: number }> };
    expect(schema.properties.schemaVersion.const).toBe(3);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['golden', 'candidate', 'outputs', 'rstd', 'scale', 'quantConsistency']));
  });

  test('swapped arguments, a torch.save zip, uint8 codes and names without out. get messages that say what to do', () => {
    expect(ulpwise(['diff', candidate, golden]).stderr).toMatch(/the arguments look swapped; the golden comes first/);
    const zip = join(work, 'outputs.pt');
    writeFileSync(zip, Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(60)]));
    expect(ulpwise(['diff', golden, zip]).stderr).toMatch(
      /outputs\.pt is a zip archive \(torch\.save writes these\), not safetensors: write it with ulpwise\.save_candidate/,
    );
    const pickle = join(work, 'outputs.pkl');
    writeFileSync(pickle, Buffer.from([0x80, 0x04, 0x95, 0, 0]));
    expect(ulpwise(['diff', golden, pickle]).stderr).toMatch(/is a Python pickle/);
    const g = readGolden(golden);
    const q = g.outputs.get('out.q')!;
    const header = JSON.stringify({ 'out.q': { dtype: 'U8', shape: q.shape, data_offsets: [0, q.data.length] } });
    const padded = header.padEnd(Math.ceil(header.length / 8) * 8, ' ');
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(padded.length));
    const uint8 = join(work, 'uint8.safetensors');
    writeFileSync(uint8, Buffer.concat([length, Buffer.from(padded), Buffer.from(q.data)]));
    expect(ulpwise(['diff', golden, uint8]).stderr).toMatch(/'out\.q' holds U8 integers, so its FP8 format is unknown; save the codes as a float8 dtype/);
    const bare = join(work, 'bare.safetensors');
    writeFileSync(
      bare,
      encodeSafetensors([
        ['residual', g.outputs.get('out.residual')!],
        ['q', q],
        ['scale', g.outputs.get('out.scale')!],
      ]),
    );
    expect(ulpwise(['diff', golden, bare]).stderr).toMatch(
      /output tensors need the golden's names: 'residual' -> 'out\.residual', 'q' -> 'out\.q', 'scale' -> 'out\.scale'/,
    );
  });
});

describe('summary --json', () => {
  test('rows under a schema version; custom and captured cases are left out', () => {
    const dir = join(work, 'suite');
    gen(dir, '--preset', 'aiter-1stage', '--ranks', '2', '--tokens', '1', '--hidden', '64');
    gen(dir, '--preset', 'aiter-1stage', '--eps', '0.5', '--ranks', '2', '--tokens', '1', '--hidden', '64');
    const r = ulpwise(['summary', '--suite', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { schemaVersion: number; rows: { preset: string; reference: string; cases: number }[] };
    expect(report.schemaVersion).toBe(1);
    // The family name resolves to its default architecture's preset (the seeds' MI355X, gfx950).
    expect(report.rows).toEqual([expect.objectContaining({ preset: 'aiter-1stage@gfx950', reference: 'unfused', cases: 1 })]);
  });
});

describe('adapter probing', () => {
  test('--engine auto shows no Dawn probe warnings', () => {
    const r = ulpwise(['gen', '--preset', 'unfused', '--ranks', '2', '--tokens', '1', '--hidden', '64', '--engine', 'auto', '--out', join(work, 'auto')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Warning:|vkCreateInstance|VK_ERROR/);
  });
});

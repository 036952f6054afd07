import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { HARDWARE_TWINS, SOFTFLOAT_TWINS } from '../../src/softfloat/twins.js';
import { WGSL_CODES } from '../../src/softfloat/wgslCodes.js';
import {
  generatedWgslPrelude,
  hardwareShaderDir,
  hardwareWgslFiles,
  hardwareWgslSource,
  libraryShaderDir,
  softfloatShaderDir,
  softfloatWgslSource,
  wgslLibraryFiles,
} from '../../src/softfloat/wgslSource.js';

// What can be checked without an adapter: the twins line up by file and function name, the
// library declares what it uses, and the WGSL never touches floating point. Running the WGSL
// against these TS twins is the GPU conformance runner's job (test/webgpu).

const SRC_DIR = new URL('../../src/softfloat/', import.meta.url);
/** TS modules with no WGSL file of the same name: their WGSL is generated, or they are host-only. */
const HOST_ONLY = ['index', 'specialize', 'twins', 'wgslCodes', 'wgslSource'];

/** The TS twin of a library file: shaders/X/name.wgsl is src/X/name.ts. */
function tsTwinOf(dir: string, wgslFile: string): URL {
  return new URL(`../../src/${dir}/${wgslFile.replace(/\.wgsl$/, '.ts')}`, import.meta.url);
}

function stripComments(wgsl: string): string {
  return wgsl.replace(/\/\/.*$/gm, '');
}

interface WgslFunction {
  readonly params: string[];
  readonly returns: string;
}

function wgslFunctions(wgsl: string): Map<string, WgslFunction> {
  const functions = new Map<string, WgslFunction>();
  for (const match of stripComments(wgsl).matchAll(/\bfn\s+(\w+)\s*\(([^)]*)\)\s*->\s*(\w+)/g)) {
    const params = match[2]
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    if (functions.has(match[1])) throw new Error(`WGSL function ${match[1]} is defined twice`);
    functions.set(match[1], { params, returns: match[3] });
  }
  return functions;
}

describe('WGSL soft-float library', () => {
  // The sm_90 hardware ops come after the library wherever they are used (they read a table
  // buffer the including module declares): held to the same rules.
  const source = `${softfloatWgslSource()}\n${hardwareWgslSource()}`;
  const functions = wgslFunctions(source);

  test('every src/softfloat op module has a shaders/softfloat twin of the same name, and back', () => {
    const tsNames = readdirSync(SRC_DIR)
      .filter((name) => name.endsWith('.ts'))
      .map((name) => name.slice(0, -3))
      .filter((name) => !HOST_ONLY.includes(name))
      .sort();
    const wgslNames = readdirSync(softfloatShaderDir())
      .filter((name) => name.endsWith('.wgsl'))
      .map((name) => name.slice(0, -5))
      .sort();
    expect(wgslNames).toEqual(tsNames);
  });

  test('the codecs are twins by path too: shaders/numerics/name.wgsl beside src/numerics/name.ts', () => {
    const codecs = wgslLibraryFiles()
      .filter((f) => f.dir === 'numerics')
      .map((f) => f.file);
    expect(codecs).toEqual(['bf16.wgsl', 'e8m0.wgsl', 'fp8.wgsl']);
    expect(codecs.filter((file) => !existsSync(tsTwinOf('numerics', file)))).toEqual([]);
  });

  test('every twin in SOFTFLOAT_TWINS is defined in exactly one library file, whose TS twin exports it with the same arity', () => {
    const homes = new Map<string, string[]>();
    for (const { dir, file } of wgslLibraryFiles()) {
      for (const name of wgslFunctions(readFileSync(join(libraryShaderDir(dir), file), 'utf8')).keys()) {
        homes.set(name, [...(homes.get(name) ?? []), `${dir}/${file}`]);
      }
    }
    const problems: string[] = [];
    for (const twin of SOFTFLOAT_TWINS) {
      const files = homes.get(twin.name) ?? [];
      if (files.length !== 1) {
        problems.push(`${twin.name}: defined in [${files.join(', ')}]`);
        continue;
      }
      const [dir, file] = files[0].split('/');
      const tsSource = readFileSync(tsTwinOf(dir, file), 'utf8');
      const exported = new RegExp(`export function ${twin.name}\\(([^)]*)\\)`).exec(tsSource);
      const arity = exported ? exported[1].split(',').filter((p) => p.trim() !== '').length : -1;
      if (arity !== twin.args.length)
        problems.push(`${twin.name}: src/${dir}/${file.replace('.wgsl', '.ts')} exports it with arity ${arity}, the twin takes ${twin.args.length}`);
    }
    expect(problems).toEqual([]);
  });

  test('every exported TS function has a WGSL function of the same name and arity in its twin file', () => {
    const missing: string[] = [];
    for (const file of readdirSync(SRC_DIR)) {
      const name = file.slice(0, -3);
      if (!file.endsWith('.ts') || HOST_ONLY.includes(name)) continue;
      const tsSource = readFileSync(new URL(file, SRC_DIR), 'utf8');
      const wgslTwin = wgslFunctions(readFileSync(join(softfloatShaderDir(), `${name}.wgsl`), 'utf8'));
      for (const match of tsSource.matchAll(/export function (\w+)\(([^)]*)\)/g)) {
        const arity = match[2].split(',').filter((p) => p.trim() !== '').length;
        if (wgslTwin.get(match[1])?.params.length !== arity) missing.push(`${name}: ${match[1]}/${arity}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('the sm_90 hardware ops are twins by path: shaders/numerics/hardware/name.wgsl beside src/numerics/hardware/name.ts', () => {
    expect(hardwareWgslFiles()).toEqual(['sm90.wgsl', 'sm90Div.wgsl']);
    // Host-only: reading (the gzip members, inflated on first use), building on first use and copying out the tables the
    // GPU is given; every other function, exported or not, has a WGSL function of the same name and arity.
    const hostOnly = ['dataPath', 'memberEnd', 'tableMembers', 'periodTable', 'inflateMember', 'inflateEntry', 'periodEntry', 'builtEntry', 'fillSm90Tables'];
    const problems: string[] = [];
    for (const file of hardwareWgslFiles()) {
      const wgsl = wgslFunctions(readFileSync(join(hardwareShaderDir(), file), 'utf8'));
      const tsSource = readFileSync(tsTwinOf('numerics/hardware', file), 'utf8');
      for (const match of tsSource.matchAll(/^(?:export )?function (\w+)\(([^)]*)\)/gm)) {
        if (hostOnly.includes(match[1])) continue;
        const arity = match[2].split(',').filter((p) => p.trim() !== '').length;
        if (wgsl.get(match[1])?.params.length !== arity) problems.push(`${file}: ${match[1]}/${arity}`);
      }
    }
    for (const twin of HARDWARE_TWINS) {
      const homes = hardwareWgslFiles().filter((file) => wgslFunctions(readFileSync(join(hardwareShaderDir(), file), 'utf8')).has(twin.name));
      if (homes.length !== 1) problems.push(`${twin.name}: defined in [${homes.join(', ')}]`);
    }
    expect(problems).toEqual([]);
  });

  test('every twin in SOFTFLOAT_TWINS and HARDWARE_TWINS is a WGSL function of u32 arguments returning u32', () => {
    for (const twin of [...SOFTFLOAT_TWINS, ...HARDWARE_TWINS]) {
      const wgsl = functions.get(twin.name);
      expect(wgsl, twin.name).toBeDefined();
      expect(
        wgsl?.params.map((p) => p.split(':')[1].trim()),
        twin.name,
      ).toEqual(twin.args.map(() => 'u32'));
      expect(wgsl?.returns, twin.name).toBe('u32');
    }
  });

  test('every UPPER_CASE constant the shaders use is declared', () => {
    const declared = new Set([...stripComments(source).matchAll(/\bconst\s+(\w+)/g)].map((m) => m[1]));
    const used = new Set([...stripComments(source).matchAll(/\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b/g)].map((m) => m[1]));
    expect([...used].filter((name) => !declared.has(name))).toEqual([]);
  });

  test('the generated prelude names every format and mode code, and a traits case per FP8 format', () => {
    const prelude = generatedWgslPrelude();
    // A change to FP8_TRAITS, the codes or the specialisation shows up here for review.
    expect(prelude).toMatchSnapshot();
    for (const [table, prefix] of [
      ['fp8Format', 'FP8_FORMAT'],
      ['fp8Saturation', 'FP8_SATURATION'],
      ['bf16Rounding', 'BF16_ROUNDING'],
      ['e8m0Rounding', 'E8M0_ROUNDING'],
      ['f32Subnormals', 'F32_SUBNORMALS'],
    ] as const) {
      const codes: Readonly<Record<string, number>> = WGSL_CODES[table];
      for (const [name, code] of Object.entries(codes)) {
        expect(prelude).toContain(`const ${prefix}_${name.toUpperCase()}: u32 = ${code}u;`);
      }
      expect(prelude).toContain(`const ${prefix}_COUNT: u32 = ${Object.keys(codes).length}u;`);
    }
    for (const [index, format] of Object.keys(WGSL_CODES.fp8Format).entries()) {
      expect(prelude).toMatch(new RegExp(`case ${index}u(, default)?: \\{ return Fp8Traits\\(.*\\); \\} // ${format}\\n`));
    }
  });

  test('the WGSL does no floating-point arithmetic: no f32/f16 types, float literals, bitcasts or float builtins', () => {
    const code = stripComments(source);
    const forbidden = [
      /\bf32\b/,
      /\bf16\b/,
      /\bbitcast\b/,
      /\b\d+\.\d*|\.\d+/,
      /\b\d+[fh]\b/,
      /\b\d+e[+-]?\d+/,
      /\b(sqrt|inverseSqrt|fma|exp2|log2|pow|floor|ceil|round|fract|ldexp|frexp)\s*\(/,
      /vec\d<f/,
    ];
    expect(forbidden.filter((pattern) => pattern.test(code)).map(String)).toEqual([]);
  });
});

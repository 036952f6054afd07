import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareTensors } from '../../diff/compare.js';
import { goldenContractProblem } from '../../fixtures/customCase.js';
import { readGolden, sha256Hex } from '../../fixtures/golden.js';
import { readManifest } from '../../fixtures/manifest.js';
import { parseCommandArgs, progressReporter, PROGRESS_OPTION, type Command } from '../args.js';
import { UsageError } from '../errors.js';
import { openEngines, ENGINE_OPTION } from '../engineOption.js';

const OPTIONS = {
  engine: { type: 'string', value: 'all|cpu|webgpu|auto', help: 'the engines that recompute each golden: all (default: cpu, plus webgpu where an adapter exists), cpu, webgpu or auto' },
  adapter: ENGINE_OPTION.adapter,
  ...PROGRESS_OPTION,
} as const;

export const verifyCommand: Command = {
  name: 'verify',
  usage: 'verify DIR [--engine all|cpu|webgpu|auto] [--adapter auto|vulkan|swiftshader|llvmpipe]',
  summary: 'check digests, then recompute every golden in DIR on every engine (default: cpu and webgpu) and compare bits',
  positionals: [{ name: 'DIR', help: 'a suite folder with manifest.json (what gen and suite write)' }],
  options: OPTIONS,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs(OPTIONS, argv, true);
    if (positionals.length !== 1) throw new UsageError('verify takes one suite directory');
    const dir = positionals[0];
    const manifest = readManifest(dir);
    const engines = await openEngines(values.engine, values.adapter);
    const failures: string[] = [];
    const progress = progressReporter('verify', values.progress);
    try {
      for (const [i, entry] of manifest.cases.entries()) {
        const path = join(dir, entry.file);
        const digest = sha256Hex(new Uint8Array(readFileSync(path)));
        if (digest !== entry.sha256) {
          failures.push(`${entry.file}: sha256 ${digest} does not match the manifest's ${entry.sha256}`);
          continue;
        }
        const golden = readGolden(path);
        const contractProblem = goldenContractProblem(golden);
        if (contractProblem !== null) failures.push(`${entry.file}: ${contractProblem}`);
        for (const engine of engines) {
          const outputs = await engine.run(golden.contract, golden.shape, golden.inputs);
          const names = new Set([...outputs.keys(), ...golden.outputs.keys()]);
          for (const name of names) {
            const expected = golden.outputs.get(name);
            const actual = outputs.get(name);
            if (!expected || !actual) {
              failures.push(`${entry.file}: ${engine.description}: output '${name}' is ${expected ? 'not computed' : 'not in the golden'}`);
              continue;
            }
            const c = compareTensors(expected, actual);
            if (c.differing > 0) failures.push(`${entry.file}: ${engine.description}: ${name}: ${c.differing}/${c.elements} elements differ (max ${c.maxUlp} ULP, ${c.nanMismatches} NaN)`);
          }
        }
        progress(i + 1, manifest.cases.length, entry.file);
      }
    } finally {
      for (const engine of engines) await engine.close();
    }
    for (const f of failures) console.log(`FAIL ${f}`);
    console.log(`${manifest.cases.length - new Set(failures.map((f) => f.split(':')[0])).size}/${manifest.cases.length} cases verified bit-exact with ${engines.map((e) => e.description).join(' and ')}`);
    return failures.length === 0 ? 0 : 1;
  },
};

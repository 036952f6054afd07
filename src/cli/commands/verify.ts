import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareTensors } from '../../diff/compare.js';
import { canonicalJson } from '../../contracts/validate.js';
import { contractForCase, readGolden, sha256Hex } from '../../fixtures/golden.js';
import { readManifest } from '../../fixtures/manifest.js';
import { parseArgs } from 'node:util';
import { usageErrors, progressReporter } from '../args.js';
import { UsageError } from '../errors.js';
import { openEngines, ENGINE_OPTION } from '../engineOption.js';

export const verifyCommand = {
  name: 'verify',
  usage: 'verify DIR [--engine all|cpu|webgpu|auto] [--adapter auto|vulkan|swiftshader|llvmpipe]',
  summary: 'check digests, then recompute every golden in DIR on every engine (default: cpu and webgpu) and compare bits',
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = usageErrors(() => parseArgs({ args: argv, options: { ...ENGINE_OPTION }, allowPositionals: true }));
    if (positionals.length !== 1) throw new UsageError('verify takes one suite directory');
    const dir = positionals[0];
    const manifest = readManifest(dir);
    const engines = await openEngines(values.engine, values.adapter);
    const failures: string[] = [];
    const progress = progressReporter('verify');
    try {
      for (const [i, entry] of manifest.cases.entries()) {
        const path = join(dir, entry.file);
        const digest = sha256Hex(new Uint8Array(readFileSync(path)));
        if (digest !== entry.sha256) {
          failures.push(`${entry.file}: sha256 ${digest} does not match the manifest's ${entry.sha256}`);
          continue;
        }
        const golden = readGolden(path);
        if (canonicalJson(golden.contract) !== canonicalJson(contractForCase(golden.spec))) {
          failures.push(`${entry.file}: its contract differs from preset '${golden.spec.preset}' as defined now (regenerate the suite)`);
        }
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

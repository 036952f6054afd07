import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compareTensors } from '../../diff/compare.js';
import { canonicalJson } from '../../contracts/validate.js';
import { goldenContractProblem } from '../../fixtures/customCase.js';
import { readGolden, sha256Hex, type GoldenFile } from '../../fixtures/golden.js';
import { caseId } from '../../fixtures/caseSpec.js';
import { MANIFEST_FILE, readManifest, type ManifestEntry } from '../../fixtures/manifest.js';
import { readInputFile } from '../../fixtures/safetensors.js';
import { isStaleTempFile, LOCK_FILE } from '../../fixtures/suiteLock.js';
import { parseCommandArgs, progressReporter, PROGRESS_OPTION, type Command } from '../args.js';
import { FormatError, UsageError, UserError } from '../errors.js';
import { openEngines, ENGINE_OPTION } from '../engineOption.js';
import { ContractError } from '../../contracts/validate.js';

// verify holds a suite directory to its manifest before it recomputes anything: the folder must
// hold exactly the listed files (plus the manifest, a writer's lock, and a killed writer's temp files, which
// the next writer removes), each listed once, each
// entry's every field must match its file, and each golden's contract must be its preset's. Any
// of these failing makes the directory not a suite: exit 2, nothing recomputed. A file whose
// digest differs, or whose bits an engine does not reproduce, is a verification failure: exit 1.

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Problems with the directory as a whole: empty, duplicated, unlisted entries. */
function folderProblems(dir: string, cases: readonly ManifestEntry[]): string[] {
  const problems: string[] = [];
  if (cases.length === 0) problems.push(`${join(dir, MANIFEST_FILE)}: lists no cases`);
  const seen = new Set<string>();
  for (const entry of cases) {
    if (seen.has(entry.file)) problems.push(`${entry.file}: listed more than once in the manifest`);
    seen.add(entry.file);
  }
  for (const name of readdirSync(dir).sort()) {
    if (name !== MANIFEST_FILE && name !== LOCK_FILE && !isStaleTempFile(name) && !seen.has(name)) problems.push(`${name}: in ${dir} but not in its manifest`);
  }
  return problems;
}

/** Reads one listed golden and checks every field of its entry; problems go to the lists. */
function checkEntry(dir: string, entry: ManifestEntry, malformed: string[], failures: string[]): GoldenFile | null {
  const path = join(dir, entry.file);
  if (entry.file !== `${caseId(entry.case)}.safetensors`) {
    malformed.push(`${entry.file}: is not named for its case (${caseId(entry.case)}.safetensors)`);
    return null;
  }
  const bytes = readInputFile(path, 'listed golden');
  if (bytes.length !== entry.bytes) {
    malformed.push(`${entry.file}: ${bytes.length} bytes, the manifest says ${entry.bytes}`);
    return null;
  }
  const digest = sha256Hex(bytes);
  if (digest !== entry.sha256) {
    failures.push(`${entry.file}: sha256 ${digest} does not match the manifest's ${entry.sha256}`);
    return null;
  }
  let golden: GoldenFile;
  try {
    golden = readGolden(path);
  } catch (e) {
    if (!(e instanceof UserError || e instanceof ContractError)) throw e;
    malformed.push(`${entry.file}: ${e.message.replace(/\n\s*/g, ' ')}`);
    return null;
  }
  const problems: string[] = [];
  if (canonicalJson(golden.spec) !== canonicalJson(entry.case))
    problems.push(`its case ${canonicalJson(golden.spec)} is not the manifest's ${canonicalJson(entry.case)}`);
  if (!sameList([...golden.outputs.keys()].sort(), [...entry.outputs].sort())) {
    problems.push(`its outputs [${[...golden.outputs.keys()].join(', ')}] are not the manifest's [${entry.outputs.join(', ')}]`);
  }
  try {
    const contractProblem = goldenContractProblem(golden);
    if (contractProblem !== null) problems.push(contractProblem);
  } catch (e) {
    if (!(e instanceof ContractError)) throw e;
    problems.push(e.message);
  }
  for (const p of problems) malformed.push(`${entry.file}: ${p}`);
  return problems.length === 0 ? golden : null;
}

const OPTIONS = {
  engine: {
    type: 'string',
    value: 'all|cpu|webgpu|auto',
    help: 'the engines that recompute each golden: all (default: cpu, plus webgpu where an adapter exists), cpu, webgpu or auto',
  },
  adapter: ENGINE_OPTION.adapter,
  ...PROGRESS_OPTION,
} as const;

export const verifyCommand: Command = {
  name: 'verify',
  usage: 'verify DIR [--engine all|cpu|webgpu|auto] [--adapter auto|vulkan|swiftshader|llvmpipe]',
  summary: 'check the folder against its manifest, then recompute every golden in DIR on every engine (default: cpu and webgpu) and compare bits',
  positionals: [{ name: 'DIR', help: 'a suite folder with manifest.json (what gen and suite write)' }],
  options: OPTIONS,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs(OPTIONS, argv, true);
    if (positionals.length !== 1) throw new UsageError('verify takes one suite directory');
    const dir = positionals[0];
    const manifest = readManifest(dir);
    const malformed = folderProblems(dir, manifest.cases);
    const failures: string[] = [];
    const goldens: { entry: ManifestEntry; golden: GoldenFile }[] = [];
    if (malformed.length === 0) {
      for (const entry of manifest.cases) {
        const golden = checkEntry(dir, entry, malformed, failures);
        if (golden) goldens.push({ entry, golden });
      }
    }
    if (malformed.length > 0) {
      for (const m of malformed) console.log(`FAIL ${m}`);
      throw new FormatError(`${dir}: not a valid suite (${malformed.length} problem(s) listed above: ${malformed[0]}); nothing was recomputed`);
    }
    const engines = await openEngines(values.engine, values.adapter);
    const progress = progressReporter('verify', values.progress);
    try {
      for (const [i, { entry, golden }] of goldens.entries()) {
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
            // Bits, not values: a golden is our engines' output, NaN sign and payload included
            // (src/numerics/f32ops.ts), so a NaN with other bits is a failure here, as diff would
            // not call it one against a kernel.
            let bitsDiffer = 0;
            for (let i = 0; i < expected.data.length; i++) if (expected.data[i] !== actual.data[i]) bitsDiffer++;
            if (bitsDiffer > 0) {
              const c = compareTensors(expected, actual);
              failures.push(
                `${entry.file}: ${engine.description}: ${name}: ${bitsDiffer}/${c.elements} elements differ in their bits ` +
                  `(${c.differing} by value, max ${c.maxUlp} ULP, ${c.nanMismatches} NaN against a number)`,
              );
            }
          }
        }
        progress(i + 1, goldens.length, entry.file);
      }
    } finally {
      for (const engine of engines) await engine.close();
    }
    for (const f of failures) console.log(`FAIL ${f}`);
    console.log(
      `${manifest.cases.length - new Set(failures.map((f) => f.split(':')[0])).size}/${manifest.cases.length} cases verified bit-exact with ` +
        `${engines.map((e) => e.description).join(' and ')}`,
    );
    return failures.length === 0 ? 0 : 1;
  },
};

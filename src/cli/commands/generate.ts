import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, relative, resolve, isAbsolute } from 'node:path';
import type { Engine } from '../../engines/engine.js';
import { caseId, type CaseSpec } from '../../fixtures/caseSpec.js';
import { buildCase, writeGolden, type BuiltCase } from '../../fixtures/golden.js';
import { MANIFEST_FILE, readManifest, writeManifest, type ManifestEntry } from '../../fixtures/manifest.js';
import { existsSync } from 'node:fs';
import { ULPWISE_VERSION } from '../../version.js';
import { PACKAGE_ROOT } from '../../packageRoot.js';
import { progressReporter } from '../args.js';
import { UsageError } from '../errors.js';

/** Where `gen` writes without --out: a folder of the user's own, never the committed golden/. */
export const DEFAULT_GEN_OUT = 'ulpwise-out';

function inside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The project's committed golden/ is written from inside the project only (npm start, a
 *  maintainer regenerating the suite), never by a run that merely points --out at it. */
export function checkOutputDirectory(dir: string): void {
  if (inside(resolve(dir), join(PACKAGE_ROOT, 'golden')) && !inside(process.cwd(), PACKAGE_ROOT)) {
    throw new UsageError(`--out ${dir} is ulpwise's own committed golden/ folder; write your cases elsewhere (the default is ./${DEFAULT_GEN_OUT})`);
  }
}

/** Generates cases into DIR; with `replaceSuite`, DIR ends up holding exactly these cases.
 *  `build` turns a spec into its case (a custom case passes the one it built). */
export async function generateCases(dir: string, specs: readonly CaseSpec[], engine: Engine, replaceSuite: boolean, build: (spec: CaseSpec) => BuiltCase = buildCase, showProgress = false): Promise<ManifestEntry[]> {
  checkOutputDirectory(dir);
  mkdirSync(dir, { recursive: true });
  const previous = !replaceSuite && existsSync(join(dir, MANIFEST_FILE)) ? readManifest(dir).cases : [];
  const progress = progressReporter('gen', showProgress);
  const written: ManifestEntry[] = [];
  for (const [i, spec] of specs.entries()) {
    const built = build(spec);
    const outputs = await engine.run(built.contract, built.shape, built.inputs);
    const { file, sha256, bytes } = writeGolden(dir, built, outputs);
    written.push({ file, case: built.spec, sha256, bytes, outputs: [...outputs.keys()] });
    progress(i + 1, specs.length, caseId(spec));
  }
  const names = new Set(written.map((e) => e.file));
  const entries = [...previous.filter((e) => !names.has(e.file)), ...written];
  writeManifest(dir, { ulpwise: ULPWISE_VERSION, cases: entries });
  if (replaceSuite) {
    // Files of an older suite would otherwise sit beside the manifest unlisted.
    for (const f of readdirSync(dir)) if (f.endsWith('.safetensors') && !names.has(f)) rmSync(join(dir, f));
  }
  return entries;
}

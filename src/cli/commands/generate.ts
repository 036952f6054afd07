import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../../engines/engine.js';
import { caseId, type CaseSpec } from '../../fixtures/caseSpec.js';
import { buildCase, writeGolden } from '../../fixtures/golden.js';
import { MANIFEST_FILE, readManifest, writeManifest, type ManifestEntry } from '../../fixtures/manifest.js';
import { existsSync } from 'node:fs';
import { ULPWISE_VERSION } from '../../version.js';
import { progressReporter } from '../args.js';

/** Generates cases into DIR; with `replaceSuite`, DIR ends up holding exactly these cases. */
export async function generateCases(dir: string, specs: readonly CaseSpec[], engine: Engine, replaceSuite: boolean): Promise<ManifestEntry[]> {
  mkdirSync(dir, { recursive: true });
  const previous = !replaceSuite && existsSync(join(dir, MANIFEST_FILE)) ? readManifest(dir).cases : [];
  const progress = progressReporter('gen');
  const written: ManifestEntry[] = [];
  for (const [i, spec] of specs.entries()) {
    const built = buildCase(spec);
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

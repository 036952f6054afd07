import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as diffNow from '../src/diff/diff.js';
import * as explainNow from '../src/diff/explain.js';
import * as filesNow from '../src/diff/files.js';

// Same reports, old build and new (issue 16: the rstd search and explain made faster must report
// the same thing): `diff --rstd infer --json` and `explain --rstd infer --json` as this build and
// an older one (--old DIST, its dist/ folder) compute them, compared as JSON text. Cases: every
// ordered pair of committed goldens with the same inputs (diff where their outputs pair up;
// explain on --explain-pairs of them, spread over the list), and the files given with --pair
// GOLDEN,CANDIDATE (planted cases written by `ulpwise gen`). Exit 1 when any report differs.
// Usage: node dist/bench/reports.js --old OLD/dist [--golden DIR] [--explain-pairs K] [--pair G,C]...

interface Modules {
  diff: typeof diffNow;
  explain: typeof explainNow;
  files: typeof filesNow;
}

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
}
const listed = (name: string): string[] => process.argv.flatMap((a, i) => (a === name ? [process.argv[i + 1]] : []));

const oldDist = option('--old', '');
if (!oldDist) throw new Error('--old DIST is required');
const load = async (file: string): Promise<unknown> => import(pathToFileURL(resolve(oldDist, file)).href);
const old: Modules = {
  diff: (await load('src/diff/diff.js')) as typeof diffNow,
  explain: (await load('src/diff/explain.js')) as typeof explainNow,
  files: (await load('src/diff/files.js')) as typeof filesNow,
};
const now: Modules = { diff: diffNow, explain: explainNow, files: filesNow };
const goldenDir = option('--golden', 'golden');
const explainPairs = Number(option('--explain-pairs', '40'));
const RSTD_ULPS = 4;

interface ManifestCase {
  file: string;
  case: { ranks: number; tokens: number; hidden: number; inputs: string; seed: number; group: number | null };
  outputs: string[];
}
const cases = (JSON.parse(readFileSync(join(goldenDir, 'manifest.json'), 'utf8')) as { cases: ManifestCase[] }).cases;
const sameInputs = new Map<string, ManifestCase[]>();
for (const c of cases) {
  const k = c.case;
  const key = `${k.ranks}|${k.tokens}|${k.hidden}|${k.inputs}|${k.seed}|${k.group}`;
  sameInputs.set(key, [...(sameInputs.get(key) ?? []), c]);
}
const pairs: [string, string][] = [];
for (const group of sameInputs.values())
  for (const a of group) for (const b of group) if (a !== b) pairs.push([join(goldenDir, a.file), join(goldenDir, b.file)]);
const planted = listed('--pair').map((p) => p.split(',') as [string, string]);
const known = new Set(readdirSync(goldenDir));
if (planted.some(([g, c]) => !g || !c)) throw new Error('--pair takes GOLDEN,CANDIDATE');

async function report(m: Modules, tool: 'diff' | 'explain', golden: string, candidate: string): Promise<string> {
  try {
    const subject = m.files.loadGolden(golden);
    const outputs = m.files.loadCandidate(candidate, tool === 'diff' ? subject : undefined);
    const r =
      tool === 'diff'
        ? m.diff.diffOutputs(subject, outputs, candidate, { ...m.diff.DEFAULT_DIFF_OPTIONS, rstdUlps: RSTD_ULPS })
        : await m.explain.explainCandidate(subject, outputs, candidate, { rstdUlps: RSTD_ULPS });
    return JSON.stringify(r);
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

const digest = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);
let compared = 0;
let differing = 0;
let rstdRows = 0;
let bothFailed = 0;
async function check(tool: 'diff' | 'explain', golden: string, candidate: string): Promise<void> {
  // An older build's explainCandidate returns the report, this build's a promise of it.
  const a = await report(old, tool, golden, candidate);
  const b = await report(now, tool, golden, candidate);
  compared++;
  if (a === b && a.startsWith('error:')) {
    bothFailed++;
    return;
  }
  const parsed = JSON.parse(b) as { rstd?: { examined: number } | null; approximations?: { rstd: { rows: unknown[] } | null } };
  rstdRows += parsed.rstd?.examined ?? parsed.approximations?.rstd?.rows.length ?? 0;
  if (a !== b) {
    differing++;
    console.log(`DIFFERS ${tool} ${golden} ${candidate}: old ${digest(a)} new ${digest(b)}`);
  }
}

const started = performance.now();
let diffs = 0;
for (const [g, c] of pairs) {
  // diff needs every golden output paired; pairs whose output names differ are skipped by both.
  const outputsOf = (f: string): string => cases.find((x) => join(goldenDir, x.file) === f)!.outputs.join(',');
  if (outputsOf(g) !== outputsOf(c)) continue;
  await check('diff', g, c);
  diffs++;
}
const step = Math.max(1, Math.floor(pairs.length / Math.max(1, explainPairs)));
let explains = 0;
for (let i = 0; i < pairs.length && explains < explainPairs; i += step, explains++) await check('explain', ...pairs[i]);
for (const [g, c] of planted) {
  await check('diff', g, c);
  await check('explain', g, c);
}
console.log(
  `${compared} reports compared (${diffs} diff on golden pairs, ${explains} explain on golden pairs, ${planted.length} planted pairs x diff and explain; ` +
    `${known.size} files in ${goldenDir}); rstd rows examined or shifted: ${rstdRows}; ${bothFailed} refused alike by both; ${differing} differ; ` +
    `${((performance.now() - started) / 1000).toFixed(0)} s`,
);
process.exit(differing === 0 ? 0 : 1);

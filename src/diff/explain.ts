import { listPresets } from '../contracts/presets.js';
import type { Contract } from '../contracts/schema.js';
import { canonicalJson, checkContractForShape, ContractError, parseContract } from '../contracts/validate.js';
import { runCpuEngine } from '../engines/cpu/engine.js';
import type { Tensor } from '../numerics/tensor.js';
import { sameCode, ulpFormatOf } from './compare.js';
import { DIMENSIONS, describeValue, dimensionDiff, everySite, getPath, withFields } from './dimensions.js';
import type { GoldenSubject } from './diff.js';
import { ExplainReportSchema, type ExplainReport, type HypothesisReport } from './explainReport.js';
import { incompatibility, outputGeometry, parseOutputName, referenceNameFor, type OutputPair } from './pairs.js';
import { inferRstd, shiftCount, shiftedRows, type RstdShifts } from './rstd.js';

// `ulpwise explain`: which contract produced a candidate's outputs? A beam search over contracts,
// each run on the golden's inputs and scored by its bit-exact share per candidate output:
//   1. every preset that fits the inputs, under both bf16 downcasts (truncation is a property of
//      the platform, gfx942, not of the kernel);
//   2. single-dimension variants of the best few, then of the best variant.
// The search scores a sample of token rows; the leading hypotheses, every preset and the best's
// neighbours are then scored on all rows. The answer names the best hypothesis, the dimensions
// separating it from the next named preset, the dimensions the data pins down, and the ones it
// cannot tell apart.

export interface ExplainOptions {
  /** Count rows an rstd shift of up to this many f32 ULP explains as matching; null: off. */
  readonly rstdUlps: number | null;
  readonly progress?: (message: string) => void;
}

interface Hypothesis {
  readonly name: string;
  readonly kind: 'preset' | 'variant';
  readonly base: string | null;
  readonly changes: readonly { path: string; value: string }[];
  readonly contract: Contract;
  readonly key: string;
}

interface Score {
  readonly score: number;
  readonly outputs: HypothesisReport['outputs'];
  readonly rstdExplainedRows: number;
}

interface Scored extends Hypothesis {
  readonly order: number;
  /** Other presets with this contract (as far as the candidate's outputs can tell). */
  readonly aliases: string[];
  search: Score;
  full: Score | null;
}

/** Rows scored during the search; the rest are scored only for the leading hypotheses. */
const SEARCH_ROWS = 4;
/** Hypotheses expanded into their single-dimension variants in the second round. */
const BEAM = 2;
/** Leading hypotheses (by search score) rescored on every row, and leading presets. */
const FINALISTS = 10;
const FINALIST_PRESETS = 4;
/** Rows probed for an rstd explanation before all differing rows are searched. */
const RSTD_PROBE_ROWS = 2;

/** Evenly spaced rows, first and last included. */
function sampleRows(tokens: number, count: number): number[] {
  if (tokens <= count) return Array.from({ length: tokens }, (_, m) => m);
  return [...new Set(Array.from({ length: count }, (_, i) => Math.round((i * (tokens - 1)) / (count - 1))))];
}

/** A hardware-op slot 'inferred' documents the real kernel and never changes the engines' bits
 *  (they compute the ieee value): hypotheses that differ only there are one hypothesis. */
function dedupeKey(contract: Contract): string {
  const asComputed = (op: string): string => (op === 'inferred' ? 'ieee' : op);
  const { rsqrt, reciprocal, divide } = contract.hardwareOps;
  return canonicalJson({ ...contract, hardwareOps: { rsqrt: asComputed(rsqrt), reciprocal: asComputed(reciprocal), divide: asComputed(divide) } });
}

export function explainCandidate(golden: GoldenSubject, candidate: ReadonlyMap<string, Tensor>, candidateFile: string, options: ExplainOptions): ExplainReport {
  const { shape, inputs } = golden;
  const weightDtype = inputs.weight.dtype;
  const group = golden.contract.quant?.groupSize;
  const candidateHasQuant = [...candidate.keys()].some((n) => {
    const kind = parseOutputName(n)?.kind;
    return kind === 'q' || kind === 'scale';
  });
  const searchRows = sampleRows(shape.tokens, SEARCH_ROWS);
  const sampled = searchRows.length < shape.tokens;
  const scored = new Map<string, Scored>();
  let runs = 0;

  /** The contract adapted to the golden's inputs (its quant group size; no quant when the
   *  candidate has no FP8 outputs and the norm output does not depend on it), or null when it
   *  cannot run on them. */
  const fit = (contract: Contract): Contract | null => {
    if ((contract.norm.weight.dtype === 'bf16' ? 'BF16' : 'F32') !== weightDtype) return null;
    if (contract.residual && !inputs.residual) return null;
    try {
      let adapted = contract;
      if (adapted.quant && !candidateHasQuant && adapted.quant.bf16SideOutput) adapted = parseContract({ ...adapted, quant: null });
      if (adapted.quant && group !== undefined && adapted.quant.groupSize !== group) adapted = parseContract({ ...adapted, quant: { ...adapted.quant, groupSize: group } });
      checkContractForShape(adapted, shape);
      return adapted;
    } catch (e) {
      if (e instanceof ContractError) return null;
      throw e;
    }
  };

  const scoreOf = (contract: Contract, rows: readonly number[] | null): Score => {
    const outputs = runCpuEngine(contract, shape, inputs, rows ? { rows } : {});
    runs++;
    const pairs: OutputPair[] = [];
    const notes = new Map<string, string>();
    for (const [name, tensor] of candidate) {
      const referenceName = referenceNameFor(name, outputs);
      if (!referenceName) {
        notes.set(name, 'not produced by this contract');
        continue;
      }
      const why = incompatibility(outputs.get(referenceName)!, tensor, "this contract's");
      const parsed = parseOutputName(name)!;
      if (why) notes.set(name, why);
      else pairs.push({ name, referenceName, kind: parsed.kind, rank: parsed.rank, reference: outputs.get(referenceName)!, candidate: tensor });
    }
    const rowSet = rows ? new Set(rows) : null;
    let shifts: RstdShifts = new Map();
    if (options.rstdUlps !== null) {
      const subject = { contract, shape, inputs };
      const scope = rowSet ? { rows: rowSet } : {};
      const probe = inferRstd(subject, pairs, options.rstdUlps, { ...scope, rowLimit: RSTD_PROBE_ROWS });
      runs += probe.engineRuns;
      shifts = probe.shifts;
      if (shiftCount(probe.shifts) > 0 && probe.report.examined >= RSTD_PROBE_ROWS) {
        const all = inferRstd(subject, pairs, options.rstdUlps, scope);
        runs += all.engineRuns;
        shifts = all.shifts;
      }
    }
    const shares = new Map<string, number>();
    for (const p of pairs) {
      const geometry = outputGeometry(p.kind, shape, contract);
      const format = ulpFormatOf(p.reference.dtype);
      const explained = shiftedRows(shifts, p.rank);
      let matching = 0;
      let counted = 0;
      const count = (i: number): void => {
        counted++;
        if (sameCode(p.reference.data[i], p.candidate.data[i], format) || (explained.size > 0 && explained.has(geometry.rowOf(i)))) matching++;
      };
      if (rows) for (const m of rows) for (let k = 0; k < geometry.rowLength; k++) count(geometry.indexOf(m, k));
      else for (let i = 0; i < p.reference.data.length; i++) count(i);
      shares.set(p.name, counted === 0 ? 1 : matching / counted);
    }
    const reports = [...candidate.keys()].map((name) => ({ name, share: shares.get(name) ?? 0, note: notes.get(name) ?? null }));
    return { score: reports.reduce((a, o) => a + o.share, 0) / reports.length, outputs: reports, rstdExplainedRows: shiftCount(shifts) };
  };

  const evaluate = (h: Hypothesis): Scored => {
    const existing = scored.get(h.key);
    if (existing) {
      // Presets with one contract are one hypothesis under several names.
      if (h.kind === 'preset' && existing.kind === 'preset' && h.name !== existing.name && !existing.aliases.includes(h.name)) existing.aliases.push(h.name);
      return existing;
    }
    const search = scoreOf(h.contract, sampled ? searchRows : null);
    const result: Scored = { ...h, order: scored.size, aliases: [], search, full: sampled ? null : search };
    scored.set(h.key, result);
    options.progress?.(`${runs} engine runs, ${scored.size} hypotheses`);
    return result;
  };

  const variant = (h: Scored | Hypothesis, fields: Readonly<Record<string, unknown>>): void => {
    const changed = withFields(h.contract, fields);
    const contract = changed && fit(changed);
    if (!contract) return;
    const base = h.base ?? h.name;
    const newChanges = Object.entries(fields).map(([path, value]) => ({ path, value: describeValue(value) }));
    const changes = [...h.changes.filter((c) => !(c.path in fields)), ...newChanges];
    evaluate({ name: `${base} + ${changes.map((c) => `${c.path}=${c.value}`).join(' + ')}`, kind: 'variant', base, changes, contract, key: dedupeKey(contract) });
  };

  const variantsOf = (h: Scored): void => {
    for (const dimension of DIMENSIONS) {
      if (dimension.quantOnly && !candidateHasQuant) continue;
      for (const fields of dimension.options) {
        const alreadySo = Object.entries(fields).every(([path, value]) => canonicalJson(getPath(h.contract, path) ?? null) === canonicalJson(value));
        if (!alreadySo) variant(h, fields);
      }
    }
  };

  const byScore = (pick: (s: Scored) => Score | null) => (a: Scored, b: Scored): number =>
    (pick(b)?.score ?? -1) - (pick(a)?.score ?? -1) || (a.kind === b.kind ? 0 : a.kind === 'preset' ? -1 : 1) || a.changes.length - b.changes.length || a.order - b.order;
  const searchRanked = (): Scored[] => [...scored.values()].sort(byScore((s) => s.search));

  // Round 1: every preset on these inputs, with the platform's bf16 downcast either way.
  const presetHypotheses: Hypothesis[] = [];
  for (const preset of listPresets()) {
    if (preset.ranks !== undefined && preset.ranks !== shape.ranks) continue;
    const contract = fit(preset.contract);
    if (!contract) continue;
    const h: Hypothesis = { name: preset.name, kind: 'preset', base: null, changes: [], contract, key: dedupeKey(contract) };
    presetHypotheses.push(h);
    evaluate(h);
  }
  if (presetHypotheses.length === 0) throw new ContractError(`no preset runs on the inputs of ${golden.file}`);
  for (const h of presetHypotheses) variant(h, { bf16Rounding: everySite(h.contract.bf16Rounding.normOut === 'rne' ? 'truncate' : 'rne') });
  // Round 2: single-dimension variants of the leading hypotheses.
  for (const h of searchRanked().slice(0, BEAM)) variantsOf(h);
  // Round 3: the leader's own neighbours, when the leader is a variant not yet expanded.
  const leader = searchRanked()[0];
  if (leader.kind === 'variant') variantsOf(leader);

  // Rescore on every row: the finalists, every preset, and the best's neighbours.
  const rescore = (h: Scored): void => {
    h.full ??= scoreOf(h.contract, null);
  };
  const presetNamed = (name: string): Scored | undefined => [...scored.values()].find((h) => h.kind === 'preset' && h.name === name);
  if (sampled) {
    const ranked = searchRanked();
    for (const h of ranked.slice(0, FINALISTS)) rescore(h);
    for (const h of ranked.filter((x) => x.kind === 'preset').slice(0, FINALIST_PRESETS)) rescore(h);
    for (const h of ranked) if (h.search.score === ranked[0].search.score) rescore(h);
    for (const h of ranked.slice(0, FINALISTS)) if (h.base) rescore(presetNamed(h.base)!);
  }
  const fullRanked = (): Scored[] => [...scored.values()].filter((h) => h.full).sort(byScore((s) => s.full));
  const best = fullRanked()[0];
  if (best.base) rescore(presetNamed(best.base)!);
  const neighbours = [...scored.values()].filter((h) => h !== best && dimensionDiff(best.contract, h.contract).length === 1);
  for (const h of neighbours) rescore(h);
  options.progress?.(`${runs} engine runs, ${scored.size} hypotheses`);

  const all = fullRanked();
  const fullOf = (h: Scored): Score => h.full!;
  // The named preset nearest the answer: the preset a variant was derived from, else the
  // best-scoring other preset.
  const runner = (best.base ? presetNamed(best.base) : all.find((h) => h.kind === 'preset' && fullOf(h).score < fullOf(best).score)) ?? null;
  const confirmed: ExplainReport['confirmed'] = [];
  const undetermined: ExplainReport['undetermined'] = [];
  const byPath = new Map<string, { value: string; alternatives: { value: string; score: number }[] }>();
  for (const h of neighbours) {
    const [d] = dimensionDiff(best.contract, h.contract);
    const entry = byPath.get(d.path) ?? { value: d.a, alternatives: [] };
    entry.alternatives.push({ value: d.b, score: fullOf(h).score });
    byPath.set(d.path, entry);
  }
  for (const [path, { value, alternatives }] of byPath) {
    const ties = alternatives.filter((a) => a.score === fullOf(best).score);
    if (ties.length > 0) {
      const ruledOut = alternatives.filter((a) => a.score !== fullOf(best).score).map((a) => a.value);
      undetermined.push({ path, value, alternatives: [...new Set(ties.map((a) => a.value))], ruledOut: [...new Set(ruledOut)] });
    } else {
      const strongest = alternatives.reduce((a, b) => (b.score > a.score ? b : a));
      confirmed.push({ path, value, alternative: strongest.value, alternativeScore: strongest.score });
    }
  }
  confirmed.sort((a, b) => a.alternativeScore - b.alternativeScore);
  const report: ExplainReport = {
    golden: { file: golden.file, preset: golden.preset, ranks: shape.ranks, tokens: shape.tokens, hidden: shape.hidden },
    candidate: { file: candidateFile, outputs: [...candidate.keys()] },
    rstdUlps: options.rstdUlps,
    engineRuns: runs,
    searched: scored.size,
    searchRows: sampled ? searchRows : null,
    hypotheses: all.map((h) => ({ name: h.name, aliases: [...h.aliases], kind: h.kind, base: h.base, changes: [...h.changes], ...fullOf(h) })),
    best: best.name,
    exact: fullOf(best).score === 1,
    runnerUp: runner && {
      name: runner.name,
      score: fullOf(runner).score,
      separatedBy: dimensionDiff(best.contract, runner.contract).map((d) => ({ path: d.path, best: d.a, other: d.b })),
    },
    vsGolden: dimensionDiff(fit(golden.contract) ?? golden.contract, best.contract).map((d) => ({ path: d.path, golden: d.a, best: d.b })),
    confirmed,
    undetermined,
  };
  return ExplainReportSchema.parse(report);
}

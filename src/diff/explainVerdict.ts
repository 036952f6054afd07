import { genCommandFor } from '../contracts/overrides.js';
import type { Contract, Shape } from '../contracts/schema.js';
import { canonicalJson } from '../contracts/validate.js';
import { describeValue, dimensionDiff, getPath } from './dimensions.js';
import type { Rescore } from './explainRescore.js';
import type { SearchResult } from './explainSearch.js';
import type { ExplainReport, StageReport } from './explainReport.js';
import { describeRstdMiss } from './rstd.js';

// The verdict: what the search and the rescoring mean, in the report's terms. Per stage, each
// dimension's fitted value and the values it ties with; the verdict class; the nearest preset
// and the golden's contract, dimension by dimension; and the gen command for the fit.

/** A bug verdict: unexplained elements confined to at most this share of the (output, row)
 *  pairs, and at least one pair allowed. */
const BUG_ROW_SHARE = 0.05;

/** The file name the gen command reads the fitted contract from. */
export const FITTED_CONTRACT_FILE = 'explained-contract.json';

export interface VerdictInput {
  readonly search: SearchResult;
  readonly rescore: Rescore;
  readonly shape: Shape;
  readonly paths: readonly string[];
  readonly presets: readonly { readonly name: string; readonly contract: Contract }[];
  readonly goldenContract: Contract;
  /** The preset the golden was made with: named first among equally near presets. */
  readonly goldenPreset: string;
  readonly candidateOutputs: number;
}

export function verdictOf(rescore: Rescore, shape: Shape, candidateOutputs: number): ExplainReport['verdict'] {
  const differing = rescore.outputs.reduce((n, o) => n + o.differing, 0);
  if (differing === 0) return 'bit-exact';
  if (rescore.unexplainedCount === 0) return 'approximate';
  const allowed = Math.max(1, Math.floor(BUG_ROW_SHARE * shape.tokens * candidateOutputs));
  return rescore.unexplainedRows <= allowed ? 'bug' : 'unexplained';
}

/** `ulpwise gen` for the fitted contract, read from a JSON file (issue 17's `gen --contract`). */
export function genCommand(contract: Contract, shape: Shape): ExplainReport['gen'] {
  return {
    command: genCommandFor(contract, shape, undefined, FITTED_CONTRACT_FILE).command,
    contractFile: FITTED_CONTRACT_FILE,
    contractJson: canonicalJson(contract),
  };
}

function stageReports(search: SearchResult, rescore: Rescore): StageReport[] {
  return search.stages.map((s) => ({
    stage: s.stage,
    outputs: [...s.outputs],
    evaluated: s.evaluated,
    probeMismatches: s.mismatches,
    grid: s.grid,
    dimensions: search.dimensions
      .filter((d) => d.decidedBy === s.stage)
      .map((d) => ({ path: d.path, value: describeValue(getPath(rescore.contract, d.path)), ties: (rescore.ties.get(d.path) ?? []).map(describeValue) })),
  }));
}

export function verdictReport(input: VerdictInput): Omit<ExplainReport, 'golden' | 'candidate' | 'probeRows' | 'engineRuns'> {
  const { search, rescore, shape, paths } = input;
  const fitted = rescore.contract;
  // The fewest differences; among equals, the golden's own preset, then the first listed.
  const distances = input.presets.map((p) => ({ name: p.name, differences: dimensionDiff(p.contract, fitted, paths) }));
  const fewest = Math.min(...distances.map((d) => d.differences.length));
  const nearestAll = distances.filter((d) => d.differences.length === fewest);
  const nearest = nearestAll.find((d) => d.name === input.goldenPreset) ?? nearestAll[0];
  return {
    tieRows: [...rescore.tieRows],
    stages: stageReports(search, rescore),
    contract: fitted,
    verdict: verdictOf(rescore, shape, input.candidateOutputs),
    outputs: rescore.outputs.map((o) => ({ ...o })),
    approximations: {
      rstd: rescore.rstd && {
        ulps: rescore.rstd.ulps,
        rows: rescore.rstd.explained.map((e) => ({ ...e })),
        misses: rescore.rstd.unexplained.map((u) => ({ rank: u.rank, row: u.row, reason: u.reason, message: describeRstdMiss(u) })),
      },
      scale: rescore.scale && {
        ulps: rescore.scale.ulps,
        groups: rescore.scale.explained.map((g) => ({ ...g })),
        misses: rescore.scale.unexplained.map((g) => ({ ...g })),
      },
    },
    unexplained: rescore.unexplained.map((e) => ({ ...e })),
    unexplainedCount: rescore.unexplainedCount,
    nearestPreset: {
      name: nearest.name,
      differences: nearest.differences.map((d) => ({ path: d.path, preset: d.a, fitted: d.b })),
      alsoNearest: nearestAll.filter((d) => d !== nearest).map((d) => d.name),
    },
    vsGolden: dimensionDiff(input.goldenContract, fitted, paths).map((d) => ({ path: d.path, golden: d.a, fitted: d.b })),
    gen: genCommand(fitted, shape),
  };
}

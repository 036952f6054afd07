import type { Contract } from '../contracts/schema.js';
import { ContractError, parseContract } from '../contracts/validate.js';
import type { OutputKind } from '../engines/io.js';
import type { Tensor } from '../numerics/tensor.js';
import type { GoldenSubject } from './diff.js';
import { ExplainReportSchema, type ExplainReport } from './explainReport.js';
import { cpuFittedOutputs, refineFit, rescore, type FittedOutputs, type RefinedFit } from './explainRescore.js';
import { RowScorer, spreadRows, type ApproximationOptions, type ExplainProblem } from './explainScore.js';
import { searchStages, type SearchResult } from './explainSearch.js';
import { presetContracts, searchDimensions, type SearchDimension } from './explainSpace.js';
import { defaultScoreThreads, ScoreThreads } from './scoreThreads.js';
import { verdictReport } from './explainVerdict.js';
import { parseOutputName } from './pairs.js';

// `ulpwise explain`: which contract produced a candidate's outputs? Three pieces:
//   search (explainSearch.ts): fit the stages in order on a few token rows, each against its
//     own outputs, over every value of the schema's dimensions, seeded by the presets;
//   rescoring (explainRescore.ts): the fit on every row, approximate hardware slots, the
//     elements nothing explains, ties confirmed on more rows;
//   verdict (explainVerdict.ts): the report.

export interface ExplainOptions {
  /** Search a per-row rstd shift up to this many f32 ULP (an approximate rsqrt); null: only when
   *  the fit marks rsqrt 'inferred'. */
  readonly rstdUlps: number | null;
  /** Search a per-group scale shift up to this many f32 ULP (an approximate reciprocal or
   *  divide); null: only when the fit marks one 'inferred'. */
  readonly scaleUlps?: number | null;
  readonly progress?: (message: string) => void;
  /** Worker threads the search's batches are scored on (scoreThreads.ts); defaultScoreThreads
   *  unless given, none below 2. The report is the same whatever the count. */
  readonly scoreThreads?: number;
}

/** What explain reads of a golden: its contract, shape, inputs and names, not its outputs (the
 *  command lets those go once the candidate is read: src/cli/commands/explain.ts). */
export type ExplainedGolden = Omit<GoldenSubject, 'outputs'>;

/** Token rows every stage is fitted on. */
const PROBE_ROWS = 3;
/** A fit that leaves elements unexplained may be one the probe rows could not tell from the
 *  contract that explains every row: the search runs again, at most this many more times, with
 *  the first NEW_PROBE_ROWS rows it left unexplained added to the probe rows. The report is the
 *  round's that leaves the fewest elements unexplained (the first among equals). */
const MORE_SEARCHES = 2;
const NEW_PROBE_ROWS = 3;

/** The golden's contract made to fit what the case fixes: the weight's dtype, a residual only
 *  where the inputs carry one, a quant (with the candidate's group size and side output) exactly
 *  when the candidate holds FP8 outputs. The quant or residual section, when the golden's
 *  contract lacks one the candidate needs, comes from the first preset that has it. */
function caseBase(golden: ExplainedGolden, candidate: ReadonlyMap<string, Tensor>, observed: ReadonlySet<OutputKind>, presets: readonly Contract[]): Contract {
  const c = golden.contract;
  const weightDtype = golden.inputs.weight.dtype === 'BF16' ? 'bf16' : 'f32';
  const residual = golden.inputs.residual ? (c.residual ?? presets.find((p) => p.residual)?.residual ?? null) : null;
  let quant = null;
  if (observed.has('q') || observed.has('scale')) {
    const template = c.quant ?? presets.find((p) => p.quant)?.quant;
    if (!template) throw new ContractError('no preset has a quant section to start the quant stage from');
    quant = { ...template, groupSize: c.quant?.groupSize ?? groupSizeOf(golden, candidate), bf16SideOutput: observed.has('norm') };
  }
  const norm = { ...c.norm, weight: { ...c.norm.weight, dtype: weightDtype, castToBf16: weightDtype === 'f32' && c.norm.weight.castToBf16 } };
  return parseContract({ ...c, residual, norm, quant });
}

/** The quant group size the candidate's scale tensor implies: [M, G] row-major, [G, M] else. */
function groupSizeOf(golden: ExplainedGolden, candidate: ReadonlyMap<string, Tensor>): number {
  const scale = [...candidate].find(([name]) => parseOutputName(name)?.kind === 'scale')?.[1];
  if (!scale || scale.shape.length !== 2) throw new ContractError('the candidate has FP8 codes but no [rows, groups] scale tensor to read the group size from');
  const groups = scale.shape[0] === golden.shape.tokens ? scale.shape[1] : scale.shape[0];
  if (groups === 0 || golden.shape.hidden % groups !== 0)
    throw new ContractError(`the candidate's scale shape [${scale.shape.join(', ')}] gives no group size that divides hidden ${golden.shape.hidden}`);
  return golden.shape.hidden / groups;
}

export function explainCandidate(
  golden: ExplainedGolden,
  candidate: ReadonlyMap<string, Tensor>,
  candidateFile: string,
  options: ExplainOptions,
): Promise<ExplainReport> {
  return explainCandidateWith(golden, candidate, candidateFile, options, async (contract) => cpuFittedOutputs(golden, contract));
}

/** explainCandidate with the refined fit run over the whole case by `fittedOutputs` (the CPU
 *  engine there; the WebGPU engine and a GPU compare in src/diff/gpuFitted.ts): the same report. */
export async function explainCandidateWith(
  golden: ExplainedGolden,
  candidate: ReadonlyMap<string, Tensor>,
  candidateFile: string,
  options: ExplainOptions,
  fittedOutputs: (contract: Contract) => Promise<FittedOutputs>,
): Promise<ExplainReport> {
  const problem: ExplainProblem = { subject: { contract: golden.contract, shape: golden.shape, inputs: golden.inputs }, candidate };
  const threads = ScoreThreads.open(problem, options.scoreThreads ?? defaultScoreThreads(problem));
  const rounds = new SearchRounds(golden.shape.tokens);
  for (let probeRows: readonly number[] | null = rounds.first(); probeRows !== null; probeRows = rounds.next()) {
    const searched = await searchCandidate(golden, problem, options, probeRows, threads);
    options.progress?.(`rescoring the fit on all ${golden.shape.tokens} rows`);
    rounds.add(explainReport(golden, candidate, candidateFile, searched, await fittedOutputs(searched.refined.contract)));
  }
  if (threads) options.progress?.(`scored ${threads.jobs} jobs on ${threads.threads} worker threads`);
  return rounds.best();
}

/** The searches of one explain: the probe rows of each, and the report to keep (see MORE_SEARCHES). */
class SearchRounds {
  private readonly reports: ExplainReport[] = [];
  private probeRows: number[];
  constructor(tokens: number) {
    this.probeRows = spreadRows(tokens, PROBE_ROWS);
  }
  first(): readonly number[] {
    return this.probeRows;
  }
  add(report: ExplainReport): void {
    this.reports.push(report);
  }
  /** The next search's probe rows, or null: the last fit explains every element, the searches
   *  are spent, or every row it left unexplained was probed already. */
  next(): readonly number[] | null {
    const last = this.reports[this.reports.length - 1];
    if (last.unexplainedCount === 0 || this.reports.length > MORE_SEARCHES) return null;
    const fresh = [...new Set(last.unexplained.map((e) => e.row))].filter((row) => !this.probeRows.includes(row)).slice(0, NEW_PROBE_ROWS);
    if (fresh.length === 0) return null;
    this.probeRows = [...this.probeRows, ...fresh].sort((a, b) => a - b);
    return this.probeRows;
  }
  /** The round that leaves the fewest elements unexplained, with every round's engine runs. */
  best(): ExplainReport {
    const best = this.reports.reduce((kept, report) => (report.unexplainedCount < kept.unexplainedCount ? report : kept));
    return { ...best, engineRuns: this.reports.reduce((sum, report) => sum + report.engineRuns, 0) };
  }
}

interface SearchedCandidate {
  readonly problem: ExplainProblem;
  readonly approximations: ApproximationOptions;
  readonly scorer: RowScorer;
  readonly probeRows: readonly number[];
  readonly search: SearchResult;
  readonly refined: RefinedFit;
  readonly presets: ReturnType<typeof presetContracts>;
  readonly paths: readonly string[];
}

interface SearchSpace {
  readonly presets: ReturnType<typeof presetContracts>;
  /** The golden's contract, then every preset's. */
  readonly donors: readonly Contract[];
  readonly dimensions: readonly SearchDimension[];
}

/** The presets, donors and dimensions of a golden's contract, built once: each search round of
 *  an explain (MORE_SEARCHES) asks again with the same contract. */
const searchSpaces = new WeakMap<Contract, SearchSpace>();

function searchSpaceOf(goldenContract: Contract): SearchSpace {
  let space = searchSpaces.get(goldenContract);
  if (!space) {
    const presets = presetContracts();
    const donors = [goldenContract, ...presets.map((p) => p.contract)];
    space = { presets, donors, dimensions: searchDimensions(donors) };
    searchSpaces.set(goldenContract, space);
  }
  return space;
}

/** The staged search on the probe rows and its ties decided on the tie rows. */
async function searchCandidate(
  golden: ExplainedGolden,
  problem: ExplainProblem,
  options: ExplainOptions,
  probeRows: readonly number[],
  threads: ScoreThreads | null,
): Promise<SearchedCandidate> {
  const { candidate } = problem;
  const observed = new Set([...candidate.keys()].map((n) => parseOutputName(n)?.kind).filter((k): k is OutputKind => k !== undefined));
  const { presets, donors, dimensions } = searchSpaceOf(golden.contract);
  const base = caseBase(golden, candidate, observed, donors);
  const approximations = { rstdUlps: options.rstdUlps, scaleUlps: options.scaleUlps ?? null };
  const scorer = new RowScorer(problem, probeRows, approximations);

  options.progress?.('searching the stages');
  const search = await searchStages(base, dimensions, { scorer, threads, donors, observed });
  options.progress?.('deciding the ties on more rows');
  const refined = await refineFit(problem, search, approximations, threads);
  return { problem, approximations, scorer, probeRows, search, refined, presets, paths: dimensions.map((d) => d.path) };
}

function explainReport(
  golden: ExplainedGolden,
  candidate: ReadonlyMap<string, Tensor>,
  candidateFile: string,
  searched: SearchedCandidate,
  fitted: FittedOutputs,
): ExplainReport {
  const { problem, approximations, scorer, probeRows, search, refined, presets, paths } = searched;
  const rescored = rescore(problem, refined, approximations, fitted);
  const verdict = verdictReport({
    search,
    rescore: rescored,
    shape: golden.shape,
    paths,
    presets,
    goldenContract: golden.contract,
    goldenPreset: golden.preset,
    candidateOutputs: candidate.size,
  });
  return ExplainReportSchema.parse({
    golden: { file: golden.file, preset: golden.preset, ranks: golden.shape.ranks, tokens: golden.shape.tokens, hidden: golden.shape.hidden },
    candidate: { file: candidateFile, outputs: [...candidate.keys()] },
    probeRows,
    engineRuns: scorer.runs + rescored.engineRuns,
    ...verdict,
  });
}

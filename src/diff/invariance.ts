import { z } from 'zod';
import type { DispatchChoice, DispatchFamily } from '../contracts/dispatch.js';
import type { Contract, Shape } from '../contracts/schema.js';
import { checkContractForShape, ContractError } from '../contracts/validate.js';
import { runCpuEngine } from '../engines/cpu/engine.js';
import { ncclOrderSegments, segmentOf } from '../engines/layout/ncclChannels.js';
import { isNcclOrder, rankRotation } from '../engines/layout/rankOrder.js';
import { cubBlockSize, torchReduceConfig } from '../engines/layout/blockSize.js';
import type { CaseInputs } from '../engines/io.js';
import type { Tensor } from '../numerics/tensor.js';
import { buildCase } from '../fixtures/golden.js';
import { outputGeometry, parseOutputName } from './pairs.js';
import { formatRanges } from './values.js';

// Batch invariance: the same token rows, computed at every batch size of a range under a
// library's dispatch rules. A row's bits should depend on the row alone; where they change, the
// report names what changed with the batch size: the dispatched algorithm, the cub block size, torch's Reduce.cuh block,
// or which rank a rotated/ring all-reduce starts each element's sum at.

const Count = z.number().int().nonnegative();

export const InvarianceChangeSchema = z.object({
  /** The batch size at which the rows' bits differ from those at `previousTokens`. */
  tokens: Count,
  previousTokens: Count,
  outputs: z.array(z.string()),
  rows: z.array(Count),
  algorithm: z.object({ from: z.string(), to: z.string() }),
  /** What changed with the batch size; 'unexplained' entries would be a modelling bug. */
  why: z.array(z.string()),
  explained: z.boolean(),
});

export const InvarianceReportSchema = z.object({
  family: z.string(),
  ranks: Count,
  hidden: Count,
  tokens: z.object({ from: Count, to: Count }),
  rows: z.array(Count),
  inputs: z.string(),
  seed: Count,
  /** Batch-size ranges that run one algorithm. */
  segments: z.array(z.object({ algorithm: z.string(), from: Count, to: Count, reason: z.string() })),
  changes: z.array(InvarianceChangeSchema),
  /** Algorithm or reduction-tree switches that left the watched rows' bits alone. */
  silentSwitches: z.array(z.object({ tokens: Count, previousTokens: Count, why: z.array(z.string()) })),
});

/** Batch sizes one run may span: each is an engine run over the watched rows (a few ms at
 *  hidden 7168), so the bound keeps a run to minutes, not a hang. */
export const MAX_BATCH_SIZES = 4096;

export type InvarianceChange = z.infer<typeof InvarianceChangeSchema>;
export type InvarianceReport = z.infer<typeof InvarianceReportSchema>;

export interface InvarianceOptions {
  readonly family: DispatchFamily;
  readonly ranks: number;
  readonly hidden: number;
  readonly tokens: { readonly from: number; readonly to: number };
  readonly rows: readonly number[];
  /** Input generator and seed (src/fixtures/inputs.ts). */
  readonly inputs: string;
  readonly seed: number;
  readonly progress?: (done: number, total: number) => void;
}

/** The first `tokens` rows of a larger case: the same row data at every batch size. */
export function sliceRows(inputs: CaseInputs, tokens: number, hidden: number): CaseInputs {
  const rows = (t: Tensor): Tensor => ({ dtype: 'BF16', shape: [tokens, hidden], data: (t.data as Uint16Array).subarray(0, tokens * hidden) });
  return { rankInputs: inputs.rankInputs.map(rows), residual: inputs.residual && rows(inputs.residual), weight: inputs.weight };
}

interface Point {
  readonly tokens: number;
  readonly choice: DispatchChoice;
  /** Per output name, the watched rows' codes, row after row. */
  readonly bits: Map<string, number[]>;
  readonly cubBlock: number | null;
  /** torch-reduce's block from setReduceConfig, which reads the token count. */
  readonly torchReduceBlock: string | null;
  /** Per watched element, the position in the rank sequence its sum starts at (NCCL: the sequence itself, as a number). */
  readonly starts: number[];
}

function watchedBits(outputs: ReadonlyMap<string, Tensor>, shape: Shape, contract: Contract, rows: readonly number[]): Map<string, number[]> {
  const bits = new Map<string, number[]>();
  for (const [name, t] of outputs) {
    const geometry = outputGeometry(parseOutputName(name)!.kind, shape, contract);
    bits.set(
      name,
      rows.flatMap((m) => Array.from({ length: geometry.rowLength }, (_, k) => t.data[geometry.indexOf(m, k)])),
    );
  }
  return bits;
}

function orderStarts(contract: Contract, shape: Shape, rows: readonly number[]): number[] {
  const order = contract.allReduce.order;
  if (isNcclOrder(order)) {
    // NCCL: the whole sequence of ranks of the element's segment, as one number (base N digits).
    const segments = ncclOrderSegments(order, shape.ranks, shape.tokens * shape.hidden);
    const sequence = (e: number): number => {
      const first = segmentOf(segments, e) * shape.ranks;
      return segments.orders.subarray(first, first + shape.ranks).reduce((n, r) => n * shape.ranks + r, 0);
    };
    return rows.flatMap((m) => Array.from({ length: shape.hidden }, (_, h) => sequence(m * shape.hidden + h)));
  }
  if (order.kind !== 'rotated' && order.kind !== 'ring') return [];
  const rotation = rankRotation(order, shape.ranks, shape.tokens * shape.hidden);
  return rows.flatMap((m) => Array.from({ length: shape.hidden }, (_, h) => rotation.startFor(m * shape.hidden + h, 0)));
}

function sameArray(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);
}

/** torch-reduce's block as bw x bh, and whether the row is split over its warps. */
function torchReduceBlock(hidden: number, tokens: number): string {
  const { blockWidth, blockHeight, rowOverWarps } = torchReduceConfig(hidden, tokens);
  return `${blockWidth}x${blockHeight}${rowOverWarps ? ' (the row over the warps)' : ''}`;
}

/** What changed with the batch size: the algorithm and the reduction tree ('switches'), and
 *  where a rotated or ring all-reduce starts each watched element's sum. */
function switches(prev: Point, cur: Point): string[] {
  const why: string[] = [];
  if (prev.choice.algorithm !== cur.choice.algorithm) why.push(`dispatch: ${prev.choice.algorithm} -> ${cur.choice.algorithm} (${cur.choice.reason})`);
  if (prev.cubBlock !== cur.cubBlock)
    why.push(`cub block size ${prev.cubBlock ?? '-'} -> ${cur.cubBlock ?? '-'} (vLLM: tokens < 256 ? 1024 : 256, at most hidden): another reduction tree`);
  if (prev.torchReduceBlock !== cur.torchReduceBlock)
    why.push(
      `Reduce.cuh block ${prev.torchReduceBlock ?? '-'} -> ${cur.torchReduceBlock ?? '-'} (setReduceConfig reads the token count): another reduction tree`,
    );
  return why;
}

function reasons(prev: Point, cur: Point): string[] {
  const why = switches(prev, cur);
  if (prev.choice.algorithm === cur.choice.algorithm && prev.starts.length > 0 && !sameArray(prev.starts, cur.starts)) {
    const moved = cur.starts.filter((s, i) => s !== prev.starts[i]).length;
    const kind = cur.choice.contract.allReduce.order.kind;
    why.push(
      kind === 'nccl-ring' || kind === 'nccl-tree'
        ? `${kind} all-reduce: ${moved} watched elements sum their ranks in another order (channels and chunks are cut from the whole tensor, so they ` +
            `move with the batch size)`
        : `${kind} all-reduce: ${moved} watched elements start their rank sum at another rank (partitions are cut from the whole tensor, so they move ` +
            `with the batch size)`,
    );
  }
  return why;
}

/** The watched rows at every batch size of one rank count. */
export function batchInvariance(options: InvarianceOptions): InvarianceReport {
  const { family, ranks, hidden, rows } = options;
  const { from, to } = options.tokens;
  if (from < 1 || to < from) throw new ContractError(`--tokens: ${from}..${to} is not a range of batch sizes`);
  const outside = rows.filter((m) => m >= from);
  if (outside.length > 0) throw new ContractError(`--rows: row ${outside[0]} does not exist at the smallest batch size ${from} (rows must be < ${from})`);
  if (family.ranks !== undefined && family.ranks !== ranks)
    throw new ContractError(`'${family.name}' models ${family.ranks} rank(s); --ranks ${ranks} does not apply`);
  // Shape problems (a quant group that does not divide hidden) as a contract error, before any input is generated.
  for (const tokens of [from, to]) checkContractForShape(family.select({ ranks, tokens, hidden }).contract, { ranks, tokens, hidden });
  const full = buildCase({ preset: family.inputsPreset, ranks, tokens: to, hidden, group: null, inputs: options.inputs, seed: options.seed });
  const points: Point[] = [];
  const changes: InvarianceChange[] = [];
  const silentSwitches: InvarianceReport['silentSwitches'] = [];
  for (let tokens = from; tokens <= to; tokens++) {
    const shape = { ranks, tokens, hidden };
    const choice = family.select(shape);
    const outputs = runCpuEngine(choice.contract, shape, sliceRows(full.inputs, tokens, hidden), { rows });
    const tree = choice.contract.norm.sumOfSquares.tree;
    const point: Point = {
      tokens,
      choice,
      bits: watchedBits(outputs, shape, choice.contract, rows),
      cubBlock: tree.kind === 'cub' ? cubBlockSize(tree, hidden, tokens) : null,
      torchReduceBlock: tree.kind === 'torch-reduce' ? torchReduceBlock(hidden, tokens) : null,
      starts: orderStarts(choice.contract, shape, rows),
    };
    const prev = points[points.length - 1];
    if (prev) {
      const names = [...new Set([...prev.bits.keys(), ...point.bits.keys()])];
      const changedOutputs = names.filter((n) => !sameArray(prev.bits.get(n), point.bits.get(n)));
      if (changedOutputs.length > 0) {
        const changedRows = rows.filter((_, k) =>
          changedOutputs.some((n) => {
            const a = prev.bits.get(n);
            const b = point.bits.get(n);
            if (!a || !b) return true;
            const width = a.length / rows.length;
            return !sameArray(a.slice(k * width, (k + 1) * width), b.slice(k * width, (k + 1) * width));
          }),
        );
        const why = reasons(prev, point);
        changes.push({
          tokens,
          previousTokens: prev.tokens,
          outputs: changedOutputs,
          rows: changedRows,
          algorithm: { from: prev.choice.algorithm, to: choice.algorithm },
          why: why.length > 0 ? why : ['unexplained: no dispatch input changed between these batch sizes'],
          explained: why.length > 0,
        });
      } else if (switches(prev, point).length > 0) {
        silentSwitches.push({ tokens, previousTokens: prev.tokens, why: switches(prev, point) });
      }
    }
    points.push(point);
    options.progress?.(tokens - from + 1, to - from + 1);
  }
  const segments: InvarianceReport['segments'] = [];
  for (const p of points) {
    const last = segments[segments.length - 1];
    if (last && last.algorithm === p.choice.algorithm) last.to = p.tokens;
    else segments.push({ algorithm: p.choice.algorithm, from: p.tokens, to: p.tokens, reason: p.choice.reason });
  }
  return InvarianceReportSchema.parse({
    family: family.name,
    ranks,
    hidden,
    tokens: { from, to },
    rows: [...rows],
    inputs: options.inputs,
    seed: options.seed,
    segments,
    changes,
    silentSwitches,
  });
}

export function formatInvarianceReport(report: InvarianceReport): string {
  const lines = [
    `${report.family}: ${report.ranks} ranks, hidden ${report.hidden}, tokens ${report.tokens.from}..${report.tokens.to}, rows ${formatRanges(report.rows)} ` +
      `(inputs ${report.inputs}, seed ${report.seed})`,
    'dispatch:',
    ...report.segments.map((s) => `  tokens ${s.from}..${s.to}: ${s.algorithm} (at ${s.from}: ${s.reason})`),
  ];
  if (report.changes.length === 0) lines.push(`the watched rows are bit-identical at every batch size in ${report.tokens.from}..${report.tokens.to}`);
  else {
    lines.push(`the watched rows change at ${report.changes.length} batch size(s):`);
    for (const c of report.changes) {
      lines.push(`  ${c.previousTokens} -> ${c.tokens}: rows ${formatRanges(c.rows)} in ${c.outputs.join(', ')}`);
      for (const w of c.why) lines.push(`      ${w}`);
    }
  }
  if (report.silentSwitches.length > 0) lines.push('switches that left the watched rows bit-identical:');
  for (const s of report.silentSwitches) {
    lines.push(`  ${s.previousTokens} -> ${s.tokens}:`);
    for (const w of s.why) lines.push(`      ${w}`);
  }
  return lines.join('\n');
}

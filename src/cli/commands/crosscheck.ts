import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { compareTensors } from '../../diff/compare.js';
import { readGolden } from '../../fixtures/golden.js';
import { readManifest } from '../../fixtures/manifest.js';
import { readSafetensors } from '../../fixtures/safetensors.js';
import type { Tensor } from '../../numerics/tensor.js';
import { usageErrors } from '../args.js';
import { UsageError } from '../errors.js';

// `ulpwise crosscheck` runs a kernel library through hip/'s harness on every case of a suite
// and compares each candidate with its golden, bits only. The harness (hip/harness/main.hip)
// speaks two subcommands here: `info` (the library's kernels as JSON) and `run-suite` (one JSON
// line per case: {file, kernel, status: ok|skipped|failed, message}, candidates written as
// OUT/<kernel>__<case file>). With --candidates, candidates made elsewhere (a GPU machine without
// Node) are compared without running anything.

const HarnessInfoSchema = z.object({
  library: z.string(),
  kernels: z.array(z.object({ name: z.string(), presets: z.array(z.string()).nullable(), modes: z.array(z.string()) })),
});

const CaseStatusSchema = z.object({
  file: z.string(),
  kernel: z.string(),
  status: z.enum(['ok', 'skipped', 'failed']),
  message: z.string(),
});
export type CaseStatus = z.infer<typeof CaseStatusSchema>;

const OUTPUT_KINDS = ['residual', 'norm', 'q', 'scale'] as const;
type OutputKind = (typeof OUTPUT_KINDS)[number];

/** One output kind of one case: elements, bit-exact ones, the largest finite ULP distance, and
 *  mismatches that are not a distance (NaN or Inf on one side, or a missing tensor). */
export interface OutputResult {
  readonly elements: number;
  readonly exact: number;
  readonly maxUlp: number;
  readonly special: number;
  readonly missing: boolean;
}

export interface CaseResult {
  readonly kernel: string;
  readonly file: string;
  readonly preset: string;
  readonly outputs: Partial<Record<OutputKind, OutputResult>>;
  readonly pass: boolean;
}

export interface CrosscheckReport {
  readonly compared: CaseResult[];
  readonly skipped: CaseStatus[];
  readonly failed: CaseStatus[];
}

function outputKind(name: string): OutputKind {
  const kind = name.slice(name.lastIndexOf('out.') + 4);
  if (!(OUTPUT_KINDS as readonly string[]).includes(kind)) throw new UsageError(`unknown output tensor '${name}'`);
  return kind as OutputKind;
}

/** Compares one candidate file with its golden, output by output (rank outputs merged by kind). */
export function compareCandidate(goldenPath: string, candidatePath: string, kernel: string, file: string): CaseResult {
  const golden = readGolden(goldenPath);
  const candidate = readSafetensors(candidatePath).tensors;
  const outputs: Partial<Record<OutputKind, OutputResult>> = {};
  for (const [name, expected] of golden.outputs) {
    const kind = outputKind(name);
    const actual = candidate.get(name);
    const previous = outputs[kind] ?? { elements: 0, exact: 0, maxUlp: 0, special: 0, missing: false };
    if (!actual || actual.dtype !== expected.dtype || actual.data.length !== expected.data.length) {
      outputs[kind] = { ...previous, elements: previous.elements + expected.data.length, missing: true };
      continue;
    }
    const c = compareTensors(expected, actual as Tensor);
    outputs[kind] = {
      elements: previous.elements + c.elements,
      exact: previous.exact + c.elements - c.differing,
      maxUlp: Math.max(previous.maxUlp, c.maxUlp),
      special: previous.special + c.nanMismatches + c.infMismatches,
      missing: previous.missing,
    };
  }
  const pass = Object.values(outputs).every((o) => !o.missing && o.exact === o.elements);
  return { kernel, file, preset: golden.spec.preset, outputs, pass };
}

/** The JSON status lines of a run-suite output; other lines (a library's own logging) are skipped. */
export function parseStatusLines(text: string, source: string): CaseStatus[] {
  const statuses: CaseStatus[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{"file"')) continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new UsageError(`${source}: a status line is not JSON: ${line.slice(0, 120)}`);
    }
    const parsed = CaseStatusSchema.safeParse(json);
    if (!parsed.success) throw new UsageError(`${source}: a status line is not {file, kernel, status, message}: ${line.slice(0, 120)}`);
    statuses.push(parsed.data);
  }
  return statuses;
}

/** Runs the harness; exit 1 (some case failed) still returns its output with stderr. */
function runHarness(harness: string, args: string[]): { stdout: string; stderr: string } {
  const result = spawnSync(harness, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw new UsageError(`cannot run the harness ${harness}: ${result.error.message}`);
  if (result.status === 2) throw new UsageError(`${harness} ${args[0]}: ${result.stderr.trim() || 'usage error'}`);
  if (result.status !== 0 && result.status !== 1) {
    throw new UsageError(`${harness} ${args[0]} exited with ${result.status ?? result.signal}: ${result.stderr.trim()}`);
  }
  return { stdout: result.stdout, stderr: result.stderr };
}

/** Statuses for candidates made elsewhere: DIR/run-suite.jsonl when present, else every
 *  <kernel>__<case file> in DIR counts as ok. */
function statusesFromDirectory(dir: string, caseFiles: ReadonlySet<string>): CaseStatus[] {
  const log = join(dir, 'run-suite.jsonl');
  if (existsSync(log)) return parseStatusLines(readFileSync(log, 'utf8'), log);
  const statuses: CaseStatus[] = [];
  for (const name of readdirSync(dir).sort()) {
    const split = name.indexOf('__');
    if (split < 0 || !name.endsWith('.safetensors')) continue;
    const file = name.slice(split + 2);
    if (caseFiles.has(file)) statuses.push({ file, kernel: name.slice(0, split), status: 'ok', message: '' });
  }
  return statuses;
}

export function crosscheckStatuses(suite: string, candidateDir: string, statuses: readonly CaseStatus[]): CrosscheckReport {
  const report: CrosscheckReport = { compared: [], skipped: [], failed: [] };
  for (const s of statuses) {
    if (s.status === 'skipped') report.skipped.push(s);
    else if (s.status === 'failed') report.failed.push(s);
    else report.compared.push(compareCandidate(join(suite, s.file), join(candidateDir, `${s.kernel}__${s.file}`), s.kernel, s.file));
  }
  return report;
}

function formatOutput(o: OutputResult | undefined): string {
  if (!o) return '-';
  if (o.missing) return 'MISSING';
  const share = o.exact === o.elements ? '100%' : `${((100 * o.exact) / o.elements).toFixed(3)}%`;
  return `${share} ${o.maxUlp}ulp${o.special > 0 ? ` +${o.special}nan/inf` : ''}`;
}

export function formatReport(report: CrosscheckReport): string {
  const header = ['kernel', 'case', 'preset', ...OUTPUT_KINDS, 'result'];
  const rows = report.compared.map((c) => [
    c.kernel, c.file.replace(/\.safetensors$/, ''), c.preset, ...OUTPUT_KINDS.map((k) => formatOutput(c.outputs[k])), c.pass ? 'bit-exact' : 'MISMATCH',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  const lines = [line(header), ...rows.map(line)];
  for (const f of report.failed) lines.push(`FAILED ${f.kernel} ${f.file}: ${f.message}`);
  if (report.skipped.length > 0) {
    const reasons = new Map<string, number>();
    for (const s of report.skipped) {
      // The reason without the case's path, so equal reasons group.
      const reason = `${s.kernel}: ${s.message.replace(/declines \S+: /, 'declines: ')}`;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    lines.push(`skipped ${report.skipped.length} case(s):`);
    for (const [reason, count] of reasons) lines.push(`  ${count} x ${reason}`);
  }
  const exact = report.compared.filter((c) => c.pass).length;
  lines.push(`${exact}/${report.compared.length} compared cases bit-exact (0 ULP, every output), ${report.failed.length} failed, ${report.skipped.length} skipped`);
  return lines.join('\n');
}

export const crosscheckCommand = {
  name: 'crosscheck',
  usage: 'crosscheck (--harness BIN [--lib LIB] [--mode emulated|peer] [--out DIR] | --candidates DIR) [--kernel K]... [--suite DIR]',
  summary: 'run a kernel library through the hip/ harness on every case of a suite and compare bits with the goldens',
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = usageErrors(() => parseArgs({ args: argv, options: {
      harness: { type: 'string' }, lib: { type: 'string' }, kernel: { type: 'string', multiple: true }, suite: { type: 'string' },
      mode: { type: 'string' }, out: { type: 'string' }, candidates: { type: 'string' },
    }, allowPositionals: true }));
    if (positionals.length > 0) throw new UsageError(`crosscheck takes options only, not '${positionals[0]}'`);
    if ((values.harness === undefined) === (values.candidates === undefined)) {
      throw new UsageError('crosscheck needs exactly one of --harness BIN (run the kernels) and --candidates DIR (compare candidates made elsewhere)');
    }
    const mode = values.mode ?? 'emulated';
    if (mode !== 'emulated' && mode !== 'peer') throw new UsageError(`--mode: '${mode}' is not emulated or peer`);
    const suite = values.suite ?? 'golden';
    const caseFiles = new Set(readManifest(suite).cases.map((c) => c.file));
    const wanted = values.kernel ?? [];

    let candidateDir: string;
    let statuses: CaseStatus[];
    if (values.candidates !== undefined) {
      candidateDir = values.candidates;
      statuses = statusesFromDirectory(candidateDir, caseFiles);
      if (wanted.length > 0) statuses = statuses.filter((s) => wanted.includes(s.kernel));
    } else {
      const harness = resolve(values.harness as string);
      const libArgs = values.lib !== undefined ? ['--lib', values.lib] : [];
      const infoText = runHarness(harness, ['info', ...libArgs]).stdout;
      let infoJson: unknown;
      try {
        infoJson = JSON.parse(infoText);
      } catch {
        throw new UsageError(`${harness} info did not print JSON: ${infoText.slice(0, 120)}`);
      }
      const infoParsed = HarnessInfoSchema.safeParse(infoJson);
      if (!infoParsed.success) throw new UsageError(`${harness} info: not the kernel list crosscheck expects`);
      const names = infoParsed.data.kernels.map((k) => k.name);
      for (const k of wanted) {
        if (!names.includes(k)) throw new UsageError(`--kernel ${k}: ${infoParsed.data.library} has ${names.join(', ')}`);
      }
      candidateDir = values.out ?? join('out', `crosscheck-${mode}`);
      mkdirSync(candidateDir, { recursive: true });
      statuses = [];
      for (const kernel of wanted.length > 0 ? wanted : names) {
        const { stdout, stderr } = runHarness(harness, ['run-suite', '--suite', suite, '--out', candidateDir, '--kernel', kernel, '--mode', mode, ...libArgs]);
        const lines = parseStatusLines(stdout, `${harness} run-suite --kernel ${kernel}`);
        if (lines.length < caseFiles.size) {
          // The harness exits at a failed HIP call (HIP_CHECK): the cases after it never ran.
          throw new UsageError(`${harness} run-suite --kernel ${kernel} stopped after ${lines.length} of ${caseFiles.size} cases: ${stderr.trim()}`);
        }
        statuses.push(...lines);
      }
    }
    const unknown = statuses.find((s) => !caseFiles.has(s.file));
    if (unknown) throw new UsageError(`${unknown.file} is not a case of ${suite}/manifest.json`);

    const report = crosscheckStatuses(suite, candidateDir, statuses);
    console.log(formatReport(report));
    if (report.compared.length === 0) {
      console.log('nothing was compared: no case ran');
      return 1;
    }
    return report.failed.length === 0 && report.compared.every((c) => c.pass) ? 0 : 1;
  },
};

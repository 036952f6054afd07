import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ContractError } from '../contracts/validate.js';

// The protocol of hip/'s harness (hip/harness/main.hip) as crosscheck speaks it: `info` prints
// the library's kernels as JSON; `run-suite` prints one JSON status line per case
// ({file, kernel, status: ok|skipped|failed, message}) and writes each candidate as
// OUT/<kernel>__<case file>. Candidates made elsewhere (a GPU machine without Node) sit in a
// folder under the same names, with the status lines in run-suite.jsonl when it was kept.

/** The harness broke its protocol or could not run: an expected error, not a bug here. */
export class HarnessError extends ContractError {}

export const HarnessInfoSchema = z.object({
  library: z.string(),
  kernels: z.array(z.object({ name: z.string(), presets: z.array(z.string()).nullable(), modes: z.array(z.string()) })),
});
export type HarnessInfo = z.infer<typeof HarnessInfoSchema>;

export const CaseStatusSchema = z.object({
  file: z.string(),
  kernel: z.string(),
  status: z.enum(['ok', 'skipped', 'failed']),
  message: z.string(),
});
export type CaseStatus = z.infer<typeof CaseStatusSchema>;

export const HARNESS_MODES = ['emulated', 'peer'] as const;
export type HarnessMode = (typeof HARNESS_MODES)[number];

/** The file a kernel's candidate for a case is written to. */
export function candidateFileName(kernel: string, caseFile: string): string {
  return `${kernel}__${caseFile}`;
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
      throw new HarnessError(`${source}: a status line is not JSON: ${line.slice(0, 120)}`);
    }
    const parsed = CaseStatusSchema.safeParse(json);
    if (!parsed.success) throw new HarnessError(`${source}: a status line is not {file, kernel, status, message}: ${line.slice(0, 120)}`);
    statuses.push(parsed.data);
  }
  return statuses;
}

/** Runs the harness; exit 1 (some case failed) still returns its output with stderr. */
function runHarness(harness: string, args: string[]): { stdout: string; stderr: string } {
  const result = spawnSync(harness, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw new HarnessError(`cannot run the harness ${harness}: ${result.error.message}`);
  if (result.status === 2) throw new HarnessError(`${harness} ${args[0]}: ${result.stderr.trim() || 'usage error'}`);
  if (result.status !== 0 && result.status !== 1) {
    throw new HarnessError(`${harness} ${args[0]} exited with ${result.status ?? result.signal}: ${result.stderr.trim()}`);
  }
  return { stdout: result.stdout, stderr: result.stderr };
}

function libArgs(lib: string | undefined): string[] {
  return lib !== undefined ? ['--lib', lib] : [];
}

/** `harness info`: the library's name and kernels. */
export function harnessInfo(harness: string, lib?: string): HarnessInfo {
  const text = runHarness(harness, ['info', ...libArgs(lib)]).stdout;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HarnessError(`${harness} info did not print JSON: ${text.slice(0, 120)}`);
  }
  const parsed = HarnessInfoSchema.safeParse(json);
  if (!parsed.success) throw new HarnessError(`${harness} info: not the kernel list crosscheck expects`);
  return parsed.data;
}

export interface RunSuiteRequest {
  readonly harness: string;
  readonly lib?: string;
  readonly suite: string;
  readonly out: string;
  readonly kernel: string;
  readonly mode: HarnessMode;
  /** Cases in the suite: a run that reports fewer stopped early. */
  readonly caseCount: number;
}

/** `harness run-suite` for one kernel: the status of every case. */
export function runSuite(r: RunSuiteRequest): CaseStatus[] {
  const { stdout, stderr } = runHarness(r.harness, [
    'run-suite',
    '--suite',
    r.suite,
    '--out',
    r.out,
    '--kernel',
    r.kernel,
    '--mode',
    r.mode,
    ...libArgs(r.lib),
  ]);
  const lines = parseStatusLines(stdout, `${r.harness} run-suite --kernel ${r.kernel}`);
  if (lines.length < r.caseCount) {
    // The harness exits at a failed HIP call (HIP_CHECK): the cases after it never ran.
    throw new HarnessError(`${r.harness} run-suite --kernel ${r.kernel} stopped after ${lines.length} of ${r.caseCount} cases: ${stderr.trim()}`);
  }
  return lines;
}

/** Statuses for candidates made elsewhere: DIR/run-suite.jsonl when present, else every
 *  <kernel>__<case file> in DIR counts as ok. */
export function statusesFromDirectory(dir: string, caseFiles: ReadonlySet<string>): CaseStatus[] {
  const log = join(dir, 'run-suite.jsonl');
  if (existsSync(log)) return parseStatusLines(readFileSync(log, 'utf8'), log);
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw new HarnessError(`--candidates ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (e as Error).message}`);
  }
  const statuses: CaseStatus[] = [];
  for (const name of names) {
    const split = name.indexOf('__');
    if (split < 0 || !name.endsWith('.safetensors')) continue;
    const file = name.slice(split + 2);
    if (caseFiles.has(file)) statuses.push({ file, kernel: name.slice(0, split), status: 'ok', message: '' });
  }
  return statuses;
}

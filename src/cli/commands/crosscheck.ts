import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { crosscheckStatuses, formatCrosscheckReport } from '../../crosscheck/report.js';
import { HARNESS_MODES, harnessInfo, runSuite, statusesFromDirectory, type CaseStatus, type HarnessMode } from '../../crosscheck/protocol.js';
import { readManifest } from '../../fixtures/manifest.js';
import { parseCommandArgs, type Command } from '../args.js';
import { UsageError } from '../errors.js';

// `ulpwise crosscheck` runs a kernel library through hip/'s harness on every case of a suite
// (src/crosscheck/protocol.ts) and compares each candidate with its golden, bits only
// (src/crosscheck/report.ts). With --candidates, candidates made elsewhere are compared
// without running anything.

const OPTIONS = {
  harness: { type: 'string', value: 'BIN', help: 'the harness binary (hip/: make) that runs the kernels on every case' },
  lib: { type: 'string', value: 'LIB', help: 'the kernel library the harness loads (passed to it as --lib)' },
  mode: { type: 'string', value: 'emulated|peer', help: 'emulated: all ranks on one GPU (default); peer: one GPU per rank' },
  out: { type: 'string', value: 'DIR', help: 'where the harness writes candidates (default out/crosscheck-MODE)' },
  candidates: {
    type: 'string',
    value: 'DIR',
    help: 'compare candidates made elsewhere (KERNEL__CASE.safetensors, e.g. by the harness on a GPU machine without Node) instead of running the harness',
  },
  kernel: { type: 'string', multiple: true, value: 'K', help: 'only this kernel (default: every kernel the library has)' },
  suite: { type: 'string', value: 'DIR', help: 'the suite folder with manifest.json (default ./golden)' },
  json: { type: 'boolean', help: 'print the report as JSON (CrosscheckReportSchema)' },
} as const;

export const crosscheckCommand: Command = {
  name: 'crosscheck',
  usage: 'crosscheck (--harness BIN [--lib LIB] [--mode emulated|peer] [--out DIR] | --candidates DIR) [--kernel K]... [--suite DIR] [--json]',
  summary: 'run a kernel library through the hip/ harness on every case of a suite and compare bits with the goldens',
  options: OPTIONS,
  notes: ['exit status: 0 when every compared case is bit-exact and none failed, 1 otherwise (or when nothing ran), 2 on bad input'],
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs(OPTIONS, argv, true);
    if (positionals.length > 0) throw new UsageError(`crosscheck takes options only, not '${positionals[0]}'`);
    if ((values.harness === undefined) === (values.candidates === undefined)) {
      throw new UsageError('crosscheck needs exactly one of --harness BIN (run the kernels) and --candidates DIR (compare candidates made elsewhere)');
    }
    const mode = HARNESS_MODES.find((m) => m === (values.mode ?? 'emulated'));
    if (mode === undefined) throw new UsageError(`--mode: '${values.mode}' is not ${HARNESS_MODES.join(' or ')}`);
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
      const harness = resolve(values.harness!);
      const info = harnessInfo(harness, values.lib);
      const names = info.kernels.map((k) => k.name);
      for (const k of wanted) {
        if (!names.includes(k)) throw new UsageError(`--kernel ${k}: ${info.library} has ${names.join(', ')}`);
      }
      candidateDir = values.out ?? join('out', `crosscheck-${mode}`);
      mkdirSync(candidateDir, { recursive: true });
      statuses = (wanted.length > 0 ? wanted : names).flatMap((kernel) =>
        runSuite({ harness, lib: values.lib, suite, out: candidateDir, kernel, mode: mode as HarnessMode, caseCount: caseFiles.size }),
      );
    }
    const unknown = statuses.find((s) => !caseFiles.has(s.file));
    if (unknown) throw new UsageError(`${unknown.file} is not a case of ${suite}/manifest.json`);

    const report = crosscheckStatuses(suite, candidateDir, statuses);
    console.log(values.json ? JSON.stringify(report, null, 2) : formatCrosscheckReport(report));
    return report.pass ? 0 : 1;
  },
};

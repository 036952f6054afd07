import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatSummary, summarize, summaryReport } from '../../diff/summary.js';
import { readManifest, MANIFEST_FILE } from '../../fixtures/manifest.js';
import { defaultSuite } from '../../fixtures/suite.js';
import { parseCommandArgs, progressReporter, PROGRESS_OPTION, type Command } from '../args.js';
import { openEngine, ENGINE_OPTION } from '../engineOption.js';

const OPTIONS = {
  suite: {
    type: 'string',
    value: 'DIR',
    help:
      'take the cases of this suite folder (default ./golden when it has a manifest, else the default suite); custom-contract and captured-input cases ' +
      'are left out',
  },
  json: { type: 'boolean', help: 'print the report as JSON ({schemaVersion, rows}, SummaryReportSchema)' },
  ...ENGINE_OPTION,
  ...PROGRESS_OPTION,
} as const;

export const summaryCommand: Command = {
  name: 'summary',
  usage: 'summary [--suite DIR] [--json] [--engine cpu|webgpu|auto] [--adapter auto|vulkan|swiftshader|llvmpipe]',
  summary: 'fused vs unfused: share of elements that differ and max ULP, per output and preset pair',
  options: OPTIONS,
  async run(argv: string[]): Promise<number> {
    const { values } = parseCommandArgs(OPTIONS, argv, false);
    // The cases of a suite directory when given (or ./golden when it exists), else the default suite's specs.
    const dir = values.suite ?? (existsSync(join('golden', MANIFEST_FILE)) ? 'golden' : null);
    const specs = dir ? readManifest(dir).cases.map((e) => e.case) : defaultSuite();
    const engine = await openEngine(values.engine, values.adapter);
    try {
      const rows = await summarize(specs, engine, progressReporter('summary', values.progress));
      console.log(values.json ? JSON.stringify(summaryReport(rows), null, 2) : formatSummary(rows));
    } finally {
      await engine.close();
    }
    return 0;
  },
};

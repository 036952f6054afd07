import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatSummary, summarize } from '../../diff/summary.js';
import { readManifest, MANIFEST_FILE } from '../../fixtures/manifest.js';
import { defaultSuite } from '../../fixtures/suite.js';
import { parseArgs } from 'node:util';
import { usageErrors, progressReporter } from '../args.js';
import { openEngine, ENGINE_OPTION } from '../engineOption.js';

export const summaryCommand = {
  name: 'summary',
  usage: 'summary [--suite DIR] [--json] [--engine cpu|webgpu|auto] [--adapter auto|vulkan|swiftshader|llvmpipe]',
  summary: 'fused vs unfused: share of elements that differ and max ULP, per output and preset pair',
  async run(argv: string[]): Promise<number> {
    const { values } = usageErrors(() => parseArgs({ args: argv, options: { suite: { type: 'string' }, json: { type: 'boolean' }, ...ENGINE_OPTION }, allowPositionals: false }));
    // The cases of a suite directory when given (or ./golden when it exists), else the default suite's specs.
    const dir = values.suite ?? (existsSync(join('golden', MANIFEST_FILE)) ? 'golden' : null);
    const specs = dir ? readManifest(dir).cases.map((e) => e.case) : defaultSuite();
    const engine = await openEngine(values.engine, values.adapter);
    try {
      const rows = await summarize(specs, engine, progressReporter('summary'));
      console.log(values.json ? JSON.stringify(rows, null, 2) : formatSummary(rows));
    } finally {
      await engine.close();
    }
    return 0;
  },
};

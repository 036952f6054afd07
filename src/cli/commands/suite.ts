import { defaultSuite } from '../../fixtures/suite.js';
import { formatSummary, summarize } from '../../diff/summary.js';
import { parseArgs } from 'node:util';
import { usageErrors, progressReporter } from '../args.js';
import { openEngine, ENGINE_OPTION } from '../engineOption.js';
import { generateCases } from '../../fixtures/suiteWriter.js';

export const suiteCommand = {
  name: 'suite',
  usage: 'suite [--out DIR] [--engine cpu|webgpu|auto] [--adapter auto|vulkan|swiftshader|llvmpipe] [--no-summary]',
  summary: 'regenerate the default golden suite and print the fused-vs-unfused summary',
  async run(argv: string[]): Promise<number> {
    const { values } = usageErrors(() => parseArgs({ args: argv, options: { out: { type: 'string' }, 'no-summary': { type: 'boolean' }, ...ENGINE_OPTION }, allowPositionals: false }));
    const dir = values.out ?? 'golden';
    const engine = await openEngine(values.engine, values.adapter);
    try {
      const specs = defaultSuite();
      const { entries, keptChanged } = await generateCases(dir, specs, engine, true, progressReporter('gen'));
      for (const file of keptChanged) console.error(`ulpwise: left ${dir}/${file} in place: the previous manifest listed it, but its bytes have changed since`);
      const bytes = entries.reduce((a, e) => a + e.bytes, 0);
      console.log(`${dir}: ${entries.length} cases, ${(bytes / 2 ** 20).toFixed(1)} MiB, generated with ${engine.description}\n`);
      if (!values['no-summary']) {
        const rows = await summarize(specs, engine, progressReporter('summary'));
        console.log(formatSummary(rows));
      }
    } finally {
      await engine.close();
    }
    return 0;
  },
};

import { defaultSuite } from '../../fixtures/suite.js';
import { formatSummary, summarize } from '../../diff/summary.js';
import { parseCommandArgs, progressReporter, PROGRESS_OPTION, type Command } from '../args.js';
import { openEngine, ENGINE_OPTION } from '../engineOption.js';
import { generateCases } from '../../fixtures/suiteWriter.js';

const OPTIONS = {
  out: { type: 'string', value: 'DIR', help: 'the suite folder (default ./golden); it ends up holding exactly the default suite' },
  'no-summary': { type: 'boolean', help: 'skip the fused-vs-unfused summary after generating' },
  ...ENGINE_OPTION,
  ...PROGRESS_OPTION,
} as const;

export const suiteCommand: Command = {
  name: 'suite',
  usage: 'suite [--out DIR] [--no-summary] [--engine cpu|webgpu|auto] [--adapter auto|vulkan|swiftshader|llvmpipe]',
  summary: 'regenerate the default golden suite and print the fused-vs-unfused summary',
  options: OPTIONS,
  async run(argv: string[]): Promise<number> {
    const { values } = parseCommandArgs(OPTIONS, argv, false);
    const dir = values.out ?? 'golden';
    const engine = await openEngine(values.engine, values.adapter);
    try {
      const specs = defaultSuite();
      const { entries, keptChanged } = await generateCases(dir, specs, engine, true, { progress: progressReporter('gen', values.progress) });
      for (const file of keptChanged) console.error(`ulpwise: left ${dir}/${file} in place: the previous manifest listed it, but its bytes have changed since`);
      const bytes = entries.reduce((a, e) => a + e.bytes, 0);
      console.log(`${dir}: ${entries.length} cases, ${(bytes / 2 ** 20).toFixed(1)} MiB, generated with ${engine.description}\n`);
      if (!values['no-summary']) {
        const rows = await summarize(specs, engine, progressReporter('summary', values.progress));
        console.log(formatSummary(rows));
      }
    } finally {
      await engine.close();
    }
    return 0;
  },
};

import { defaultSuite } from '../../fixtures/suite.js';
import { formatSummary, SummaryAccumulator } from '../../diff/summary.js';
import { parseCommandArgs, progressReporter, PROGRESS_OPTION, type Command } from '../args.js';
import { openEngine, ENGINE_OPTION } from '../engineOption.js';
import { generateCases } from '../../fixtures/suiteWriter.js';
import type { BuiltCase } from '../../fixtures/golden.js';
import type { Tensor } from '../../numerics/tensor.js';

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
      // The summary takes each case as it is written: its inputs are generated once.
      const summary = values['no-summary'] ? null : new SummaryAccumulator(engine);
      const afterCase = summary ? (built: BuiltCase, outputs: Map<string, Tensor>) => summary.add(built.spec, { built, outputs }) : undefined;
      const { entries, keptChanged } = await generateCases(dir, specs, engine, true, { progress: progressReporter('gen', values.progress), afterCase });
      for (const file of keptChanged) console.error(`ulpwise: left ${dir}/${file} in place: the previous manifest listed it, but its bytes have changed since`);
      const bytes = entries.reduce((a, e) => a + e.bytes, 0);
      console.log(`${dir}: ${entries.length} cases, ${(bytes / 2 ** 20).toFixed(1)} MiB, generated with ${engine.description}\n`);
      if (summary) console.log(formatSummary(summary.rows()));
    } finally {
      await engine.close();
    }
    return 0;
  },
};

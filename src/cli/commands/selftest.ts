import { parseArgs } from 'node:util';
import { closeDevice, describeAdapter } from '../../engines/webgpu/device.js';
import { runConformance } from '../../softfloat/conformance/run.js';
import { formatConformance } from '../../softfloat/conformance/report.js';
import { CONFORMANCE_LEVELS, conformanceSuites } from '../../softfloat/conformance/suites.js';
import { SOFTFLOAT_TWINS } from '../../softfloat/twins.js';
import { progressReporter, usageErrors } from '../args.js';
import { UsageError } from '../errors.js';
import { openAdapter } from '../engineOption.js';

export const selftestCommand = {
  name: 'selftest',
  usage: 'selftest [--adapter auto|vulkan|swiftshader|llvmpipe] [--level quick|full]',
  summary: 'run the WGSL soft-float on this adapter against its CPU twins; exit 1 on any mismatch',
  async run(argv: string[]): Promise<number> {
    const { values } = usageErrors(() => parseArgs({ args: argv, options: { adapter: { type: 'string' }, level: { type: 'string' } }, allowPositionals: false }));
    const level = CONFORMANCE_LEVELS.find((l) => l === (values.level ?? 'quick'));
    if (level === undefined) throw new UsageError(`--level: unknown level '${values.level}'; use ${CONFORMANCE_LEVELS.join(', ')}`);
    const ctx = await openAdapter(values.adapter);
    try {
      console.log(`selftest (${level}) on ${describeAdapter(ctx.adapter)}`);
      const suites = conformanceSuites(level);
      const progress = progressReporter('selftest');
      let done = 0;
      const results = await runConformance(ctx, suites, (r) => progress(++done, suites.length, `${r.label}: ${r.mismatches} mismatches`));
      console.log(formatConformance(results, SOFTFLOAT_TWINS));
      return results.some((r) => r.mismatches > 0) ? 1 : 0;
    } finally {
      await closeDevice(ctx);
    }
  },
};

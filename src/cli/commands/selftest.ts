import { closeDevice, describeAdapter } from '../../engines/webgpu/device.js';
import { runConformance } from '../../softfloat/conformance/run.js';
import { formatConformance } from '../../softfloat/conformance/report.js';
import { CONFORMANCE_LEVELS, conformanceSuites } from '../../softfloat/conformance/suites.js';
import { WGSL_TWINS } from '../../softfloat/twins.js';
import { parseCommandArgs, progressReporter, PROGRESS_OPTION, type Command } from '../args.js';
import { UsageError } from '../errors.js';
import { ENGINE_OPTION, openAdapter } from '../engineOption.js';

const OPTIONS = {
  adapter: ENGINE_OPTION.adapter,
  level: { type: 'string', value: 'quick|full', help: `how many cases: ${CONFORMANCE_LEVELS.join(' or ')} (default quick)` },
  ...PROGRESS_OPTION,
} as const;

export const selftestCommand: Command = {
  name: 'selftest',
  usage: 'selftest [--adapter auto|vulkan|swiftshader|llvmpipe] [--level quick|full]',
  summary: 'run the WGSL soft-float and sm_90 hardware ops on this adapter against their CPU twins; exit 1 on any mismatch',
  options: OPTIONS,
  async run(argv: string[]): Promise<number> {
    const { values } = parseCommandArgs(OPTIONS, argv, false);
    const level = CONFORMANCE_LEVELS.find((l) => l === (values.level ?? 'quick'));
    if (level === undefined) throw new UsageError(`--level: unknown level '${values.level}'; use ${CONFORMANCE_LEVELS.join(', ')}`);
    const ctx = await openAdapter(values.adapter);
    try {
      console.log(`selftest (${level}) on ${describeAdapter(ctx.adapter)}`);
      const suites = conformanceSuites(level);
      const progress = progressReporter('selftest', values.progress);
      let done = 0;
      const results = await runConformance(ctx, suites, (r) => progress(++done, suites.length, `${r.label}: ${r.mismatches} mismatches`));
      console.log(formatConformance(results, WGSL_TWINS));
      return results.some((r) => r.mismatches > 0) ? 1 : 0;
    } finally {
      await closeDevice(ctx);
    }
  },
};

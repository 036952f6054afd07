import { getPreset } from '../../contracts/presets.js';
import { MAX_HIDDEN, MAX_RANKS, MAX_TOKENS, type CaseSpec } from '../../fixtures/caseSpec.js';
import { INPUT_GENERATORS } from '../../fixtures/inputs.js';
import { parseArgs } from 'node:util';
import { boundedIntOption, progressReporter, usageErrors } from '../args.js';
import { UsageError } from '../errors.js';
import { openEngine, ENGINE_OPTION } from '../engineOption.js';
import { generateCases } from '../../fixtures/suiteWriter.js';

export const genCommand = {
  name: 'gen',
  usage: 'gen --preset P --ranks N --tokens M --hidden H [--group G] [--inputs GEN] [--seed S] [--out DIR] [--engine cpu|webgpu|auto] [--adapter auto|vulkan|swiftshader|llvmpipe]',
  summary: 'generate one golden case (and update DIR/manifest.json)',
  async run(argv: string[]): Promise<number> {
    const { values } = usageErrors(() => parseArgs({ args: argv, options: {
      preset: { type: 'string' }, ranks: { type: 'string' }, tokens: { type: 'string' }, hidden: { type: 'string' },
      group: { type: 'string' }, inputs: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, ...ENGINE_OPTION,
    }, allowPositionals: false }));
    if (!values.preset) throw new UsageError('--preset is required (see `ulpwise presets`)');
    const preset = getPreset(values.preset);
    const inputs = values.inputs ?? 'random';
    if (!(inputs in INPUT_GENERATORS)) throw new UsageError(`--inputs: unknown generator '${inputs}'; known: ${Object.keys(INPUT_GENERATORS).join(', ')}`);
    const spec: CaseSpec = {
      preset: preset.name,
      ranks: boundedIntOption(values.ranks, 'ranks', 1, MAX_RANKS, preset.ranks),
      tokens: boundedIntOption(values.tokens, 'tokens', 1, MAX_TOKENS),
      hidden: boundedIntOption(values.hidden, 'hidden', 1, MAX_HIDDEN),
      group: values.group === undefined ? null : boundedIntOption(values.group, 'group', 1, MAX_HIDDEN),
      inputs,
      seed: boundedIntOption(values.seed, 'seed', 0, 0xffffffff, 0),
    };
    const out = values.out ?? 'golden';
    const engine = await openEngine(values.engine, values.adapter);
    try {
      const [entry] = (await generateCases(out, [spec], engine, false, progressReporter('gen'))).entries.slice(-1);
      console.log(`wrote ${out}/${entry.file} (${entry.bytes} bytes, sha256 ${entry.sha256.slice(0, 16)}…) with ${engine.description}`);
    } finally {
      await engine.close();
    }
    return 0;
  },
};

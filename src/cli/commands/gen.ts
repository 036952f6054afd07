import { readFileSync } from 'node:fs';
import { overrideContract, parseContractStrictly, parseOverride, type Override } from '../../contracts/overrides.js';
import { getPreset } from '../../contracts/presets.js';
import { canonicalJson, ContractError } from '../../contracts/validate.js';
import type { Shape } from '../../contracts/schema.js';
import { buildCustomCase } from '../../fixtures/customCase.js';
import { INPUT_GENERATOR_NAMES, isInputGeneratorName } from '../../fixtures/inputs.js';
import { boundedIntOption, parseCommandArgs, progressReporter, PROGRESS_OPTION, type Command } from '../args.js';
import { UsageError } from '../errors.js';
import { openEngine, ENGINE_OPTION } from '../engineOption.js';
import { MAX_HIDDEN, MAX_RANKS, MAX_TOKENS } from '../../fixtures/caseSpec.js';
import { DEFAULT_GEN_OUT, generateCases } from '../../fixtures/suiteWriter.js';

const OPTIONS = {
  preset: { type: 'string', value: 'P', help: 'the named contract to start from (`ulpwise presets` lists them)' },
  contract: {
    type: 'string',
    value: 'FILE.json',
    help: 'a contract of your own, JSON validated strictly (`ulpwise presets --schema` prints its schema); instead of --preset',
  },
  set: {
    type: 'string',
    multiple: true,
    value: 'PATH=VALUE',
    help: 'override one contract field by its dotted path: --set residual.add=f32, --set norm.eps=1e-5, --set quant=null; VALUE is JSON or a plain string',
  },
  eps: { type: 'string', value: 'E', help: 'the RMSNorm epsilon (same as --set norm.eps=E)' },
  ranks: { type: 'string', value: 'N', help: "tensor-parallel ranks (default: the preset's when it models a fixed count)" },
  tokens: { type: 'string', value: 'M', help: 'token rows' },
  hidden: { type: 'string', value: 'H', help: 'hidden size' },
  group: { type: 'string', value: 'G', help: "quant group size (default: the contract's)" },
  inputs: { type: 'string', value: 'GEN', help: `synthetic input generator: ${INPUT_GENERATOR_NAMES.join(', ')} (default random)` },
  'inputs-from': {
    type: 'string',
    value: 'FILE',
    help:
      'take the inputs from a safetensors file instead: rank{r}.input [M, H] per rank, residual [M, H], weight [H], BF16 (or F32 holding bf16 values); ' +
      'what the Python ulpwise.capture writes',
  },
  seed: { type: 'string', value: 'S', help: 'generator seed (default 0)' },
  out: { type: 'string', value: 'DIR', help: `output folder (default ./${DEFAULT_GEN_OUT}); DIR/manifest.json lists its cases` },
  ...ENGINE_OPTION,
  ...PROGRESS_OPTION,
} as const;

function readContractFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ContractError(`--contract ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ContractError(`--contract ${path}: not JSON (${(e as Error).message})`);
  }
}

function optionalInt(value: string | undefined, name: string, max: number): number | undefined {
  return value === undefined ? undefined : boundedIntOption(value, name, 1, max);
}

export const genCommand: Command = {
  name: 'gen',
  usage:
    'gen (--preset P [--set PATH=VALUE]... [--eps E] | --contract FILE.json) (--ranks N --tokens M --hidden H [--inputs GEN] [--seed S] | --inputs-from ' +
    'FILE) [--group G] [--out DIR]',
  summary: 'generate one golden case (its inputs and the outputs the contract implies) and list it in DIR/manifest.json',
  options: OPTIONS,
  notes: [
    'examples:',
    '  ulpwise gen --preset aiter-1stage --ranks 4 --tokens 8 --hidden 2048',
    '  ulpwise gen --preset vllm-ar-rms-quant --set residual.add=f32 --eps 1e-5 --ranks 2 --tokens 4 --hidden 1024',
    '  ulpwise gen --contract mine.json --inputs-from captured.safetensors --out cases/',
  ],
  async run(argv: string[]): Promise<number> {
    const { values } = parseCommandArgs(OPTIONS, argv, false);
    if ((values.preset === undefined) === (values.contract === undefined)) {
      throw new UsageError('give one of --preset P (see `ulpwise presets`) and --contract FILE.json');
    }
    if (values['inputs-from'] !== undefined && (values.inputs !== undefined || values.seed !== undefined)) {
      throw new UsageError('--inputs-from FILE replaces the generator: drop --inputs and --seed');
    }
    const inputs = values.inputs ?? 'random';
    if (!isInputGeneratorName(inputs)) throw new UsageError(`--inputs: unknown generator '${inputs}'; known: ${INPUT_GENERATOR_NAMES.join(', ')}`);
    const preset = values.preset === undefined ? null : getPreset(values.preset);
    const overrides: Override[] = (values.set ?? []).map(parseOverride);
    if (values.eps !== undefined) {
      if (!Number.isFinite(Number(values.eps)) || values.eps.trim() === '') throw new UsageError(`--eps: '${values.eps}' is not a number`);
      overrides.push({ path: 'norm.eps', value: Number(values.eps) });
    }
    const group = optionalInt(values.group, 'group', MAX_HIDDEN);
    const base = preset ? preset.contract : parseContractStrictly(readContractFile(values.contract!), `--contract ${values.contract}`);
    // A preset's case on generated inputs keeps --group in its spec (the suite's file names).
    const presetCase = preset !== null && overrides.length === 0 && values['inputs-from'] === undefined;
    if (group !== undefined && !presetCase) overrides.push({ path: 'quant.groupSize', value: group });
    const contract = overrideContract(base, overrides);
    const shape: Partial<Shape> = {
      ranks: optionalInt(values.ranks, 'ranks', MAX_RANKS) ?? (values['inputs-from'] === undefined ? preset?.ranks : undefined),
      tokens: optionalInt(values.tokens, 'tokens', MAX_TOKENS),
      hidden: optionalInt(values.hidden, 'hidden', MAX_HIDDEN),
    };
    const built = presetCase
      ? null
      : buildCustomCase({
          preset: preset?.name ?? null,
          contract,
          presetContract: preset !== null && canonicalJson(contract) === canonicalJson(preset.contract),
          shape,
          inputs:
            values['inputs-from'] !== undefined
              ? { file: values['inputs-from'] }
              : { generator: inputs, seed: boundedIntOption(values.seed, 'seed', 0, 0xffffffff, 0) },
        });
    if (built && preset?.ranks !== undefined && built.shape.ranks !== preset.ranks) {
      throw new UsageError(`preset '${preset.name}' models ${preset.ranks} rank(s); this case has ${built.shape.ranks}`);
    }
    const spec = built?.spec ?? {
      preset: preset!.name,
      ranks: boundedIntOption(values.ranks, 'ranks', 1, MAX_RANKS, preset!.ranks),
      tokens: boundedIntOption(values.tokens, 'tokens', 1, MAX_TOKENS),
      hidden: boundedIntOption(values.hidden, 'hidden', 1, MAX_HIDDEN),
      group: group ?? null,
      inputs,
      seed: boundedIntOption(values.seed, 'seed', 0, 0xffffffff, 0),
    };
    const out = values.out ?? DEFAULT_GEN_OUT;
    const engine = await openEngine(values.engine, values.adapter);
    try {
      const { entries } = await generateCases(out, [spec], engine, false, {
        build: built ? () => built : undefined,
        progress: progressReporter('gen', values.progress),
      });
      const entry = entries[entries.length - 1];
      console.log(`wrote ${out}/${entry.file} (${entry.bytes} bytes, sha256 ${entry.sha256.slice(0, 16)}…) with ${engine.description}`);
    } finally {
      await engine.close();
    }
    return 0;
  },
};

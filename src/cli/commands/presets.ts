import { z } from 'zod';
import { describeKernels, listPresets } from '../../contracts/presets.js';
import { ContractSchema } from '../../contracts/schema.js';
import { parseCommandArgs, type Command } from '../args.js';

const OPTIONS = {
  json: { type: 'boolean', help: 'print the presets (name, source, models, reference, ranks, contract) as JSON' },
  schema: { type: 'boolean', help: 'print the JSON Schema of a contract (what gen --contract FILE.json accepts)' },
} as const;

export const presetsCommand: Command = {
  name: 'presets',
  usage: 'presets [--json] [--schema]',
  summary: 'list the named contracts with their sources',
  options: OPTIONS,
  async run(argv: string[]): Promise<number> {
    const { values } = parseCommandArgs(OPTIONS, argv, false);
    if (values.schema) {
      console.log(JSON.stringify(z.toJSONSchema(ContractSchema, { io: 'input' }), null, 2));
      return 0;
    }
    const presets = listPresets();
    if (values.json) {
      console.log(
        JSON.stringify(
          presets.map((p) => ({
            name: p.name,
            family: p.family,
            kind: p.kind,
            kernels: p.kernels,
            architectures: p.architectures,
            versionWindow: p.versionWindow,
            models: p.models,
            reference: p.reference,
            ranks: p.ranks ?? null,
            contract: p.contract,
            evidence: p.evidence,
            limitations: p.limitations,
          })),
          null,
          2,
        ),
      );
      return 0;
    }
    const width = Math.max(...presets.map((p) => p.name.length));
    for (const p of presets) console.log(`${p.name.padEnd(width)}  ${p.architectures.join(', ')}\n${''.padEnd(width)}  ${describeKernels(p)}`);
    return 0;
  },
};

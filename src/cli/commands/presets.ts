import { z } from 'zod';
import { describeKernels, listPresets } from '../../contracts/presets.js';
import { ContractSchema } from '../../contracts/schema.js';
import { parseArgs } from 'node:util';
import { usageErrors } from '../args.js';

export const presetsCommand = {
  name: 'presets',
  usage: 'presets [--json] [--schema]',
  summary: 'list the named contracts with their sources',
  async run(argv: string[]): Promise<number> {
    const { values } = usageErrors(() => parseArgs({ args: argv, options: { json: { type: 'boolean' }, schema: { type: 'boolean' } }, allowPositionals: false }));
    if (values.schema) {
      console.log(JSON.stringify(z.toJSONSchema(ContractSchema, { io: 'input' }), null, 2));
      return 0;
    }
    const presets = listPresets();
    if (values.json) {
      console.log(JSON.stringify(presets.map((p) => ({
        name: p.name, family: p.family, kind: p.kind, kernels: p.kernels, architectures: p.architectures, versionWindow: p.versionWindow,
        models: p.models, reference: p.reference, ranks: p.ranks ?? null, contract: p.contract, evidence: p.evidence, limitations: p.limitations,
      })), null, 2));
      return 0;
    }
    const width = Math.max(...presets.map((p) => p.name.length));
    for (const p of presets) console.log(`${p.name.padEnd(width)}  ${p.architectures.join(', ')}\n${''.padEnd(width)}  ${describeKernels(p)}`);
    return 0;
  },
};

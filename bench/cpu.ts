import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseContract } from '../src/contracts/validate.js';
import { buildCase } from '../src/fixtures/golden.js';
import { runCpuEngine } from '../src/engines/cpu/engine.js';
import { cpuThreads, runCpuEngineParallel } from '../src/engines/cpu/parallel.js';
import type { Tensor } from '../src/numerics/tensor.js';
import { summarize } from './stats.js';

// CPU engine time at N=8, H=7168 with per-group FP8 quant and the bf16 side output
// (aiter-1stage-quant@gfx942), on one thread and on every core (worker threads over row ranges),
// alternating in one process; the two runs' outputs are compared bit for bit. Elements/s counts
// output elements (M*H); each reads N rank inputs.
// With --contract FILE the case runs that contract instead (bench/cpu-vs-numpy.sh passes the one
// bench/emulate.py transcribes).
// Usage: node dist/bench/cpu.js [--repeat K] [--contract FILE] [M ...]   (default 3; 128 1024 8192)

const args = process.argv.slice(2);
const repeatAt = args.indexOf('--repeat');
const repeat = repeatAt >= 0 ? Number(args.splice(repeatAt, 2)[1]) : 3;
const contractAt = args.indexOf('--contract');
const contractFile = contractAt >= 0 ? args.splice(contractAt, 2)[1] : null;
const tokensList = args.map(Number);
const ranks = 8;
const hidden = 7168;

const same = (a: Map<string, Tensor>, b: Map<string, Tensor>): boolean =>
  a.size === b.size &&
  [...a].every(([name, t]) => {
    const u = b.get(name);
    const bytes = (x: Tensor): Buffer => Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength);
    return u !== undefined && bytes(t).equals(bytes(u));
  });

console.log(`cores ${availableParallelism()}, ${repeat} runs each after one warm-up, ms min/median/max`);
for (const tokens of tokensList.length > 0 ? tokensList : [128, 1024, 8192]) {
  const spec = { preset: 'aiter-1stage-quant@gfx942', ranks, tokens, hidden, group: null, inputs: 'random', seed: 1 };
  const built = contractFile ? buildCase(spec, parseContract(JSON.parse(readFileSync(contractFile, 'utf8')))) : buildCase(spec);
  const { contract, shape, inputs } = built;
  const threads = cpuThreads(shape, { threads: availableParallelism() });
  const single: number[] = [];
  const parallel: number[] = [];
  let bitsSame = same(runCpuEngine(contract, shape, inputs), await runCpuEngineParallel(contract, shape, inputs, { threads }));
  for (let i = 0; i < repeat; i++) {
    let start = performance.now();
    const a = runCpuEngine(contract, shape, inputs);
    single.push(performance.now() - start);
    start = performance.now();
    const b = await runCpuEngineParallel(contract, shape, inputs, { threads });
    parallel.push(performance.now() - start);
    bitsSame &&= same(a, b);
  }
  const s = summarize(single);
  const p = summarize(parallel);
  const fmt = (x: { min: number; median: number; max: number }) => `${x.min.toFixed(0)}/${x.median.toFixed(0)}/${x.max.toFixed(0)}`;
  console.log(
    `cpu N=${ranks} M=${tokens} H=${hidden}: 1 thread ${fmt(s)} ms (${((tokens * hidden) / (s.median / 1000)).toExponential(2)} el/s), ` +
      `${threads} threads ${fmt(p)} ms, speed-up ${(s.median / p.median).toFixed(2)}x, bits ${bitsSame ? 'identical' : 'DIFFER'}`,
  );
  if (!bitsSame) process.exitCode = 1;
}

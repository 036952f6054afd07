import { Bench } from 'tinybench';
import { buildCase } from '../src/fixtures/golden.js';
import { runCpuEngine } from '../src/engines/cpu/engine.js';

// CPU engine throughput at N=8, H=7168 with per-group FP8 quant and the bf16 side output
// (aiter-1stage-quant). Elements/s counts output elements (M*H) per second; each one reads N
// rank inputs. Usage: node dist/bench/cpu.js [M ...]   (default 128 1024 8192)

const tokensList = process.argv.slice(2).map(Number);
const ranks = 8;
const hidden = 7168;
const bench = new Bench({ iterations: 3, warmupIterations: 1, time: 0, warmupTime: 0 });
for (const tokens of tokensList.length > 0 ? tokensList : [128, 1024, 8192]) {
  const built = buildCase({ preset: 'aiter-1stage-quant', ranks, tokens, hidden, group: null, inputs: 'random', seed: 1 });
  bench.add(`cpu N=${ranks} M=${tokens} H=${hidden}`, () => {
    runCpuEngine(built.contract, built.shape, built.inputs);
  });
}
await bench.run();
const rows = bench.tasks.map((task) => {
  const tokens = Number(/M=(\d+)/.exec(task.name)![1]);
  const result = task.result;
  if (!result || result.state !== 'completed') throw new Error(`${task.name}: ${result?.state ?? 'no result'}`);
  const meanMs = result.latency.mean;
  return { case: task.name, 'mean ms': meanMs.toFixed(1), 'elements/s': ((tokens * hidden) / (meanMs / 1000)).toExponential(3), samples: result.latency.samplesCount };
});
console.table(rows);

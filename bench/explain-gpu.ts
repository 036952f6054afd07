import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { getPreset } from '../src/contracts/presets.js';
import type { Shape } from '../src/contracts/schema.js';
import { withFields } from '../src/diff/dimensions.js';
import { explainCandidate, explainCandidateWith, type ExplainedGolden } from '../src/diff/explain.js';
import { fittedOutputsOnGpu } from '../src/diff/gpuFitted.js';
import { closeDevice, describeAdapter, openDevice, parseAdapterChoice } from '../src/engines/webgpu/device.js';
import { runWebGpuEngine } from '../src/engines/webgpu/engine.js';
import { benchInputs } from './benchInputs.js';
import { numberList, summarize } from './stats.js';

// explain on TP 8 x M x 7168 with quant (issue 16: under 1 s at M = 8192 with the GPU), in one
// process, the case held in memory (no files): the golden contract aiter-1stage-quant@gfx942,
// the candidate its sm90-rsqrt variant (every row's rstd from the measured sm_90 table) computed
// by the WebGPU engine on bench inputs. explain with the fit run and compared on the GPU is
// timed at every M of --tokens (a first, untimed run compiles the pipelines), and the CPU
// engine's explain at every M of --cpu-tokens, where the two reports must be the same JSON.
//
// usage: node dist/bench/explain-gpu.js [--adapter A] [--tokens 64,1024,8192] [--cpu-tokens 64,256,1024] [--iterations 3] [--json FILE]

const { values } = parseArgs({
  options: {
    adapter: { type: 'string', default: 'auto' },
    tokens: { type: 'string', default: '64,1024,8192' },
    'cpu-tokens': { type: 'string', default: '64,256,1024' },
    iterations: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});
const gpuTokens = numberList(values.tokens);
const cpuTokens = new Set(numberList(values['cpu-tokens']));
const iterations = Number(values.iterations);

const PRESET = 'aiter-1stage-quant@gfx942';
const goldenContract = getPreset(PRESET).contract;
const candidateContract = withFields(goldenContract, { 'hardwareOps.rsqrt': 'sm90' });
if (!candidateContract) throw new Error(`${PRESET} with hardwareOps.rsqrt sm90 is not a contract`);

const show = (ms: number[]): string => {
  const { min, median, max } = summarize(ms);
  return `${min.toFixed(0)}/${median.toFixed(0)}/${max.toFixed(0)} ms`;
};

const ctx = await openDevice(parseAdapterChoice(values.adapter));
const results: unknown[] = [];
let allSame = true;
try {
  console.log(`explain, TP 8 x M x 7168, ${PRESET} vs its sm90-rsqrt variant; ${new Date().toISOString()}; ${describeAdapter(ctx.adapter)}`);
  for (const tokens of [...new Set([...gpuTokens, ...cpuTokens])].sort((a, b) => a - b)) {
    const shape: Shape = { ranks: 8, tokens, hidden: 7168 };
    const inputs = benchInputs(shape, tokens);
    const candidate = await runWebGpuEngine(ctx, candidateContract, shape, inputs);
    const golden: ExplainedGolden = { contract: goldenContract, shape, inputs, file: 'bench-golden', preset: PRESET };
    const options = { rstdUlps: null, scaleUlps: null };
    const onGpu = async (): Promise<{ ms: number; fittedMs: number; phaseMs: Record<string, number>; json: string }> => {
      let fittedMs = 0;
      const phaseMs = new Map<string, number>();
      const started = performance.now();
      const report = await explainCandidateWith(golden, candidate, 'bench-candidate', options, async (contract) => {
        const fitStarted = performance.now();
        const fitted = await fittedOutputsOnGpu(ctx, contract, shape, inputs, candidate, { phaseMs });
        fittedMs = performance.now() - fitStarted;
        return fitted;
      });
      return { ms: performance.now() - started, fittedMs, phaseMs: Object.fromEntries(phaseMs), json: JSON.stringify(report) };
    };
    const first = await onGpu();
    const gpuRuns = [];
    if (gpuTokens.includes(tokens)) for (let i = 0; i < iterations; i++) gpuRuns.push(await onGpu());
    const line = [`M=${tokens}: gpu explain first run ${first.ms.toFixed(0)} ms`];
    if (gpuRuns.length > 0) {
      line.push(`gpu explain ${show(gpuRuns.map((r) => r.ms))} (min/median/max of ${gpuRuns.length})`);
      line.push(`of which the fit on the GPU ${show(gpuRuns.map((r) => r.fittedMs))}`);
      for (const phase of Object.keys(first.phaseMs)) line.push(`  ${phase} ${show(gpuRuns.map((r) => r.phaseMs[phase]))}`);
    }
    let cpuMs: number | null = null;
    let same: boolean | null = null;
    if (cpuTokens.has(tokens)) {
      const started = performance.now();
      const report = explainCandidate(golden, candidate, 'bench-candidate', options);
      cpuMs = performance.now() - started;
      same = JSON.stringify(report) === first.json && gpuRuns.every((r) => r.json === first.json);
      allSame &&= same;
      line.push(`cpu explain ${cpuMs.toFixed(0)} ms`, same ? 'same JSON' : 'JSON DIFFERS');
    }
    console.log(line.join('; '));
    const verdict = JSON.parse(first.json) as { verdict?: unknown; engineRuns?: unknown };
    results.push({
      tokens,
      firstMs: first.ms,
      gpuMs: gpuRuns.map((r) => r.ms),
      fittedMs: gpuRuns.map((r) => r.fittedMs),
      phaseMs: gpuRuns.map((r) => r.phaseMs),
      cpuMs,
      same,
      verdict: verdict.verdict,
      engineRuns: verdict.engineRuns,
    });
  }
} finally {
  await closeDevice(ctx);
}
if (values.json) writeFileSync(values.json, `${JSON.stringify({ preset: PRESET, adapter: describeAdapter(ctx.adapter), results }, null, 2)}\n`);
if (!allSame) {
  console.error('explain-gpu: the GPU and CPU reports differ');
  process.exit(1);
}

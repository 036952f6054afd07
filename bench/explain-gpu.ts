import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { getPreset } from '../src/contracts/presets.js';
import type { Shape } from '../src/contracts/schema.js';
import { withFields } from '../src/diff/dimensions.js';
import { explainCandidate, type ExplainedGolden } from '../src/diff/explain.js';
import { explainCandidateOnGpu } from '../src/diff/gpuDiff.js';
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
// explain on the GPU is explainCandidateOnGpu, as `explain --engine webgpu` runs it (the inputs
// uploaded during the search, the search's batches scored on defaultScoreThreads workers, as
// many as the line for each M says).
// --base DIR: another build's dist/ (an older commit's `npm run build`), whose
// explainCandidateOnGpu (DIR/src/diff/gpuDiff.js) is timed too, alternated with this build's run
// by run on the same device, inputs and candidate, for a same-run ratio; its reports must be the
// same JSON too.
//
// usage: node dist/bench/explain-gpu.js [--adapter A] [--tokens 64,1024,8192] [--cpu-tokens 64,256,1024] [--iterations 3] [--base DIR] [--json FILE]

const { values } = parseArgs({
  options: {
    adapter: { type: 'string', default: 'auto' },
    tokens: { type: 'string', default: '64,1024,8192' },
    'cpu-tokens': { type: 'string', default: '64,256,1024' },
    iterations: { type: 'string', default: '3' },
    base: { type: 'string' },
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

type ExplainOnGpu = typeof explainCandidateOnGpu;
/** explain's progress messages that start a phase (explain.ts), as they begin. */
const EXPLAIN_PHASES = ['searching the stages', 'deciding the ties', 'rescoring the fit'];
const builds: [string, ExplainOnGpu][] = [['this build', explainCandidateOnGpu]];
if (values.base !== undefined) {
  const base = (await import(pathToFileURL(join(resolve(values.base), 'src', 'diff', 'gpuDiff.js')).href)) as { explainCandidateOnGpu: ExplainOnGpu };
  builds.push([`base ${values.base}`, base.explainCandidateOnGpu]);
}

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
    const onGpu = async (
      explain: ExplainOnGpu,
    ): Promise<{ ms: number; fittedMs: number; phaseMs: Record<string, number>; threadsUsed: string; json: string }> => {
      // The fit's phases, summed over the search rounds (each fits once; explain.ts
      // MORE_SEARCHES); a base build that takes no timings leaves them empty.
      const phaseMs = new Map<string, number>();
      const started = performance.now();
      // explain's own phases, from its progress messages: the search, the ties, and the fit
      // with the rescoring (a base build without these messages leaves them out).
      let phase: string | null = null;
      let phaseStarted = started;
      let threadsUsed = 'no scoring threads';
      const progress = (message: string): void => {
        if (message.startsWith('scored ')) threadsUsed = message;
        const now = performance.now();
        if (phase !== null) phaseMs.set(phase, (phaseMs.get(phase) ?? 0) + now - phaseStarted);
        phase = EXPLAIN_PHASES.find((p) => message.startsWith(p)) ?? null;
        phaseStarted = now;
      };
      const report = await explain(ctx, golden, candidate, 'bench-candidate', { ...options, progress }, { phaseMs });
      progress('');
      const fittedMs = [...phaseMs].filter(([p]) => !EXPLAIN_PHASES.includes(p)).reduce((a, [, ms]) => a + ms, 0);
      return { ms: performance.now() - started, fittedMs, phaseMs: Object.fromEntries(phaseMs), threadsUsed, json: JSON.stringify(report) };
    };
    // Per build: a first run (pipelines compiled), then the timed runs, alternated between builds.
    type Run = Awaited<ReturnType<typeof onGpu>>;
    const firsts: Run[] = [];
    for (const [, explain] of builds) firsts.push(await onGpu(explain));
    const first = firsts[0];
    const gpuRuns: Run[][] = builds.map(() => []);
    if (gpuTokens.includes(tokens)) for (let i = 0; i < iterations; i++) for (const [b, [, explain]] of builds.entries()) gpuRuns[b].push(await onGpu(explain));
    const lines = builds.map(([build], b) => {
      const runs = gpuRuns[b];
      const line = [`M=${tokens}, ${build}: gpu explain first run ${firsts[b].ms.toFixed(0)} ms (${firsts[b].threadsUsed})`];
      if (runs.length > 0) {
        line.push(`gpu explain ${show(runs.map((r) => r.ms))} (min/median/max of ${runs.length})`);
        line.push(`of which the fit on the GPU ${show(runs.map((r) => r.fittedMs))}`);
        for (const phase of Object.keys(firsts[b].phaseMs)) line.push(`  ${phase} ${show(runs.map((r) => r.phaseMs[phase]))}`);
      }
      return line.join('; ');
    });
    const buildsSame = firsts.every((f) => f.json === first.json) && gpuRuns.flat().every((r) => r.json === first.json);
    allSame &&= buildsSame;
    if (builds.length > 1) lines.push(`M=${tokens}: the builds' reports are ${buildsSame ? 'the same JSON' : 'DIFFERENT JSON'}`);
    let cpuMs: number | null = null;
    let same: boolean | null = null;
    if (cpuTokens.has(tokens)) {
      const started = performance.now();
      const report = await explainCandidate(golden, candidate, 'bench-candidate', options);
      cpuMs = performance.now() - started;
      same = JSON.stringify(report) === first.json;
      allSame &&= same;
      lines.push(`M=${tokens}: cpu explain ${cpuMs.toFixed(0)} ms; ${same ? 'same JSON' : 'JSON DIFFERS'}`);
    }
    console.log(lines.join('\n'));
    const verdict = JSON.parse(first.json) as { verdict?: unknown; engineRuns?: unknown };
    results.push({
      tokens,
      builds: builds.map(([build], b) => ({
        build,
        firstMs: firsts[b].ms,
        gpuMs: gpuRuns[b].map((r) => r.ms),
        fittedMs: gpuRuns[b].map((r) => r.fittedMs),
        phaseMs: gpuRuns[b].map((r) => r.phaseMs),
      })),
      buildsSame: builds.length > 1 ? buildsSame : null,
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
  console.error('explain-gpu: the reports differ (GPU and CPU, or this build and the base)');
  process.exit(1);
}

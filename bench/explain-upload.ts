import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { getPreset } from '../src/contracts/presets.js';
import type { Shape } from '../src/contracts/schema.js';
import { withFields } from '../src/diff/dimensions.js';
import { closeDevice, describeAdapter, openDevice, parseAdapterChoice } from '../src/engines/webgpu/device.js';
import { StagedWrites } from '../src/engines/webgpu/staging.js';
import { benchInputs } from './benchInputs.js';
import { numberList, summarize } from './stats.js';

// The host-side part of explain's GPU fit that moves data (issue 16), timed for this build and
// for another build's dist/ (--base) in one process, alternated: the case's upload as the
// build's src/diff/gpuFitted.ts asks for it (uploadCase with its options), then the candidate's
// residual, norm and q rows of every chunk as the fit uploads them (this build: through the
// staging buffers into one reused buffer per output; the base: its uploadCodes, a
// mappedAtCreation buffer per chunk and output), until the queue is idle; the case released.
// The GPU's stages and compares are left out, so that it runs at M = 8192 on a software adapter.
// The candidate's codes are the inputs' bytes: only their sizes matter here.
//
// usage: node dist/bench/explain-upload.js --base DIR [--adapter A] [--tokens 8192] [--iterations 3]

const { values } = parseArgs({
  options: {
    adapter: { type: 'string', default: 'auto' },
    tokens: { type: 'string', default: '8192' },
    iterations: { type: 'string', default: '3' },
    base: { type: 'string' },
  },
});
if (values.base === undefined) throw new Error('explain-upload: --base DIR (another build of dist/) is required');
const baseDir = resolve(values.base);
type UploadModule = typeof import('../src/engines/webgpu/upload.js');
type CompareModule = typeof import('../src/engines/webgpu/compare.js');
const moduleOf = async <T>(...path: string[]): Promise<T> => (await import(pathToFileURL(join(baseDir, 'src', ...path)).href)) as T;
const baseUpload = await moduleOf<UploadModule>('engines', 'webgpu', 'upload.js');
const baseCompare = await moduleOf<CompareModule>('engines', 'webgpu', 'compare.js');
const thisUpload = await import('../src/engines/webgpu/upload.js');

const contract = withFields(getPreset('aiter-1stage-quant@gfx942').contract, { 'hardwareOps.rsqrt': 'sm90' });
if (!contract) throw new Error('aiter-1stage-quant@gfx942 with hardwareOps.rsqrt sm90 is not a contract');
const ctx = await openDevice(parseAdapterChoice(values.adapter));
console.log(`explain's GPU fit, data moved to the GPU: ${new Date().toISOString()}; ${describeAdapter(ctx.adapter)}`);
try {
  for (const tokens of numberList(values.tokens)) {
    const shape: Shape = { ranks: 8, tokens, hidden: 7168 };
    const inputs = benchInputs(shape, tokens);
    const { hidden } = shape;
    const candidate = new Map<string, Uint8Array | Uint16Array>([
      ['out.residual', inputs.rankInputs[0].data as Uint16Array],
      ['out.norm', inputs.rankInputs[1].data as Uint16Array],
      ['out.q', new Uint8Array(inputs.rankInputs[2].data.buffer, 0, tokens * hidden)],
    ]);

    const thisBuild = async (): Promise<void> => {
      const uploaded = await thisUpload.uploadCase(ctx, contract, shape, inputs, { readback: 'none', outputSetBudgetBytes: 0 });
      const maxRows = Math.max(...uploaded.plan.chunks.map((c) => c.count));
      const buffers = [...candidate].map(([name, data]) => {
        const bytes = Math.ceil((maxRows * hidden * data.BYTES_PER_ELEMENT) / 4) * 4;
        return { data, buffer: ctx.device.createBuffer({ label: name, size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST }) };
      });
      for (const { first, count } of uploaded.plan.chunks) {
        const rows = new StagedWrites(ctx, `rows ${first}+${count}`);
        for (const { data, buffer } of buffers) await rows.write(buffer, 0, data.subarray(first * hidden, (first + count) * hidden));
        await rows.flush();
      }
      await ctx.device.queue.onSubmittedWorkDone();
      for (const { buffer } of buffers) buffer.destroy();
      thisUpload.releaseCase(uploaded);
    };
    const baseBuild = async (): Promise<void> => {
      const uploaded = await baseUpload.uploadCase(ctx, contract, shape, inputs);
      for (const { first, count } of uploaded.plan.chunks) {
        for (const [name, data] of candidate) {
          const codes = await baseCompare.uploadCodes(ctx, data.subarray(first * hidden, (first + count) * hidden), `${name} rows`);
          codes.destroy();
        }
      }
      await ctx.device.queue.onSubmittedWorkDone();
      baseUpload.releaseCase(uploaded);
    };
    const builds: [string, () => Promise<void>, number[]][] = [
      ['this build', thisBuild, []],
      [`base ${values.base}`, baseBuild, []],
    ];
    for (const [, run] of builds) await run();
    for (let i = 0; i < Number(values.iterations); i++) {
      for (const [, run, ms] of builds) {
        const started = performance.now();
        await run();
        ms.push(performance.now() - started);
      }
    }
    for (const [build, , ms] of builds) {
      const { min, median, max } = summarize(ms);
      console.log(
        `M=${tokens}, ${build}: upload and candidate rows ${min.toFixed(0)}/${median.toFixed(0)}/${max.toFixed(0)} ms (min/median/max of ${ms.length})`,
      );
    }
  }
} finally {
  await closeDevice(ctx);
}

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compareTensors } from '../src/diff/compare.js';
import { closeDevice, describeAdapter, openDevice, parseAdapterChoice } from '../src/engines/webgpu/device.js';
import { executeCase } from '../src/engines/webgpu/execute.js';
import { releaseCase, uploadCase } from '../src/engines/webgpu/upload.js';
import { readGolden } from '../src/fixtures/golden.js';
import { summarize } from './stats.js';

// The WebGPU engine on one golden written by `ulpwise gen` (its inputs, its contract), timed the
// way bench/emulate.py times a PyTorch emulation of the same file, so that the two compare on the
// same inputs and contract in one device script (bench/device-vs-torch.sh):
//   compute: every dispatch of a run, waited for, nothing read back (the outputs stay on the GPU,
//            as torch-cuda's "ms" leaves them);
//   mapped:  the same plus the outputs copied into mappable buffers and mapped (torch-cuda's
//            "with readback ms" copies into pinned host memory).
// Bits: the engine's outputs against the golden's (the CPU engine's when gen ran with cpu),
// every element, before any timing; a mismatch fails the run (exit 1).
//
// usage: node dist/bench/webgpu-case.js CASE.safetensors [--adapter A] [--iterations K] [--json FILE]

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    adapter: { type: 'string', default: 'auto' },
    iterations: { type: 'string', default: '15' },
    json: { type: 'string' },
  },
});
if (positionals.length !== 1) throw new Error('usage: webgpu-case.js CASE.safetensors [--adapter A] [--iterations K] [--json FILE]');
const iterations = Number(values.iterations);
if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`--iterations must be a positive integer, got ${values.iterations}`);

async function timed(work: () => Promise<void>): Promise<number[]> {
  await work(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return times;
}

const golden = readGolden(positionals[0]);
const ctx = await openDevice(parseAdapterChoice(values.adapter));
try {
  const report: Record<string, unknown> = { date: new Date().toISOString(), adapter: describeAdapter(ctx.adapter), case: positionals[0], shape: golden.shape };
  const uploaded = await uploadCase(ctx, golden.contract, golden.shape, golden.inputs);
  try {
    const first = await executeCase(uploaded);
    const mismatches: Record<string, number> = {};
    for (const [name, expected] of golden.outputs) {
      const actual = first.outputs.get(name);
      mismatches[name] = actual === undefined ? expected.data.length : compareTensors(expected, actual).differing;
    }
    report.mismatches = mismatches;
    report.chunks = uploaded.chunks.length;
    report.compute = summarize(await timed(async () => void (await executeCase(uploaded, { computeOnly: true }))));
  } finally {
    releaseCase(uploaded);
  }
  const mapped = await uploadCase(ctx, golden.contract, golden.shape, golden.inputs, { readback: 'mapped' });
  try {
    report.mapped = summarize(await timed(async () => (await executeCase(mapped)).release()));
  } finally {
    releaseCase(mapped);
  }
  console.log(JSON.stringify(report));
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  if (Object.values(report.mismatches as Record<string, number>).some((n) => n > 0)) process.exitCode = 1;
} finally {
  await closeDevice(ctx);
}

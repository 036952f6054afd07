import { z } from 'zod';
import { FP8_FORMATS } from '../numerics/fp8.js';
import { E8M0_ROUNDINGS } from '../numerics/e8m0.js';

// One contract describes every rounding a kernel performs between its inputs and its outputs:
// AR -> (+ residual) -> RMSNorm -> (optional per-group FP8 quant, optional bf16 side output).
// Field names follow what a kernel engineer would call the choice.

export const RankOrderSchema = z.discriminatedUnion('kind', [
  /** Every rank sums ranks 0..N-1 left to right (aiter fused kernels, vLLM packed_reduce). */
  z.object({ kind: z.literal('natural') }),
  /** Partition owned by rank r is summed r, r+1, ..., r-1 (aiter/vLLM cross_device_reduce_2stage).
   *  The flattened tensor is cut into `packElems`-element packs; each rank owns floor(packs/N)
   *  of them and the last rank takes the remainder. */
  z.object({ kind: z.literal('rotated'), packElems: z.number().int().positive().default(8) }),
  /** Each rank sums its own buffer first, then r+1, ..., r-1: ranks diverge (PyTorch 129501). */
  z.object({ kind: z.literal('own-first') }),
  /** NCCL ring: chunk c is summed x[ring(c+1)] + ... + x[ring(c)], then forwarded unchanged.
   *  The flattened tensor is cut into N contiguous chunks of ceil(total/N) elements rounded
   *  up to `chunkAlignElems`; `ring` is the rank at each ring position (identity if absent). */
  z.object({
    kind: z.literal('ring'),
    ring: z.array(z.number().int().nonnegative()).optional(),
    chunkAlignElems: z.number().int().positive().default(8),
  }),
]);

export const AllReduceSchema = z.object({
  order: RankOrderSchema,
  /** f32: adds in f32, no rounding between hops. bf16: every add is rounded to bf16 (NCCL per-hop,
   *  TRT-LLM without Fp32Acc). */
  accumulate: z.enum(['f32', 'bf16']),
  /** bf16: the AR sum goes through bf16 and back before anything reads it (aiter PR 2586). */
  roundResult: z.enum(['none', 'bf16']),
});

export const ResidualSchema = z.object({
  /** f32: x = fround(ar + res) stays f32 (aiter 1-stage). bf16: x = bf16(ar + res). */
  add: z.enum(['f32', 'bf16']),
});

export const SumOfSquaresTreeSchema = z.discriminatedUnion('kind', [
  /** acc = acc + x[h]*x[h] for h = 0..H-1 (the unfused reference). */
  z.object({ kind: z.literal('sequential') }),
  /** aiter / TRT-LLM fused epilogue: thread t holds elements [perThread*t, perThread*(t+1)),
   *  threads padded with zeros to a multiple of warpSize, XOR butterfly within each warp
   *  (strides warpSize/2 .. 1), lane 0 of each warp to shared memory, then an XOR butterfly over
   *  next_pow2(warps) lanes. */
  z.object({
    kind: z.literal('butterfly'),
    perThread: z.number().int().positive().default(8),
    warpSize: z.union([z.literal(32), z.literal(64)]).default(32),
  }),
  /** vLLM rms_norm / fused_add_rms_norm with cub BlockReduce (WARP_REDUCTIONS): thread t strides
   *  over h = t, t+B, ...; each warp reduces by shuffle-down (offsets 1, 2, 4, ..), then thread 0
   *  adds the warp aggregates 1..W-1 in order. blockSize 'vllm' = min(H, tokens < 256 ? 1024 : 256). */
  z.object({
    kind: z.literal('cub'),
    blockSize: z.union([z.number().int().positive(), z.literal('vllm')]).default('vllm'),
    warpSize: z.union([z.literal(32), z.literal(64)]).default(32),
  }),
]);

export const RmsNormSchema = z.object({
  /** What the norm reads: the f32 x, or x rounded to bf16 (the residual output). */
  input: z.enum(['f32', 'bf16']),
  sumOfSquares: z.object({
    tree: SumOfSquaresTreeSchema,
    /** Per-thread accumulation as fma(v, v, acc) instead of fround(acc + fround(v*v)). */
    fma: z.boolean(),
  }),
  /** rstd = fround(1 / fround(sqrt(fround(fround(sumsq / H) + eps)))), every step correctly
   *  rounded; eps is fround(eps). */
  eps: z.number().positive(),
  /** Set where the real kernel uses a hardware rsqrt (~1 ULP): its rows can differ everywhere and
   *  `diff --rstd infer` recovers them. The oracle itself always computes the reproducible rstd. */
  kernelRstd: z.enum(['correctly-rounded', 'hardware-rsqrt']),
  weight: z.object({
    dtype: z.enum(['bf16', 'f32']),
    /** vLLM PR 42864: an f32 weight cast to the activation dtype (bf16) before the fused op. */
    castToBf16: z.boolean(),
  }),
  /** 'x-rstd-w': (x*rstd)*w; 'x-w-rstd': (x*w)*rstd (aiter split kernels). */
  multiplyOrder: z.enum(['x-rstd-w', 'x-w-rstd']),
  /** Round the first product to bf16 before the second multiply (vLLM: bf16(bf16(x*rstd)*w)). */
  roundIntermediate: z.boolean(),
});

export const AmaxFloorSchema = z.discriminatedUnion('on', [
  z.object({ on: z.literal('none') }),
  /** amax = max(amax, value) (Triton, aiter standalone: amax starts at 1e-10). */
  z.object({ on: z.literal('amax'), value: z.number().positive() }),
  /** scale = max(scale, value) (vLLM C++ per_token_group_quant). */
  z.object({ on: z.literal('scale'), value: z.number().positive() }),
]);

export const QuantSchema = z.object({
  groupSize: z.number().int().positive(),
  format: z.enum(FP8_FORMATS),
  /** f32: the normed f32 value (aiter fused, SGLang fused); bf16: the bf16-rounded norm output. */
  input: z.enum(['f32', 'bf16']),
  amaxFloor: AmaxFloorSchema,
  /** aiter fused: scale = amax == 0 ? 1 : ... */
  zeroAmaxScaleOne: z.boolean(),
  /** divide: scale = fround(amax / max); reciprocal: scale = fround(amax * fround(1 / max)). */
  scale: z.enum(['divide', 'reciprocal']),
  /** Round the scale to a power of two (UE8M0) after the floor. */
  ue8m0: z.union([z.literal('none'), z.enum(E8M0_ROUNDINGS)]),
  /** divide: q = x / scale; reciprocal: q = x * fround(1 / scale). */
  quantize: z.enum(['divide', 'reciprocal']),
  /** Clamp the scaled value to [-bound, bound] before conversion (vLLM fnuz uses 224). */
  clamp: z.union([z.literal('none'), z.number().positive()]),
  saturation: z.enum(['satfinite', 'overflow']),
  /** row-major: scales [M, H/G]; column-major: [H/G, M]. */
  scaleLayout: z.enum(['row-major', 'column-major']),
  /** Also emit the bf16 values that were quantized (aiter emit_bf16, SGLang keep_bf16). */
  bf16SideOutput: z.boolean(),
});

export const ContractSchema = z.object({
  allReduce: AllReduceSchema,
  /** Every f32 -> bf16 downcast in the kernel: rne, or truncate (aiter on gfx942). */
  bf16Rounding: z.enum(['rne', 'truncate']),
  /** null: no residual input (vLLM PR 42864 no-residual pattern). */
  residual: ResidualSchema.nullable(),
  norm: RmsNormSchema,
  quant: QuantSchema.nullable(),
});

export type RankOrder = z.infer<typeof RankOrderSchema>;
export type SumOfSquaresTree = z.infer<typeof SumOfSquaresTreeSchema>;
export type AmaxFloor = z.infer<typeof AmaxFloorSchema>;
export type QuantContract = z.infer<typeof QuantSchema>;
export type RmsNormContract = z.infer<typeof RmsNormSchema>;
export type Contract = z.infer<typeof ContractSchema>;
export type ContractInput = z.input<typeof ContractSchema>;

/** The problem a contract is applied to. */
export const ShapeSchema = z.object({
  ranks: z.number().int().min(1).max(64),
  tokens: z.number().int().min(1),
  hidden: z.number().int().min(1),
});
export type Shape = z.infer<typeof ShapeSchema>;

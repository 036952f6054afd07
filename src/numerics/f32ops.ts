import { bitsFromF32, f32FromBits, fmaF32 } from './f32.js';
import { F32_SPECIALIZATION } from '../softfloat/specialize.js';
import { s_propagateNaN } from '../softfloat/s_propagateNaN.js';

// The f32 arithmetic a kernel runs, on f32 values held in JS numbers: IEEE (subnormals kept) or
// with subnormals flushed, as a GPU built with -fgpu-flush-denormals-to-zero (aiter) or
// --ftz=true (nvcc -use_fast_math) runs it. Every result is the correctly rounded one:
// Math.fround of the f64 result for + - * / sqrt (double rounding through f64 is innocuous for
// these on f32 operands) and fmaF32 for the fused multiply-add.
//
// A NaN result follows the soft-float's rule (src/softfloat/specialize.ts), the WebGPU engine's,
// on every host: an invalid operation on non-NaN operands gives the default NaN 0x7fc00000, a NaN
// operand gives the first NaN operand (a, b, then c), quieted. The host's own NaN is not that:
// x86 SSE's invalid result is the "real indefinite" 0xffc00000 (sign set; ARM gives 0x7fc00000),
// and with two NaN operands V8's code picks whichever operand its instruction reads first. So a
// NaN result is rebuilt from the operands' bits; the hot path pays one comparison.

export interface F32Arithmetic {
  add(a: number, b: number): number;
  mul(a: number, b: number): number;
  /** a*b + c with one rounding. */
  fma(a: number, b: number, c: number): number;
  div(a: number, b: number): number;
  sqrt(a: number): number;
}

/** The smallest normal f32, 2^-126. */
export const F32_MIN_NORMAL = 2 ** -126;

/** A subnormal f32 as a zero of its sign; everything else unchanged. */
export function flushSubnormal(x: number): number {
  if (x === 0 || !(Math.abs(x) < F32_MIN_NORMAL)) return x;
  return x < 0 ? -0 : 0;
}

/** The soft-float's NaN for a NaN result of an operation on a, b (s_propagateNaN, or the default
 *  NaN when neither is a NaN). A NaN operand's bits are those of the f32 it was loaded as: a JS
 *  number keeps them through Float32Array stores and loads (V8 quiets a signalling one on load,
 *  which s_propagateNaN does anyway). */
function nanResult(a: number, b: number): number {
  if (!Number.isNaN(a) && !Number.isNaN(b)) return f32FromBits(F32_SPECIALIZATION.defaultNaNF32UI);
  return f32FromBits(s_propagateNaN(bitsFromF32(a), bitsFromF32(b)));
}

/** fma's NaN: a or b first, then c (f32_mulAdd checks c after a and b, before Inf * 0). */
function fmaNanResult(a: number, b: number, c: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? nanResult(a, b) : nanResult(c, 0);
}

export const IEEE_F32: F32Arithmetic = {
  add: (a, b) => {
    const r = Math.fround(a + b);
    return Number.isNaN(r) ? nanResult(a, b) : r;
  },
  mul: (a, b) => {
    const r = Math.fround(a * b);
    return Number.isNaN(r) ? nanResult(a, b) : r;
  },
  fma: (a, b, c) => {
    const r = fmaF32(a, b, c);
    return Number.isNaN(r) ? fmaNanResult(a, b, c) : r;
  },
  div: (a, b) => {
    const r = Math.fround(a / b);
    return Number.isNaN(r) ? nanResult(a, b) : r;
  },
  sqrt: (a) => {
    const r = Math.fround(Math.sqrt(a));
    return Number.isNaN(r) ? nanResult(a, 0) : r;
  },
};

/** Subnormal operands read as zeros of their sign; a result that rounds to a subnormal becomes a
 *  zero of its sign (tininess after rounding: a result that rounds up to 2^-126 stays). */
export const FLUSHING_F32: F32Arithmetic = {
  add: (a, b) => flushSubnormal(IEEE_F32.add(flushSubnormal(a), flushSubnormal(b))),
  mul: (a, b) => flushSubnormal(IEEE_F32.mul(flushSubnormal(a), flushSubnormal(b))),
  fma: (a, b, c) => flushSubnormal(IEEE_F32.fma(flushSubnormal(a), flushSubnormal(b), flushSubnormal(c))),
  div: (a, b) => flushSubnormal(IEEE_F32.div(flushSubnormal(a), flushSubnormal(b))),
  sqrt: (a) => flushSubnormal(IEEE_F32.sqrt(flushSubnormal(a))),
};

export function f32Arithmetic(subnormals: 'keep' | 'flush'): F32Arithmetic {
  return subnormals === 'keep' ? IEEE_F32 : FLUSHING_F32;
}

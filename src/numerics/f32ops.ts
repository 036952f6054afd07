import { fmaF32 } from './f32.js';

// The f32 arithmetic a kernel runs, on f32 values held in JS numbers: IEEE (subnormals kept) or
// with subnormals flushed, as a GPU built with -fgpu-flush-denormals-to-zero (aiter) or
// --ftz=true (nvcc -use_fast_math) runs it. Every result is the correctly rounded one:
// Math.fround of the f64 result for + - * / sqrt (double rounding through f64 is innocuous for
// these on f32 operands) and fmaF32 for the fused multiply-add.

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

export const IEEE_F32: F32Arithmetic = {
  add: (a, b) => Math.fround(a + b),
  mul: (a, b) => Math.fround(a * b),
  fma: fmaF32,
  div: (a, b) => Math.fround(a / b),
  sqrt: (a) => Math.fround(Math.sqrt(a)),
};

/** Subnormal operands read as zeros of their sign; a result that rounds to a subnormal becomes a
 *  zero of its sign (tininess after rounding: a result that rounds up to 2^-126 stays). */
export const FLUSHING_F32: F32Arithmetic = {
  add: (a, b) => flushSubnormal(Math.fround(flushSubnormal(a) + flushSubnormal(b))),
  mul: (a, b) => flushSubnormal(Math.fround(flushSubnormal(a) * flushSubnormal(b))),
  fma: (a, b, c) => flushSubnormal(fmaF32(flushSubnormal(a), flushSubnormal(b), flushSubnormal(c))),
  div: (a, b) => flushSubnormal(Math.fround(flushSubnormal(a) / flushSubnormal(b))),
  sqrt: (a) => flushSubnormal(Math.fround(Math.sqrt(flushSubnormal(a)))),
};

export function f32Arithmetic(subnormals: 'keep' | 'flush'): F32Arithmetic {
  return subnormals === 'keep' ? IEEE_F32 : FLUSHING_F32;
}

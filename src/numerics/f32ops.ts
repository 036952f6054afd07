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
  return flushIf(true, x);
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

// Each operation once, under either rule. flush: subnormal operands read as zeros of their sign,
// and a result that rounds to a subnormal becomes a zero of its sign (tininess after rounding: a
// result that rounds up to 2^-126 stays).

/** flushSubnormal(x) when flush, else x. Below 2^-126 in magnitude (a subnormal or a zero),
 *  x * 0 is the zero of x's sign. One expression, not a call: the engine loops inline it three
 *  or four times per operation, and a deeper call left them past V8's inlining budget. */
function flushIf(flush: boolean, x: number): number {
  return flush && Math.abs(x) < F32_MIN_NORMAL ? x * 0 : x;
}

function addUnder(flush: boolean, a: number, b: number): number {
  const x = flushIf(flush, a);
  const y = flushIf(flush, b);
  const r = Math.fround(x + y);
  return flushIf(flush, Number.isNaN(r) ? nanResult(x, y) : r);
}

function mulUnder(flush: boolean, a: number, b: number): number {
  const x = flushIf(flush, a);
  const y = flushIf(flush, b);
  const r = Math.fround(x * y);
  return flushIf(flush, Number.isNaN(r) ? nanResult(x, y) : r);
}

function fmaUnder(flush: boolean, a: number, b: number, c: number): number {
  const x = flushIf(flush, a);
  const y = flushIf(flush, b);
  const z = flushIf(flush, c);
  const r = fmaF32(x, y, z);
  return flushIf(flush, Number.isNaN(r) ? fmaNanResult(x, y, z) : r);
}

function divUnder(flush: boolean, a: number, b: number): number {
  const x = flushIf(flush, a);
  const y = flushIf(flush, b);
  const r = Math.fround(x / y);
  return flushIf(flush, Number.isNaN(r) ? nanResult(x, y) : r);
}

function sqrtUnder(flush: boolean, a: number): number {
  const x = flushIf(flush, a);
  const r = Math.fround(Math.sqrt(x));
  return flushIf(flush, Number.isNaN(r) ? nanResult(x, 0) : r);
}

export const IEEE_F32: F32Arithmetic = {
  add: (a, b) => addUnder(false, a, b),
  mul: (a, b) => mulUnder(false, a, b),
  fma: (a, b, c) => fmaUnder(false, a, b, c),
  div: (a, b) => divUnder(false, a, b),
  sqrt: (a) => sqrtUnder(false, a),
};

/** Subnormals flushed (see above). */
export const FLUSHING_F32: F32Arithmetic = {
  add: (a, b) => addUnder(true, a, b),
  mul: (a, b) => mulUnder(true, a, b),
  fma: (a, b, c) => fmaUnder(true, a, b, c),
  div: (a, b) => divUnder(true, a, b),
  sqrt: (a) => sqrtUnder(true, a),
};

// f32.add(a, b) etc. for loops that run an operation per element. Which arithmetic a loop gets
// depends on the contract, and explain runs hundreds of contracts through the same loops: a call
// `f32.add(..)` there sees both objects' functions, V8 stops inlining it, and every f32 result
// comes back boxed on the heap (about 90 scavenges per explain run, and a deoptimization each
// time a loop meets the other arithmetic). Here each call has one target, inlined once for both
// rules; any other arithmetic (explain's withReciprocalMoved) still calls its own functions.

export function addIn(f32: F32Arithmetic, a: number, b: number): number {
  return f32 === IEEE_F32 || f32 === FLUSHING_F32 ? addUnder(f32 === FLUSHING_F32, a, b) : f32.add(a, b);
}

export function mulIn(f32: F32Arithmetic, a: number, b: number): number {
  return f32 === IEEE_F32 || f32 === FLUSHING_F32 ? mulUnder(f32 === FLUSHING_F32, a, b) : f32.mul(a, b);
}

export function divIn(f32: F32Arithmetic, a: number, b: number): number {
  return f32 === IEEE_F32 || f32 === FLUSHING_F32 ? divUnder(f32 === FLUSHING_F32, a, b) : f32.div(a, b);
}

export function fmaIn(f32: F32Arithmetic, a: number, b: number, c: number): number {
  return f32 === IEEE_F32 || f32 === FLUSHING_F32 ? fmaUnder(f32 === FLUSHING_F32, a, b, c) : f32.fma(a, b, c);
}

export function f32Arithmetic(subnormals: 'keep' | 'flush'): F32Arithmetic {
  return subnormals === 'keep' ? IEEE_F32 : FLUSHING_F32;
}

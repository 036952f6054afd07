import { bf16FromF32Bits, f32BitsFromBf16, roundF32BitsToBf16 } from '../numerics/bf16.js';
import { f32BitsFromE8m0, roundToPowerOfTwo } from '../numerics/e8m0.js';
import { f32BitsFromFp8, fp8FromF32Bits } from '../numerics/fp8.js';
import { sm90RcpApprox, sm90RcpApproxFtz, sm90RsqrtApprox, sm90RsqrtApproxFtz } from '../numerics/hardware/sm90.js';
import { sm90DivFull, sm90DivFullFtz } from '../numerics/hardware/sm90Div.js';
import { f32_add } from './f32_add.js';
import { f32_addF64 } from './f32_addF64.js';
import { f32_addFast } from './f32_addFast.js';
import { f32_div } from './f32_div.js';
import { f32_divViaReciprocal } from './f32_divByReciprocal.js';
import { f32_mul } from './f32_mul.js';
import { f32_mulAdd } from './f32_mulAdd.js';
import { f32_sqrt } from './f32_sqrt.js';
import { f32_sub } from './f32_sub.js';
import { nameOfWgslCode, type WgslCodeTable } from './wgslCodes.js';

/** One u32 argument of a twin: a bit pattern of the given width, or a code from WGSL_CODES. */
export type TwinArgument = { readonly kind: 'bits'; readonly width: 8 | 16 | 32 } | { readonly kind: 'code'; readonly table: WgslCodeTable };

/**
 * A WGSL function of softfloatWgslSource() and its CPU twin. Both take the same u32 arguments
 * and must return the same u32 bits; the CPU twin throws on a code the WGSL would answer with
 * WGSL_INVALID_ARGUMENT.
 */
export interface WgslTwin {
  readonly name: string;
  readonly args: readonly TwinArgument[];
  readonly cpu: (...args: number[]) => number;
  /** 'sm90': the WGSL reads the device's sm_90 table buffer (shaders/numerics/hardware, after
   *  the library; src/engines/webgpu/hardwareTables.ts). */
  readonly tables?: 'sm90';
}

const F32: TwinArgument = { kind: 'bits', width: 32 };
const SUBNORMALS: TwinArgument = { kind: 'code', table: 'f32Subnormals' };
const subnormals = (code: number) => nameOfWgslCode('f32Subnormals', code);

export const SOFTFLOAT_TWINS: readonly WgslTwin[] = [
  { name: 'f32_add', args: [F32, F32, SUBNORMALS], cpu: (a, b, s) => f32_add(a, b, subnormals(s)) },
  { name: 'f32_sub', args: [F32, F32, SUBNORMALS], cpu: (a, b, s) => f32_sub(a, b, subnormals(s)) },
  { name: 'f32_mul', args: [F32, F32, SUBNORMALS], cpu: (a, b, s) => f32_mul(a, b, subnormals(s)) },
  { name: 'f32_div', args: [F32, F32, SUBNORMALS], cpu: (a, b, s) => f32_div(a, b, subnormals(s)) },
  { name: 'f32_sqrt', args: [F32, SUBNORMALS], cpu: (a, s) => f32_sqrt(a, subnormals(s)) },
  { name: 'f32_mulAdd', args: [F32, F32, F32, SUBNORMALS], cpu: (a, b, c, s) => f32_mulAdd(a, b, c, subnormals(s)) },
  {
    name: 'bf16FromF32Bits',
    args: [F32, { kind: 'code', table: 'bf16Rounding' }],
    cpu: (bits, rounding) => bf16FromF32Bits(bits, nameOfWgslCode('bf16Rounding', rounding)),
  },
  { name: 'f32BitsFromBf16', args: [{ kind: 'bits', width: 16 }], cpu: (bits) => f32BitsFromBf16(bits) },
  {
    name: 'roundF32BitsToBf16',
    args: [F32, { kind: 'code', table: 'bf16Rounding' }],
    cpu: (bits, rounding) => roundF32BitsToBf16(bits, nameOfWgslCode('bf16Rounding', rounding)),
  },
  {
    name: 'fp8FromF32Bits',
    args: [F32, { kind: 'code', table: 'fp8Format' }, { kind: 'code', table: 'fp8Saturation' }],
    cpu: (bits, format, saturation) => fp8FromF32Bits(bits, nameOfWgslCode('fp8Format', format), nameOfWgslCode('fp8Saturation', saturation)),
  },
  {
    name: 'f32BitsFromFp8',
    args: [
      { kind: 'bits', width: 8 },
      { kind: 'code', table: 'fp8Format' },
    ],
    cpu: (code, format) => f32BitsFromFp8(code, nameOfWgslCode('fp8Format', format)),
  },
  {
    name: 'roundToPowerOfTwo',
    args: [F32, { kind: 'code', table: 'e8m0Rounding' }],
    cpu: (bits, mode) => roundToPowerOfTwo(bits, nameOfWgslCode('e8m0Rounding', mode)),
  },
  { name: 'f32BitsFromE8m0', args: [{ kind: 'bits', width: 8 }], cpu: (code) => f32BitsFromE8m0(code) },
  { name: 'f32_addF64', args: [F32, F32, F32, SUBNORMALS], cpu: (a, bHi, bLo, s) => f32_addF64(a, bHi, bLo, subnormals(s)) },
  { name: 'f32_addFast', args: [F32, F32, SUBNORMALS], cpu: (a, b, s) => f32_addFast(a, b, subnormals(s)) },
  { name: 'f32_divViaReciprocal', args: [F32, F32, SUBNORMALS], cpu: (a, b, s) => f32_divViaReciprocal(a, b, subnormals(s)) },
];

/** sm_90's measured approximate instructions (src/numerics/hardware, shaders/numerics/hardware). */
export const HARDWARE_TWINS: readonly WgslTwin[] = [
  { name: 'sm90RsqrtApprox', args: [F32], cpu: sm90RsqrtApprox, tables: 'sm90' },
  { name: 'sm90RsqrtApproxFtz', args: [F32], cpu: sm90RsqrtApproxFtz, tables: 'sm90' },
  { name: 'sm90RcpApprox', args: [F32], cpu: sm90RcpApprox, tables: 'sm90' },
  { name: 'sm90RcpApproxFtz', args: [F32], cpu: sm90RcpApproxFtz, tables: 'sm90' },
  { name: 'sm90DivFull', args: [F32, F32], cpu: sm90DivFull, tables: 'sm90' },
  { name: 'sm90DivFullFtz', args: [F32, F32], cpu: sm90DivFullFtz, tables: 'sm90' },
];

/** Every twin `ulpwise selftest` runs. */
export const WGSL_TWINS: readonly WgslTwin[] = [...SOFTFLOAT_TWINS, ...HARDWARE_TWINS];

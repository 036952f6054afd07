export * from './f32.js';
export * from './bf16.js';
export * from './fp8.js';
export * from './e8m0.js';
export * from './ulp.js';
export * from './tensor.js';
export * from './f32ops.js';

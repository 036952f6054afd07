// The package entry point: what notebooks and other tools import.
export * from './numerics/index.js';
export * from './contracts/schema.js';
export { parseContract, checkContractForShape, canonicalJson, ContractError } from './contracts/validate.js';
export { listPresets, getPreset, PRESET_DEFINITIONS, type Preset, type PresetDefinition } from './contracts/presets.js';
export { runCpuEngine } from './engines/cpu/engine.js';
export { cpuEngine, type Engine } from './engines/engine.js';
export { outputName, type CaseInputs, type OutputKind } from './engines/io.js';
export { caseId, type CaseSpec } from './fixtures/caseSpec.js';
export { buildCase, readGolden, writeGolden, contractForCase, type BuiltCase, type GoldenFile } from './fixtures/golden.js';
export { readSafetensors, writeSafetensors, decodeSafetensors, encodeSafetensors, SafetensorsError } from './fixtures/safetensors.js';
export { defaultSuite } from './fixtures/suite.js';
export { compareTensors, type TensorComparison } from './diff/compare.js';
export { summarize, formatSummary, dequantizeToBf16, type SummaryRow } from './diff/summary.js';

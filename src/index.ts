// The package entry point: what notebooks and other tools import.
export * from './numerics/index.js';
export * from './contracts/schema.js';
export { parseContract, checkContractForShape, canonicalJson, ContractError } from './contracts/validate.js';
export {
  listPresets,
  getPreset,
  describeKernels,
  PRESET_DEFINITIONS,
  type Preset,
  type PresetDefinition,
  type KernelRef,
  type Architecture,
} from './contracts/presets.js';
export { contractDimensions, formatCitation, type Citation, type Evidence } from './contracts/evidence.js';
export { runCpuEngine } from './engines/cpu/engine.js';
export { cpuEngine, type Engine } from './engines/engine.js';
export { outputName, OUTPUT_KINDS, type CaseInputs, type OutputKind } from './engines/io.js';
export { caseId, type CaseSpec } from './fixtures/caseSpec.js';
export { buildCase, readGolden, writeGolden, contractForCase, type BuiltCase, type GoldenFile } from './fixtures/golden.js';
export { readSafetensors, writeSafetensors, decodeSafetensors, encodeSafetensors, SafetensorsError } from './fixtures/safetensors.js';
export { defaultSuite } from './fixtures/suite.js';
export { compareTensors, type TensorComparison } from './diff/compare.js';
export { summarize, formatSummary, dequantizeToBf16, type SummaryRow } from './diff/summary.js';
export { diffOutputs, DEFAULT_DIFF_OPTIONS, type DiffOptions, type GoldenSubject } from './diff/diff.js';
export { DiffReportSchema, DIFF_SCHEMA_VERSION, type DiffReport, type OutputReport } from './diff/report.js';
export { loadGolden, loadCandidate } from './diff/files.js';
export { formatDiffReport } from './diff/format.js';
export { diffReportHtml } from './diff/html.js';
export { table } from './diff/table.js';
export { OutputTallySchema, addComparison, type OutputTally } from './diff/tally.js';
export { SummaryReportSchema, summaryReport, type SummaryReport } from './diff/summary.js';
export { explainCandidate } from './diff/explain.js';
export { ExplainReportSchema } from './diff/explainReport.js';
export { formatExplainReport } from './diff/explainFormat.js';
export { genCommandFor, overrideContract, parseOverride, applyOverrides, contractOverrides, type GenCommand, type Override } from './contracts/overrides.js';
export { readCaseInputs, buildCustomCase, goldenContractProblem } from './fixtures/customCase.js';
export { readManifest, type Manifest, type ManifestEntry } from './fixtures/manifest.js';
export { Xoshiro128StarStar } from './fixtures/prng.js';
export { sumOfSquares } from './engines/cpu/sumOfSquares.js';
export { crosscheckStatuses, compareCandidate, formatCrosscheckReport, CrosscheckReportSchema, type CrosscheckReport } from './crosscheck/report.js';
export { parseStatusLines, statusesFromDirectory, HarnessError, type CaseStatus } from './crosscheck/protocol.js';
export { batchInvariance, InvarianceReportSchema } from './diff/invariance.js';
export { getDispatchFamily, listDispatchFamilies, allReduceBytes } from './contracts/dispatch.js';
export type { CpuEngineHooks } from './engines/cpu/engine.js';
export * from './softfloat/index.js';
export { openWebGpuEngine, webGpuEngineOn, runWebGpuEngine } from './engines/webgpu/engine.js';
export { uploadCase, releaseCase, type ReadbackMode, type UploadedCase, type UploadOptions } from './engines/webgpu/upload.js';
export { executeCase, type Execution, type ExecuteOptions } from './engines/webgpu/execute.js';
export { openDevice, closeDevice, NoAdapterError, type AdapterChoice, type GpuContext } from './engines/webgpu/device.js';

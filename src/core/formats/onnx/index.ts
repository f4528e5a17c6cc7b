/** The ONNX reader's public API. */
export { analyzeOnnx, inspectOnnx, inspectOnnxSource, type OnnxInspection } from './analyze';
export { readOnnxModel, type ReadOnnxResult } from './read';
export type { OnnxFacts } from './modelFacts';
export type { OnnxValueInfo } from './valueInfo';
export { formatValueInfo } from './valueInfo';
export { isCustomDomain, isStandardDomain, isOnnxRuntimeDomain } from './domains';
export { checkLocationText } from './externalData';
export { MAX_ONNX_PROTO_BYTES, MAX_SUBGRAPH_DEPTH } from './limits';

/** GGUF (llama.cpp model files) read as untrusted input: the public API of this folder. */
export { analyzeGguf, assertGgufLoadable, inspectGguf, inspectGgufSource, type GgufInspection } from './analyze';
export { readGgufHeader, GGUF_READ_DEFAULTS, type GgufReadOptions, type GgufReadResult } from './reader';
export { validateGguf, tensorByteSize, elementCount, MAX_ALIGNMENT } from './validate';
export { ggufFacts, ggufSummary, type GgufFacts, type GgufFimTokens } from './facts';
export { isGgufArray, kvInteger, kvString, kvNumber, type GgufHeader, type GgufKv, type GgufTensorInfo, type GgufArray, type GgufValue, type GgufScalar } from './header';
export { GGML_TYPES, LLAMA_FILE_TYPES, LLAMA_CPP_ARCHITECTURES, GgufValueType, type GgmlTypeInfo } from './constants';
export { ARCH_REQUIREMENTS } from './arch';

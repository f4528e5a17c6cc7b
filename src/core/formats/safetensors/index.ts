/** The safetensors reader's public API. */
export { analyzeSafetensors, inspectSafetensors, type SafetensorsFacts, type SafetensorsInspection } from './analyze';
export { readSafetensorsHeader, MAX_SAFETENSORS_HEADER, type SafetensorsHeader } from './header';
export { validateHeader, type SafetensorsTensor } from './validate';
export { SAFETENSORS_DTYPES, dtypeBits } from './dtypes';
export { findDuplicateKeys } from './duplicateKeys';

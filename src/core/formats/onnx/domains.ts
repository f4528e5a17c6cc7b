/**
 * Operator domains. Standard ONNX domains and ONNX Runtime's built-in contrib domains are implemented
 * inside the runtime; any other domain needs a custom-op library (native code) that the model's supplier
 * brings along, which is exactly what a supply-chain review must see.
 */
const STANDARD_DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'ai.onnx.preview.training']);

/**
 * onnxruntime-extensions ships its custom-op library under these domains: it is a separate native
 * library the user must register, so it counts as custom even though one of them starts `com.microsoft`.
 */
const EXTENSIONS_LIBRARY_DOMAINS = new Set(['com.microsoft.extensions', 'ai.onnx.contrib']);

/** True for the ONNX standard domains (the default domain '' is 'ai.onnx'). */
export function isStandardDomain(domain: string): boolean {
  return STANDARD_DOMAINS.has(domain);
}

/** True for domains ONNX Runtime implements itself: `com.microsoft` and its sub-domains (nchwc, experimental, dml...). */
export function isOnnxRuntimeDomain(domain: string): boolean {
  if (EXTENSIONS_LIBRARY_DOMAINS.has(domain)) return false;
  return domain === 'com.microsoft' || domain.startsWith('com.microsoft.') || domain === 'com.ms.internal.nhwc';
}

/** A domain whose operators no standard runtime implements: it needs native code from elsewhere. */
export function isCustomDomain(domain: string): boolean {
  return !isStandardDomain(domain) && !isOnnxRuntimeDomain(domain);
}

/** The name people know a domain by ('' is the default ONNX domain). */
export function displayDomain(domain: string): string {
  return domain === '' ? 'ai.onnx' : domain;
}

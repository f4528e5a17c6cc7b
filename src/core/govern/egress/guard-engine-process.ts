/**
 * Imported FIRST by the engine child (src/core/engines/host/engine-host.ts), so the process-wide egress
 * guard is in place before any other module of the child is evaluated: the process that runs llama.cpp
 * and ONNX Runtime on model files opens no socket outside the allowed endpoints (docs/egress.md).
 */
import { installProcessEgressGuard } from './process-guard';

installProcessEgressGuard('engine');

/**
 * Preload (bundled to dist/egress-preload.js) that a process under the egress guard puts in NODE_OPTIONS
 * (`--require`), so every Node child process it starts, directly or through a dependency (node-llama-cpp
 * forks its own test scripts), installs the same guard before its own code runs. See docs/egress.md.
 */
import { installProcessEgressGuard } from './process-guard';

installProcessEgressGuard('child');

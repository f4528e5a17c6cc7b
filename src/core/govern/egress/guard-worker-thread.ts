/**
 * Imported FIRST by the core worker thread (src/core/worker/core-worker.ts). A worker thread has its own
 * module state (its own `net` module), so this governs the worker's sockets only, never the sockets of
 * the VS Code extension host it runs in. The worker serves several workspaces and runs in the extension
 * host's folder, so it uses the default rules (loopback, private networks, DOCKER_HOST); it opens no TCP
 * connection today (Docker is queried over the unix socket), this keeps it that way. See docs/egress.md.
 */
import { installProcessEgressGuard } from './process-guard';

installProcessEgressGuard('worker', { noWorkspace: true, stderr: false, propagate: false });

/**
 * Engine object names. Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; registry names and versions are
 * mapped onto that (other characters become "_") and the real values travel in labels, never parsed
 * back from a name.
 */
const PREFIX = 'sov';

export function slug(value: string): string {
  const s = value.replace(/[^a-zA-Z0-9_.-]/g, '_');
  return /^[a-zA-Z0-9]/.test(s) ? s : `x${s}`;
}

/** One container per model version: `sov-NAME-VERSION`. */
export function appContainerName(model: string, version: string): string {
  return `${PREFIX}-${slug(model)}-${slug(version)}`;
}

/**
 * The container that serves the model's traffic is NAMED `sov-NAME-live`; the canary `sov-NAME-canary`.
 * Container names are mutable engine state (rename is one cheap call) and the engine's DNS follows a rename,
 * so promotion and rollback are renames: the gateway forwards to `sov-NAME-live` whatever version holds it.
 */
export function liveContainerName(model: string): string {
  return `${PREFIX}-${slug(model)}-live`;
}

export function canaryContainerName(model: string): string {
  return `${PREFIX}-${slug(model)}-canary`;
}

/** The model's front door on 127.0.0.1: `sov-NAME-gateway`. */
export function gatewayContainerName(model: string): string {
  return `${PREFIX}-${slug(model)}-gateway`;
}

/** One internal (no outbound route) network per model, so deployed models cannot reach each other. */
export function internalNetworkName(model: string): string {
  return `${PREFIX}-${slug(model)}-internal`;
}

/** The one ordinary bridge network the gateways publish their 127.0.0.1 ports from. */
export const EDGE_NETWORK = 'sovereign-edge';

/** The port `sovereign serve` listens on inside every container. */
export const SERVE_PORT = 8080;

export const APP_IMAGE_REPO = 'sovereign-app';
export const MODEL_IMAGE_REPO = 'sovereign-model';
/** The app image plus the workspace policy (one small layer per policy). */
export const POLICY_IMAGE_REPO = 'sovereign-policy';
export const BASE_IMAGE_REPO = 'sovereign-base';

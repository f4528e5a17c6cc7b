/** Docker staging deployments (real engine via dockerode) and Kubernetes export. See docs/deploy.md. */
export { listDeployments, listGateways, deploymentForLogs, type Deployment, type Gateway } from './deployments';
export { deployStaging, type StagingOptions, type StagingResult, type ColdStart } from './staging';
export { runCanary, DEFAULT_THRESHOLDS, DEFAULT_GOLDEN_PROMPTS, type CanaryOptions, type CanaryReport, type CanaryRequest, type CanaryThresholds, type SideStats } from './canary';
export { promote, rollback, removeModelDeployments, type SwitchOutcome, type RemoveResult } from './lifecycle';
export { connectDocker, dockerAvailability, engineAddress } from './engine';
export { streamLogs, lastLogLines } from './logs';
export { exportKubernetes, manifestsToYaml, k8sName, type K8sExportInput, type K8sManifest } from './k8s';
export { defaultLimits, ISOLATION, type ResourceLimits } from './isolation';
export { LABEL } from './labels';
export { ensureBaseImage, defaultBaseImageTag } from './base-image';
export { baseImageSetting } from './settings';
export { pruneImages, type PruneResult, type PrunedImage, type KeptImage } from './prune';

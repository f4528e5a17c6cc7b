export { collectEvidence, type Evidence, type CollectOptions } from './collect';
export { writeEvidenceBundle, type EvidenceBundle } from './write';
export { renderEvidenceMarkdown, renderEvidenceHtml } from './render';
export { collectModels, type ModelEvidence } from './models';
export { collectPolicy, type PolicyEvidence } from './policy';
export { collectDeployments, listLabelledContainers, registerDeploymentLister, type DeploymentEvidence, type DeploymentsEvidence, type DeploymentLister } from './deployments';
export { egressEvidence, type EgressEvidence, type EndpointEvidence } from './egress';

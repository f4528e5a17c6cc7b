export * from './types';
export { streamChat, messagesFor, servedModel, countTokens, type ChatStreamOptions, type ServedModelInfo } from './client';
export { auditChatTurn, chatTurnDetails, type ChatTurnSummary } from './audit';
export { promptSetText, promptSetName, savePromptSet, PROMPTS_DIR } from './prompt-set';
export { chatCandidates, type ChatCandidate, type CandidateSource } from './candidates';

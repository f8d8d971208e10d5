export * from './guardrails';
export * from './ip-range-security-group';
export * from './agent-workflow';
export * from './core';

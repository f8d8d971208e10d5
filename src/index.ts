export * from './guardrails';
export * from './ip-range-security-group';
export * from './agent-workflow';
export * from './pipes-fan-out';
export * from './managed-instance-lambda';
export * from './core';

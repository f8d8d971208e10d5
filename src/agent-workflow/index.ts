export * from './agent-trigger';
export * from './input-validation';
export * from './agent-reasoning';
export * from './agent-tool';
export * from './approval';
export * from './context-checkpoint';
export * from './step-functions-agent-workflow';
export * from './warnings';

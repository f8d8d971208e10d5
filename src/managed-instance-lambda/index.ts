export * from './managed-capacity-pool';
export * from './managed-instance-lambda';
export * from './warmer';
export * from './warnings';
export * from './version-pruner';
export * from './cost-model';

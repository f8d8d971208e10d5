export * from './ip-range-source';
export * from './sync-target';
export * from './ip-range-synced-security-group';
export * from './warnings';

export * from './persistent-bucket';
export * from './bucket-takeover-guard';
export * from './deployment-policy';
export * from './logical-id-guard';

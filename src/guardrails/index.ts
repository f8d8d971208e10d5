export * from './persistent-bucket';
export * from './bucket-takeover-guard';

// core/ holds pieces that two or more patterns share. Public: the handler network props every pattern accepts.
export * from './handler-network-props';

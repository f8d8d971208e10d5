/**
 * Reads and validates the configuration the construct wrote into environment variables (the
 * contract is in contracts.ts), at cold start. Pure: no AWS client here.
 */
import { ENV, SourceConfig, SyncConfig, TARGET_KINDS, TargetConfig } from './contracts';

/** A configuration error: names the environment variable and what is wrong. */
export class ConfigError extends Error {
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

function json<T>(env: Record<string, string | undefined>, name: string): T {
  const raw = env[name];
  if (!raw) throw new ConfigError(name, 'is not set');
  try {
    return JSON.parse(raw) as T;
  } catch (err) {
    throw new ConfigError(name, `is not valid JSON (${(err as Error).message})`);
  }
}

function numberIn(env: Record<string, string | undefined>, name: string, min: number, max: number): number {
  const value = Number(env[name]);
  if (env[name] === undefined || env[name] === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(name, `must be a number in ${min}..${max}, got ${JSON.stringify(env[name])}`);
  }
  return value;
}

/** Reads and validates the configuration; throws a ConfigError naming the variable. */
export function parseSyncConfig(env: Record<string, string | undefined>): SyncConfig {
  const syncId = env[ENV.syncId];
  if (!syncId || !/^[A-Za-z0-9._-]{1,64}$/.test(syncId)) {
    throw new ConfigError(ENV.syncId, `must match [A-Za-z0-9._-]{1,64}, got ${JSON.stringify(syncId)}`);
  }
  const sources = json<SourceConfig[]>(env, ENV.sources);
  if (!Array.isArray(sources) || sources.length === 0) throw new ConfigError(ENV.sources, 'must be a non-empty array');
  sources.forEach((s, i) => {
    if (!['aws', 'github', 'url'].includes(s?.kind)) throw new ConfigError(ENV.sources, `[${i}].kind must be aws, github or url`);
    if (typeof s.url !== 'string' || !/^https?:\/\//.test(s.url)) throw new ConfigError(ENV.sources, `[${i}].url must be an http(s) URL`);
    if (s.kind !== 'url' && (!Array.isArray(s.services) || s.services.length === 0)) {
      throw new ConfigError(ENV.sources, `[${i}].services must be a non-empty array`);
    }
  });
  const target = json<TargetConfig>(env, ENV.target);
  switch (target?.kind) {
    case TARGET_KINDS.securityGroups:
      if (!Array.isArray(target.groupIds) || target.groupIds.length === 0) throw new ConfigError(ENV.target, 'groupIds must be a non-empty array');
      if (!Array.isArray(target.ports) || target.ports.length === 0) throw new ConfigError(ENV.target, 'ports must be a non-empty array');
      break;
    case TARGET_KINDS.prefixList:
      if (!Array.isArray(target.lists) || target.lists.length === 0) throw new ConfigError(ENV.target, 'lists must be a non-empty array');
      break;
    case TARGET_KINDS.wafIpSet:
      if (!Array.isArray(target.sets) || target.sets.length === 0) throw new ConfigError(ENV.target, 'sets must be a non-empty array');
      break;
    default:
      throw new ConfigError(ENV.target, 'kind must be securityGroups, prefixList or wafIpSet');
  }
  const stateTable = env[ENV.stateTable];
  if (!stateTable) throw new ConfigError(ENV.stateTable, 'is not set');
  return {
    syncId,
    sources,
    target,
    stateTable,
    dryRun: env[ENV.dryRun] === 'true',
    maxRemovePercent: numberIn(env, ENV.maxRemovePercent, 0, 100),
    auditTtlDays: numberIn(env, ENV.auditTtlDays, 1, 3650),
  };
}

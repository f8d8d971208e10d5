/**
 * The configuration contract between the construct (which writes it into environment variables)
 * and the sync handler (which validates it at cold start). Pure: no AWS client here.
 */
import { PortRange } from './capacity';
import { AddressFamily } from './cidr';

/** One source of ranges. */
export interface SourceConfig {
  readonly kind: 'aws' | 'github' | 'url';
  /** Where the document is fetched (https). */
  readonly url: string;
  /** AWS services / GitHub meta keys. */
  readonly services?: string[];
  readonly regions?: string[];
  readonly networkBorderGroups?: string[];
  /** For `url` sources: the key of the CIDR array in a JSON object document. */
  readonly jsonKey?: string;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

export interface SecurityGroupTargetConfig {
  readonly kind: 'securityGroups';
  readonly groupIds: string[];
  readonly ports: PortRange[];
  readonly rulesPerGroup: number;
}

export interface PrefixListTargetConfig {
  readonly kind: 'prefixList';
  readonly lists: { family: AddressFamily; id: string; maxEntries: number }[];
}

export interface WafIpSetTargetConfig {
  readonly kind: 'wafIpSet';
  readonly scope: 'REGIONAL' | 'CLOUDFRONT';
  readonly sets: { family: AddressFamily; id: string; name: string; maxAddresses: number }[];
}

export type TargetConfig = SecurityGroupTargetConfig | PrefixListTargetConfig | WafIpSetTargetConfig;

export interface SyncConfig {
  /** Identifies the rules this sync owns (rule description marker) and its state items. */
  readonly syncId: string;
  readonly sources: SourceConfig[];
  readonly target: TargetConfig;
  readonly stateTable: string;
  readonly dryRun: boolean;
  readonly maxRemovePercent: number;
  /** Audit items expire after this many days (DynamoDB TTL). */
  readonly auditTtlDays: number;
}

/** Environment variable names the construct sets. */
export const ENV = {
  syncId: 'SYNC_ID',
  sources: 'SYNC_SOURCES',
  target: 'SYNC_TARGET',
  stateTable: 'SYNC_STATE_TABLE',
  dryRun: 'SYNC_DRY_RUN',
  maxRemovePercent: 'SYNC_MAX_REMOVE_PERCENT',
  auditTtlDays: 'SYNC_AUDIT_TTL_DAYS',
} as const;

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
    case 'securityGroups':
      if (!Array.isArray(target.groupIds) || target.groupIds.length === 0) throw new ConfigError(ENV.target, 'groupIds must be a non-empty array');
      if (!Array.isArray(target.ports) || target.ports.length === 0) throw new ConfigError(ENV.target, 'ports must be a non-empty array');
      break;
    case 'prefixList':
      if (!Array.isArray(target.lists) || target.lists.length === 0) throw new ConfigError(ENV.target, 'lists must be a non-empty array');
      break;
    case 'wafIpSet':
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

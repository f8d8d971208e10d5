import { parseSyncConfig } from '../../src/ip-range-security-group/runtime/config';
import { ENV } from '../../src/ip-range-security-group/runtime/contracts';

const valid = (): Record<string, string> => ({
  [ENV.syncId]: 'c8abc',
  [ENV.sources]: JSON.stringify([{ kind: 'github', url: 'https://api.github.com/meta', services: ['hooks'], ipv4: true, ipv6: true }]),
  [ENV.target]: JSON.stringify({ kind: 'prefixList', lists: [{ family: 'ipv4', id: 'pl-1', maxEntries: 20 }] }),
  [ENV.stateTable]: 'table',
  [ENV.dryRun]: 'false',
  [ENV.maxRemovePercent]: '50',
  [ENV.auditTtlDays]: '90',
});

describe('parseSyncConfig (validated at cold start)', () => {
  test('accepts the construct\'s configuration', () => {
    expect(parseSyncConfig(valid())).toEqual(expect.objectContaining({ syncId: 'c8abc', dryRun: false, maxRemovePercent: 50, auditTtlDays: 90 }));
  });

  test.each<[string, Record<string, string | undefined>, RegExp]>([
    ['missing sync id', { [ENV.syncId]: undefined }, /SYNC_ID: must match/],
    ['sources not JSON', { [ENV.sources]: '[{' }, /SYNC_SOURCES: is not valid JSON/],
    ['no sources', { [ENV.sources]: '[]' }, /SYNC_SOURCES: must be a non-empty array/],
    ['bad source kind', { [ENV.sources]: '[{"kind":"ftp","url":"https://x"}]' }, /SYNC_SOURCES: \[0\]\.kind/],
    ['source without services', { [ENV.sources]: '[{"kind":"aws","url":"https://x"}]' }, /\[0\]\.services must be a non-empty array/],
    ['bad target kind', { [ENV.target]: '{"kind":"nacl"}' }, /SYNC_TARGET: kind must be/],
    ['security groups without ports', { [ENV.target]: '{"kind":"securityGroups","groupIds":["sg-1"],"ports":[]}' }, /ports must be a non-empty array/],
    ['percent out of range', { [ENV.maxRemovePercent]: '150' }, /SYNC_MAX_REMOVE_PERCENT: must be a number in 0..100, got "150"/],
    ['no table', { [ENV.stateTable]: undefined }, /SYNC_STATE_TABLE: is not set/],
  ])('%s', (_name, change, message) => {
    const env = { ...valid(), ...change };
    expect(() => parseSyncConfig(env)).toThrow(message);
  });
});

/**
 * The version pruner's pure planner and configuration: which versions stay (the newest N in numeric
 * order, every aliased one including the weighted version of an alias, everything unnumbered) and
 * which go, checked on examples and against an independent model on seeded random inputs.
 */
import { PRUNE_PAYLOAD_SOURCE } from '../../src/managed-instance-lambda/runtime/version-pruner-contract';
import {
  compareVersions, countedVersions, parsePayload, parsePrunerConfig, parseTargets, planPrune, PrunerInputError,
} from '../../src/managed-instance-lambda/runtime/version-pruning';
import { prng } from '../harness/prng';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe('planPrune', () => {
  test('keeps the newest N numbered versions and deletes the rest, oldest first', () => {
    const plan = planPrune({ versions: ['$LATEST', ...range(1, 8)], aliases: [], versionsToKeep: 3 });
    expect(plan.delete).toEqual(['1', '2', '3', '4', '5']);
    expect(plan.keep.map((k) => k.version)).toEqual(['8', '7', '6', '$LATEST']);
    expect(plan.keep[0].reasons).toEqual(['newest']);
    expect(plan.keep[3].reasons).toEqual(['unpublished']);
  });

  test('orders numerically, not as strings: 10 is newer than 9, 100 newer than 99', () => {
    const plan = planPrune({ versions: ['9', '10', '2', '100', '99', '1'], aliases: [], versionsToKeep: 2 });
    expect(plan.keep.map((k) => k.version)).toEqual(['100', '99']);
    expect(plan.delete).toEqual(['1', '2', '9', '10']);
    expect(compareVersions('9', '10')).toBeLessThan(0);
    expect(compareVersions('0010', '9')).toBeGreaterThan(0);
    expect(compareVersions('12345678901234567890', '12345678901234567891')).toBeLessThan(0);
  });

  test('keeps every version an alias points to, however old, and names the aliases', () => {
    const plan = planPrune({
      versions: ['$LATEST', ...range(1, 20)],
      aliases: [{ name: 'live', functionVersion: '3' }, { name: 'rollback', functionVersion: '3' }, { name: 'beta', functionVersion: '19' }],
      versionsToKeep: 2,
    });
    expect(plan.delete).not.toContain('3');
    expect(plan.keep.find((k) => k.version === '3')).toEqual({ version: '3', reasons: ['alias'], aliases: ['live', 'rollback'] });
    expect(plan.keep.find((k) => k.version === '19')).toEqual({ version: '19', reasons: ['newest', 'alias'], aliases: ['beta'] });
    expect(plan.delete).toHaveLength(17);
  });

  test('a weighted alias protects both of its versions (AdditionalVersionWeights)', () => {
    const plan = planPrune({
      versions: range(1, 10),
      aliases: [{ name: 'live', functionVersion: '4', additionalVersions: ['2'] }],
      versionsToKeep: 1,
    });
    expect(plan.keep.map((k) => k.version).sort()).toEqual(['10', '2', '4']);
    expect(plan.delete).toEqual(['1', '3', '5', '6', '7', '8', '9']);
  });

  test('never deletes $LATEST, $LATEST.PUBLISHED or anything unnumbered, even with an alias on $LATEST', () => {
    const plan = planPrune({
      versions: ['$LATEST', '$LATEST.PUBLISHED', 'weird', ...range(1, 3)],
      aliases: [{ name: 'dev', functionVersion: '$LATEST' }],
      versionsToKeep: 1,
    });
    expect(plan.delete).toEqual(['1', '2']);
    expect(plan.keep.filter((k) => k.reasons.includes('unpublished')).map((k) => k.version)).toEqual(['$LATEST', '$LATEST.PUBLISHED', 'weird']);
  });

  test('a keep count above the number of versions deletes nothing', () => {
    const plan = planPrune({ versions: ['$LATEST', ...range(1, 4)], aliases: [], versionsToKeep: 90 });
    expect(plan.delete).toEqual([]);
    expect(plan.keep).toHaveLength(5);
  });

  test('duplicated listings (a page read twice) are planned once', () => {
    const plan = planPrune({ versions: ['1', '2', '2', '3', '1'], aliases: [], versionsToKeep: 1 });
    expect(plan.delete).toEqual(['1', '2']);
  });

  test('property: agrees with an independent model on 500 seeded random functions', () => {
    const random = prng(20261201);
    const int = (n: number) => Math.floor(random() * n);
    for (let run = 0; run < 500; run++) {
      const count = int(150);
      const numbered = new Set<number>();
      while (numbered.size < count) numbered.add(1 + int(400));
      const versions = [...(random() < 0.9 ? ['$LATEST'] : []), ...(random() < 0.5 ? ['$LATEST.PUBLISHED'] : []), ...[...numbered].map(String)];
      // shuffle: the planner must not rely on the listing order
      for (let i = versions.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [versions[i], versions[j]] = [versions[j], versions[i]];
      }
      const pick = () => (versions.length ? versions[int(versions.length)] : '$LATEST');
      const aliases = Array.from({ length: int(5) }, (_, i) => ({
        name: `a${i}`, functionVersion: pick(), additionalVersions: random() < 0.3 ? [pick()] : [],
      }));
      const keep = 1 + int(90);

      const plan = planPrune({ versions, aliases, versionsToKeep: keep });

      // the model: BigInt order, a set of protected versions
      const nums = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : -1));
      const protectedSet = new Set([...nums.slice(0, keep), ...aliases.flatMap((a) => [a.functionVersion, ...a.additionalVersions])]);
      const expected = nums.filter((v) => !protectedSet.has(v)).reverse();
      const context = `seed run ${run}: keep ${keep}, versions ${versions.join(',')}, aliases ${JSON.stringify(aliases)}`;
      expect({ context, delete: plan.delete }).toEqual({ context, delete: expected });
      // every listed version is either kept or deleted, never both
      const kept = plan.keep.map((k) => k.version);
      expect(new Set([...kept, ...plan.delete]).size).toBe(versions.length);
      expect(kept.filter((v) => plan.delete.includes(v))).toEqual([]);
      expect(plan.delete.some((v) => v.startsWith('$'))).toBe(false);
    }
  });
});

test('countedVersions counts numbered versions and $LATEST.PUBLISHED, not $LATEST', () => {
  expect(countedVersions(['$LATEST', '$LATEST.PUBLISHED', '1', '2'])).toBe(3);
  expect(countedVersions(['$LATEST'])).toBe(0);
});

describe('configuration and input', () => {
  test('parsePrunerConfig reads the count and dry run, and names a bad variable', () => {
    expect(parsePrunerConfig({ VERSIONS_TO_KEEP: '5', DRY_RUN: 'false' })).toEqual({ versionsToKeep: 5, dryRun: false });
    expect(() => parsePrunerConfig({ VERSIONS_TO_KEEP: '0', DRY_RUN: 'false' })).toThrow(/VERSIONS_TO_KEEP must be an integer in 2\.\.90, got "0"/);
    expect(() => parsePrunerConfig({ VERSIONS_TO_KEEP: '2.5', DRY_RUN: 'false' })).toThrow(/VERSIONS_TO_KEEP/);
    expect(() => parsePrunerConfig({ VERSIONS_TO_KEEP: '5', DRY_RUN: 'yes' })).toThrow(/DRY_RUN must be 'true' or 'false'/);
    expect(() => parsePrunerConfig({ DRY_RUN: 'true' })).toThrow(/VERSIONS_TO_KEEP is required/);
  });

  test('parseTargets accepts names and ARNs, CloudFormation\'s string numbers, and refuses qualified or malformed targets', () => {
    expect(parseTargets([
      { functionName: 'arn:aws:lambda:us-east-1:123456789012:function:router', versionsToKeep: '3', capacityProvider: 'pool' },
      { functionName: '123456789012:function:other' },
      { functionName: 'plain', capacityProvider: '' },
    ], 'Targets')).toEqual([
      { functionName: 'arn:aws:lambda:us-east-1:123456789012:function:router', versionsToKeep: 3, capacityProvider: 'pool' },
      { functionName: '123456789012:function:other' },
      { functionName: 'plain' },
    ]);
    expect(() => parseTargets([{ functionName: 'router:7' }], 'Targets')).toThrow(/Targets\[0\]\.functionName must be an unqualified/);
    expect(() => parseTargets([{ functionName: 'router', versionsToKeep: 91 }], 'Targets')).toThrow(/Targets\[0\]\.versionsToKeep must be an integer in 2\.\.90, got 91/);
    expect(() => parseTargets([{ functionName: 'r', capacityProvider: 'bad name!' }], 'Targets')).toThrow(/capacityProvider/);
    expect(() => parseTargets([], 'Targets')).toThrow(PrunerInputError);
  });

  test('parsePayload takes only the pruner\'s own payload', () => {
    expect(parsePayload({ source: PRUNE_PAYLOAD_SOURCE, targets: [{ functionName: 'f' }] })).toEqual([{ functionName: 'f' }]);
    expect(() => parsePayload({ 'source': 'aws.events', 'detail-type': 'Scheduled Event' })).toThrow(PrunerInputError);
    expect(() => parsePayload(undefined)).toThrow(PrunerInputError);
  });
});

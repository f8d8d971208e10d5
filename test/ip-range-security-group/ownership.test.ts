import {
  isOwnedRule, MAX_DESCRIPTION_LENGTH, OWNERSHIP_MARKER_PREFIX, ownershipMarker, ruleDescription,
} from '../../src/ip-range-security-group/runtime/ownership';

// The characters EC2 accepts in a security-group rule description.
const ALLOWED = /^[A-Za-z0-9. _\-:/()#,@[\]+=&;{}!$*]*$/;

describe('ruleDescription', () => {
  test('the marker alone, or the marker and the source', () => {
    expect(ruleDescription('prod')).toBe('managed-by:cdk-production-patterns:prod');
    expect(ruleDescription('prod', 'aws:EC2/us-east-1 tcp/443')).toBe('managed-by:cdk-production-patterns:prod aws:EC2/us-east-1 tcp/443');
    expect(ownershipMarker('prod')).toBe(`${OWNERSHIP_MARKER_PREFIX}prod`);
  });

  test('characters EC2 rejects are replaced; the result is at most 255 characters', () => {
    const d = ruleDescription('prod', 'github "actions" <é> | ~ ?');
    expect(d).toBe('managed-by:cdk-production-patterns:prod github _actions_ ___ _ _ _');
    expect(d).toMatch(ALLOWED);
    const long = ruleDescription('a'.repeat(64), 'x'.repeat(500));
    expect(long).toHaveLength(MAX_DESCRIPTION_LENGTH);
    expect(long.startsWith(ownershipMarker('a'.repeat(64)))).toBe(true);
    expect(isOwnedRule(long, 'a'.repeat(64))).toBe(true);
  });

  test.each(['', 'has space', 'a:b', 'x'.repeat(65), 'ünï'])('invalid syncId %j', (syncId) => {
    expect(() => ruleDescription(syncId)).toThrow(/syncId must be 1..64 characters/);
    expect(() => isOwnedRule('anything', syncId)).toThrow(/syncId/);
  });
});

describe('isOwnedRule', () => {
  test.each([
    ['managed-by:cdk-production-patterns:prod', true],
    ['managed-by:cdk-production-patterns:prod aws:EC2/us-east-1', true],
    ['managed-by:cdk-production-patterns:prod-eu', false],
    ['managed-by:cdk-production-patterns:prod2 x', false],
    ['managed-by:cdk-production-patterns:pro', false],
    ['office VPN', false],
    ['see managed-by:cdk-production-patterns:prod', false],
    ['', false],
  ])('%j -> %s', (description, owned) => {
    expect(isOwnedRule(description, 'prod')).toBe(owned);
  });

  test('a rule without a description is not owned', () => {
    expect(isOwnedRule(undefined, 'prod')).toBe(false);
  });
});

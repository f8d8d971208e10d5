import { createHash, createHmac } from 'node:crypto';
import {
  approvalIdOf, buildLinks, cachedValue, fixedSigningKeys, KeyLookup, signLegacyLink, signLink, SigningKey, SigningKeys, verifyLink,
} from '../../src/agent-workflow/runtime/link-signing';

const K1: SigningKey = { kid: '11111111-1111-4111-8111-111111111111', secret: 'k'.repeat(16) + 'signing-key-for-tests-0123456789' };
const K2: SigningKey = { kid: '22222222-2222-4222-8222-222222222222', secret: 'second-signing-key-for-tests-0123456789' };
const K0: SigningKey = { kid: '00000000-0000-4000-8000-000000000000', secret: 'retired-signing-key-for-tests-0123456789' };
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAc+ab/cd==+token/with+url/unsafe=chars';
const NOW = 1_780_000_000;

/** A key source that records its calls. */
function source(keys: SigningKeys, lookup: (kid: string) => KeyLookup = () => ({ active: false })) {
  const calls: string[] = [];
  return {
    calls,
    keys: async () => {
      calls.push('keys');
      return keys;
    },
    lookup: async (kid: string) => {
      calls.push(`lookup:${kid}`);
      return lookup(kid);
    },
  };
}

describe('approvalIdOf', () => {
  test('is base64url(SHA-256("approval-id|" + token)): 43 URL-safe chars, deterministic, no key involved', () => {
    const id = approvalIdOf(TOKEN);
    expect(id).toBe(createHash('sha256').update(`approval-id|${TOKEN}`).digest('base64url'));
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(approvalIdOf(TOKEN)).toBe(id);
    expect(approvalIdOf(`${TOKEN}x`)).not.toBe(id);
    expect(id).not.toContain(TOKEN.slice(0, 10));
  });
  test('refuses an empty token', () => {
    expect(() => approvalIdOf('')).toThrow(/taskToken/);
  });
});

describe('signLink', () => {
  const id = approvalIdOf(TOKEN);
  const exp = NOW + 3600;
  test('sig = kid "." base64url(HMAC(key, v2|kid|id|action|exp)): the key id is covered by the MAC', () => {
    const sig = signLink(K1, id, 'approve', exp);
    expect(sig).toBe(`${K1.kid}.${createHmac('sha256', K1.secret).update(`v2|${K1.kid}|${id}|approve|${exp}`).digest('base64url')}`);
    expect(sig).toMatch(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
  });
  test('refuses a short key, a key id that is not URL-safe, and a bad expiry', () => {
    expect(() => signLink({ kid: K1.kid, secret: 'short' }, id, 'approve', exp)).toThrow(/at least 32 characters/);
    expect(() => signLink({ kid: 'has.dot', secret: K1.secret }, id, 'approve', exp)).toThrow(/key id/);
    expect(() => signLink({ kid: 'x'.repeat(65), secret: K1.secret }, id, 'approve', exp)).toThrow(/key id/);
    expect(() => signLink(K1, id, 'approve', 1.5)).toThrow(/exp/);
  });
});

describe('verifyLink', () => {
  const id = approvalIdOf(TOKEN);
  const exp = NOW + 3600;
  const claim = (sig: unknown, override: Record<string, unknown> = {}) => ({ approvalId: id, action: 'approve', exp: String(exp), sig, ...override });

  test('a link signed with the current key verifies (exp as string or number), naming its key; no look-up', async () => {
    const keys = source({ current: K1 });
    const sig = signLink(K1, id, 'approve', exp);
    expect(await verifyLink(keys, claim(sig), NOW)).toEqual({ result: 'ok', approvalId: id, action: 'approve', exp, kid: K1.kid });
    expect((await verifyLink(keys, claim(sig, { exp }), NOW)).result).toBe('ok');
    expect(keys.calls).toEqual(['keys', 'keys']);
  });

  test('after a rotation, a link signed with the previous key still verifies', async () => {
    const keys = source({ current: K2, previous: K1 });
    expect(await verifyLink(keys, claim(signLink(K1, id, 'approve', exp)), NOW)).toMatchObject({ result: 'ok', kid: K1.kid });
    expect(await verifyLink(keys, claim(signLink(K2, id, 'approve', exp)), NOW)).toMatchObject({ result: 'ok', kid: K2.kid });
    expect(keys.calls).not.toContainEqual(expect.stringMatching(/^lookup/));
  });

  test('a key the container has not read yet is looked up once and, being active, verifies', async () => {
    // the container still holds K1 as current; the link was signed with K2 by a fresher container
    const keys = source({ current: K1 }, (kid) => (kid === K2.kid ? { key: K2, active: true } : { active: false }));
    expect(await verifyLink(keys, claim(signLink(K2, id, 'reject', exp), { action: 'reject' }), NOW))
      .toEqual({ result: 'ok', approvalId: id, action: 'reject', exp, kid: K2.kid });
    expect(keys.calls).toEqual(['keys', `lookup:${K2.kid}`]);
  });

  test('a key retired by a later rotation: authentic and unexpired is "retired", expired is "expired", bad MAC is "forged"', async () => {
    const keys = source({ current: K2, previous: K1 }, (kid) => (kid === K0.kid ? { key: K0, active: false } : { active: false }));
    const sig = signLink(K0, id, 'approve', exp);
    expect(await verifyLink(keys, claim(sig), NOW)).toEqual({ result: 'retired', kid: K0.kid, exp });
    expect(await verifyLink(keys, claim(sig), exp)).toEqual({ result: 'expired', exp });
    const tampered = signLink(K0, id, 'reject', exp);
    expect(await verifyLink(keys, claim(tampered), NOW)).toEqual({ result: 'forged' });
  });

  test('a key id the secret does not know is forged (and looked up once)', async () => {
    const keys = source({ current: K1 });
    const made: SigningKey = { kid: 'made-up-key-id', secret: 'an-attacker-chose-this-key-0123456789' };
    expect(await verifyLink(keys, claim(signLink(made, id, 'approve', exp)), NOW)).toEqual({ result: 'forged' });
    expect(keys.calls).toEqual(['keys', 'lookup:made-up-key-id']);
  });

  test('a bad MAC under a known key stays forged (no look-up); the key id cannot be swapped', async () => {
    const keys = source({ current: K2, previous: K1 });
    const sig = signLink(K1, id, 'approve', exp);
    const flipped = sig.slice(0, -1) + (sig.endsWith('A') ? 'B' : 'A');
    expect(await verifyLink(keys, claim(flipped), NOW)).toEqual({ result: 'forged' });
    // the MAC made with K1 presented as if it came from K2
    expect(await verifyLink(keys, claim(`${K2.kid}.${sig.split('.')[1]}`), NOW)).toEqual({ result: 'forged' });
    expect(keys.calls.some((c) => c.startsWith('lookup'))).toBe(false);
  });

  test('changing the action, the expiry or the id is forged', async () => {
    const keys = fixedSigningKeys(K1);
    const sig = signLink(K1, id, 'approve', exp);
    expect((await verifyLink(keys, claim(sig, { action: 'reject' }), NOW)).result).toBe('forged');
    expect((await verifyLink(keys, claim(sig, { exp: String(exp + 86400) }), NOW)).result).toBe('forged');
    expect((await verifyLink(keys, claim(sig, { approvalId: approvalIdOf('another-token') }), NOW)).result).toBe('forged');
  });

  test('expired from exp on; a forged expired link is reported forged, not expired', async () => {
    const keys = fixedSigningKeys(K1);
    const sig = signLink(K1, id, 'approve', exp);
    expect((await verifyLink(keys, claim(sig), exp - 1)).result).toBe('ok');
    expect(await verifyLink(keys, claim(sig), exp)).toEqual({ result: 'expired', exp });
    const badSig = signLink({ kid: K1.kid, secret: `${K1.secret}!` }, id, 'approve', exp);
    expect((await verifyLink(keys, claim(badSig), exp + 10)).result).toBe('forged');
  });

  describe('links mailed before key ids existed (43-character sig)', () => {
    const legacy = signLegacyLink(K1.secret, id, 'approve', exp);
    test('the format: base64url(HMAC(key, v1|id|action|exp))', () => {
      expect(legacy).toBe(createHmac('sha256', K1.secret).update(`v1|${id}|approve|${exp}`).digest('base64url'));
    });
    test('verify against the current key, and against the previous key after a rotation, until they expire', async () => {
      expect(await verifyLink(fixedSigningKeys(K1), claim(legacy), NOW)).toEqual({ result: 'ok', approvalId: id, action: 'approve', exp });
      expect((await verifyLink(fixedSigningKeys(K2, K1), claim(legacy), NOW)).result).toBe('ok');
      expect(await verifyLink(fixedSigningKeys(K2, K1), claim(legacy), exp)).toEqual({ result: 'expired', exp });
    });
    test('forged when neither key made it (or after a second rotation)', async () => {
      expect(await verifyLink(fixedSigningKeys(K2), claim(legacy), NOW)).toEqual({ result: 'forged' });
      expect(await verifyLink(fixedSigningKeys(K1), claim(legacy, { action: 'reject' }), NOW)).toEqual({ result: 'forged' });
    });
  });

  test.each([
    ['missing id', { approvalId: undefined }, 'approval id'],
    ['short id', { approvalId: 'abc' }, 'approval id'],
    ['unknown action', { action: 'delete' }, 'action'],
    ['missing action', { action: undefined }, 'action'],
    ['non-numeric exp', { exp: '17e8' }, 'exp'],
    ['negative exp', { exp: '-5' }, 'exp'],
    ['missing sig', { sig: undefined }, 'sig'],
    ['sig with padding', { sig: `${'a'.repeat(42)}=` }, 'sig'],
    ['sig as array', { sig: ['x'] }, 'sig'],
    ['sig with an empty key id', { sig: `.${'a'.repeat(43)}` }, 'sig'],
    ['sig with a key id of 65 chars', { sig: `${'k'.repeat(65)}.${'a'.repeat(43)}` }, 'sig'],
    ['sig with two dots', { sig: `a.b.${'a'.repeat(43)}` }, 'sig'],
    ['sig with a short MAC', { sig: `${K1.kid}.${'a'.repeat(42)}` }, 'sig'],
  ])('malformed: %s (nothing read)', async (_name, override, detail) => {
    const keys = source({ current: K1 });
    expect(await verifyLink(keys, claim(signLink(K1, id, 'approve', exp), override), NOW)).toEqual({ result: 'malformed', detail });
    expect(keys.calls).toEqual([]);
  });
});

describe('buildLinks', () => {
  test('three signed links under ENDPOINT_URL/approvals/<id>, naming the current key, URL-safe, no token', async () => {
    const id = approvalIdOf(TOKEN);
    const exp = NOW + 600;
    const links = buildLinks('https://abc.execute-api.eu-west-1.amazonaws.com/prod/', id, exp, K2);
    for (const action of ['approve', 'reject', 'heartbeat'] as const) {
      const url = new URL(links[action]);
      expect(url.origin + url.pathname).toBe(`https://abc.execute-api.eu-west-1.amazonaws.com/prod/approvals/${id}`);
      expect(url.searchParams.get('action')).toBe(action);
      expect(url.searchParams.get('exp')).toBe(String(exp));
      const sig = url.searchParams.get('sig');
      expect(sig?.startsWith(`${K2.kid}.`)).toBe(true);
      expect(await verifyLink(fixedSigningKeys(K2, K1), { approvalId: id, action, exp: String(exp), sig }, NOW))
        .toEqual({ result: 'ok', approvalId: id, action, exp, kid: K2.kid });
      expect(links[action]).toMatch(/^https:\/\/[^?]+\/approvals\/[A-Za-z0-9_-]{43}\?action=[a-z]+&exp=[0-9]+&sig=[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
      expect(links[action]).not.toContain(TOKEN);
      expect(links[action]).not.toContain(K2.secret);
    }
  });
  test('refuses an endpoint URL without the trailing slash', () => {
    expect(() => buildLinks('https://abc.example/prod', 'x'.repeat(43), NOW, K1)).toThrow(/ending with '\/'/);
  });
});

describe('fixedSigningKeys', () => {
  test('current and previous from keys(); only retired keys are found by lookup (inactive)', async () => {
    const keys = fixedSigningKeys(K2, K1, [K0]);
    expect(await keys.keys()).toEqual({ current: K2, previous: K1 });
    expect(await keys.lookup(K0.kid)).toEqual({ key: K0, active: false });
    expect(await keys.lookup(K1.kid)).toEqual({ active: false });
    expect(() => fixedSigningKeys({ kid: 'k', secret: 'short' })).toThrow(/at least 32/);
    expect(() => fixedSigningKeys({ kid: 'a.b', secret: K1.secret })).toThrow(/key id/);
  });
});

describe('cachedValue', () => {
  test('fetches once per 5 minutes, shares a concurrent fetch, does not cache failures', async () => {
    let clock = 0;
    const fetch = jest.fn()
      .mockRejectedValueOnce(new Error('throttled'))
      .mockResolvedValueOnce('first')
      .mockResolvedValueOnce('second');
    const { get } = cachedValue(fetch, () => clock);
    await expect(get()).rejects.toThrow('throttled');
    expect(await Promise.all([get(), get()])).toEqual(['first', 'first']);
    expect(fetch).toHaveBeenCalledTimes(2);
    clock = 299_999;
    expect(await get()).toBe('first');
    clock = 300_000;
    expect(await get()).toBe('second');
    expect(fetch).toHaveBeenCalledTimes(3);
  });
  test('invalidate(): the next call fetches again; a fetch begun before it is answered but not kept', async () => {
    let release: (v: string) => void = () => undefined;
    const fetch = jest.fn()
      .mockImplementationOnce(() => new Promise<string>((resolve) => { release = resolve; }))
      .mockResolvedValueOnce('fresh')
      .mockResolvedValueOnce('fresher');
    const cache = cachedValue(fetch, () => 0);
    const early = cache.get();
    cache.invalidate();
    const late = cache.get();
    release('stale');
    expect(await early).toBe('stale');
    expect(await late).toBe('fresh');
    expect(await cache.get()).toBe('fresh');
    cache.invalidate();
    expect(await cache.get()).toBe('fresher');
    expect(fetch).toHaveBeenCalledTimes(3);
  });
});

import { createHmac } from 'node:crypto';
import { approvalIdFor, buildLinks, cachedSecret, signLink, verifyLink } from '../../src/agent-workflow/runtime/link-signing';

const KEY = 'k'.repeat(16) + 'signing-key-for-tests-0123456789';
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAc+ab/cd==+token/with+url/unsafe=chars';
const NOW = 1_780_000_000;

describe('approvalIdFor', () => {
  test('is base64url(HMAC-SHA256(key, "approval-id|" + token)), 43 URL-safe chars, deterministic', () => {
    const id = approvalIdFor(KEY, TOKEN);
    expect(id).toBe(createHmac('sha256', KEY).update(`approval-id|${TOKEN}`).digest('base64url'));
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(approvalIdFor(KEY, TOKEN)).toBe(id);
    expect(approvalIdFor(KEY, `${TOKEN}x`)).not.toBe(id);
    expect(approvalIdFor(`${KEY}x`, TOKEN)).not.toBe(id);
    expect(id).not.toContain(TOKEN.slice(0, 10));
  });
  test('refuses a short key and an empty token', () => {
    expect(() => approvalIdFor('short', TOKEN)).toThrow(/at least 32 characters/);
    expect(() => approvalIdFor(KEY, '')).toThrow(/taskToken/);
  });
});

describe('signLink / verifyLink', () => {
  const id = approvalIdFor(KEY, TOKEN);
  const exp = NOW + 3600;
  const sig = signLink(KEY, id, 'approve', exp);

  test('signature covers v1|id|action|exp', () => {
    expect(sig).toBe(createHmac('sha256', KEY).update(`v1|${id}|approve|${exp}`).digest('base64url'));
  });
  test('a genuine link verifies (exp as string or number)', () => {
    expect(verifyLink(KEY, { approvalId: id, action: 'approve', exp: String(exp), sig }, NOW)).toEqual({ result: 'ok', approvalId: id, action: 'approve', exp });
    expect(verifyLink(KEY, { approvalId: id, action: 'approve', exp, sig }, NOW).result).toBe('ok');
  });
  test('changing the action, the expiry, the id, the key or one sig char is forged', () => {
    expect(verifyLink(KEY, { approvalId: id, action: 'reject', exp: String(exp), sig }, NOW).result).toBe('forged');
    expect(verifyLink(KEY, { approvalId: id, action: 'approve', exp: String(exp + 86400), sig }, NOW).result).toBe('forged');
    const otherId = approvalIdFor(KEY, 'another-token');
    expect(verifyLink(KEY, { approvalId: otherId, action: 'approve', exp: String(exp), sig }, NOW).result).toBe('forged');
    expect(verifyLink(`${KEY}!`, { approvalId: id, action: 'approve', exp: String(exp), sig }, NOW).result).toBe('forged');
    const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    expect(verifyLink(KEY, { approvalId: id, action: 'approve', exp: String(exp), sig: flipped }, NOW).result).toBe('forged');
  });
  test('expired from exp on; a forged expired link is reported forged, not expired', () => {
    expect(verifyLink(KEY, { approvalId: id, action: 'approve', exp: String(exp), sig }, exp - 1).result).toBe('ok');
    expect(verifyLink(KEY, { approvalId: id, action: 'approve', exp: String(exp), sig }, exp)).toEqual({ result: 'expired', exp });
    const badSig = signLink(`${KEY}!`, id, 'approve', exp);
    expect(verifyLink(KEY, { approvalId: id, action: 'approve', exp: String(exp), sig: badSig }, exp + 10).result).toBe('forged');
  });
  test.each([
    ['missing id', { approvalId: undefined }, 'approval id'],
    ['short id', { approvalId: 'abc' }, 'approval id'],
    ['unknown action', { action: 'delete' }, 'action'],
    ['missing action', { action: undefined }, 'action'],
    ['non-numeric exp', { exp: '17e8' }, 'exp'],
    ['negative exp', { exp: '-5' }, 'exp'],
    ['missing sig', { sig: undefined }, 'sig'],
    ['sig with padding', { sig: `${sig.slice(0, 42)}=` }, 'sig'],
    ['sig as array', { sig: [sig] }, 'sig'],
  ])('malformed: %s', (_name, override, detail) => {
    const claim = { approvalId: id, action: 'approve', exp: String(exp), sig, ...override };
    expect(verifyLink(KEY, claim, NOW)).toEqual({ result: 'malformed', detail });
  });
});

describe('buildLinks', () => {
  test('three signed links under ENDPOINT_URL/approvals/<id>, URL-safe, no token', () => {
    const id = approvalIdFor(KEY, TOKEN);
    const exp = NOW + 600;
    const links = buildLinks('https://abc.execute-api.eu-west-1.amazonaws.com/prod/', id, exp, KEY);
    for (const action of ['approve', 'reject', 'heartbeat'] as const) {
      const url = new URL(links[action]);
      expect(url.origin + url.pathname).toBe(`https://abc.execute-api.eu-west-1.amazonaws.com/prod/approvals/${id}`);
      expect(url.searchParams.get('action')).toBe(action);
      expect(url.searchParams.get('exp')).toBe(String(exp));
      const sig = url.searchParams.get('sig');
      expect(verifyLink(KEY, { approvalId: id, action, exp: String(exp), sig }, NOW)).toEqual({ result: 'ok', approvalId: id, action, exp });
      expect(links[action]).toMatch(/^https:\/\/[^?]+\/approvals\/[A-Za-z0-9_-]{43}\?action=[a-z]+&exp=[0-9]+&sig=[A-Za-z0-9_-]{43}$/);
      expect(links[action]).not.toContain(TOKEN);
    }
  });
  test('refuses an endpoint URL without the trailing slash', () => {
    expect(() => buildLinks('https://abc.example/prod', 'x'.repeat(43), NOW, KEY)).toThrow(/ending with '\/'/);
  });
});

describe('cachedSecret', () => {
  test('fetches once per 5 minutes, shares a concurrent fetch, does not cache failures', async () => {
    let clock = 0;
    const fetch = jest.fn()
      .mockRejectedValueOnce(new Error('throttled'))
      .mockResolvedValueOnce('first')
      .mockResolvedValueOnce('second');
    const get = cachedSecret(fetch, () => clock);
    await expect(get()).rejects.toThrow('throttled');
    expect(await Promise.all([get(), get()])).toEqual(['first', 'first']);
    expect(fetch).toHaveBeenCalledTimes(2);
    clock = 299_999;
    expect(await get()).toBe('first');
    clock = 300_000;
    expect(await get()).toBe('second');
    expect(fetch).toHaveBeenCalledTimes(3);
  });
});

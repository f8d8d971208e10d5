/**
 * Approval link signing (pure, node:crypto only).
 *
 * A raw Step Functions task token never appears in a link: tokens are long, contain `+ / =` and
 * must stay secret. A link names an opaque approval id (a hash of the token, so a retried request
 * reuses it, whatever the signing key is by then) and carries a signature over (key id, approval
 * id, action, expiry):
 *
 *   approvalId = base64url(SHA-256('approval-id|' + taskToken))                         (43 chars)
 *   sig        = kid + '.' + base64url(HMAC-SHA256(key, `v2|${kid}|${approvalId}|${action}|${exp}`))
 *
 * `kid` names the key: the Secrets Manager VersionId of the secret version that holds it (a UUID,
 * not secret). It rides inside the `sig` parameter, so everything that carries a link's signature
 * (the confirm page's hidden field, a client posting `action`, `exp` and `sig`) carries its key id
 * unchanged, and it is covered by the MAC, so it cannot be swapped.
 *
 * Links mailed before key ids existed (`sig` = 43 characters, `v1|${approvalId}|${action}|${exp}`)
 * still verify, against the current and the previous key, until they expire.
 *
 * A key is the SecretString of the signing secret, used as UTF-8 bytes (at least 32 characters).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type LinkAction = 'approve' | 'reject' | 'heartbeat';
export const LINK_ACTIONS: readonly LinkAction[] = ['approve', 'reject', 'heartbeat'];

/** Shortest signing key accepted (characters). */
export const MIN_KEY_LENGTH = 32;

const B64URL_43 = /^[A-Za-z0-9_-]{43}$/;
const EPOCH_SECONDS = /^[0-9]{1,12}$/;
/** A key id: URL-safe, no '.', 1 to 64 characters (Secrets Manager version ids are 32 to 64). */
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** A v2 signature: `<kid>.<43-character MAC>`. */
const SIG_V2 = /^([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$/;

/** One signing key: its id (the secret's VersionId) and its value. */
export interface SigningKey {
  readonly kid: string;
  readonly secret: string;
}

/** The keys a link may be signed with: the one new links get (AWSCURRENT) and the one before it (AWSPREVIOUS). */
export interface SigningKeys {
  readonly current: SigningKey;
  readonly previous?: SigningKey;
}

/** What the secret says about a key id the known keys do not include. */
export interface KeyLookup {
  /** The key of that id, when the secret has (still) a version with that id. */
  readonly key?: SigningKey;
  /** True when that version is AWSCURRENT or AWSPREVIOUS now (the known keys were out of date). */
  readonly active: boolean;
}

/** Where keys come from (a Secrets Manager secret in the handlers, fixed keys in tests). */
export interface SigningKeySource {
  /** The current and previous keys (a container caches them). */
  keys(): Promise<SigningKeys>;
  /** A key id that `keys()` did not include: one uncached read of that version. */
  lookup(kid: string): Promise<KeyLookup>;
}

function checkSecret(secret: unknown): string {
  if (typeof secret !== 'string' || secret.length < MIN_KEY_LENGTH) {
    throw new Error(`signing key must be a string of at least ${MIN_KEY_LENGTH} characters`);
  }
  return secret;
}

function hmac(secret: string, data: string): string {
  return createHmac('sha256', checkSecret(secret)).update(data, 'utf8').digest('base64url');
}

/** True when the value can be a key id (URL-safe, no '.', 1 to 64 characters). */
export function isKeyId(value: unknown): value is string {
  return typeof value === 'string' && KEY_ID.test(value);
}

/**
 * The approval id of a task token: deterministic, opaque, 43 base64url characters, and independent
 * of the signing key (a request retried after a rotation finds its approval).
 */
export function approvalIdOf(taskToken: string): string {
  if (typeof taskToken !== 'string' || taskToken.length === 0) throw new Error('taskToken must be a non-empty string');
  return createHash('sha256').update(`approval-id|${taskToken}`, 'utf8').digest('base64url');
}

/** True when the value has the shape of an approval id (says nothing about its authenticity). */
export function isApprovalId(value: unknown): value is string {
  return typeof value === 'string' && B64URL_43.test(value);
}

export function isLinkAction(value: unknown): value is LinkAction {
  return typeof value === 'string' && (LINK_ACTIONS as readonly string[]).includes(value);
}

function checkExp(exp: number): void {
  if (!Number.isSafeInteger(exp) || exp < 0) throw new Error(`exp must be a non-negative integer (epoch seconds), got ${exp}`);
}

function mac(key: SigningKey, approvalId: string, action: LinkAction, exp: number): string {
  return hmac(key.secret, `v2|${key.kid}|${approvalId}|${action}|${exp}`);
}

/** The `sig` of one link: `<kid>.<MAC>`. `exp` is epoch seconds (an integer). */
export function signLink(key: SigningKey, approvalId: string, action: LinkAction, exp: number): string {
  checkExp(exp);
  if (!isKeyId(key?.kid)) {
    throw new Error(`signing key id must be 1 to 64 URL-safe characters (letters, digits, '-', '_'), got ${JSON.stringify(key?.kid)}`);
  }
  return `${key.kid}.${mac(key, approvalId, action, exp)}`;
}

/**
 * The `sig` of a link in the format mailed before key ids existed (43 characters, no key id). Only
 * verified, never issued; kept to test that such links still work.
 */
export function signLegacyLink(secret: string, approvalId: string, action: LinkAction, exp: number): string {
  checkExp(exp);
  return hmac(secret, `v1|${approvalId}|${action}|${exp}`);
}

/** What a request claims: every value untrusted (query string, form or JSON body). */
export interface LinkClaim {
  readonly approvalId: unknown;
  readonly action: unknown;
  readonly exp: unknown;
  readonly sig: unknown;
}

export type LinkVerification =
  | {
    readonly result: 'ok';
    readonly approvalId: string;
    readonly action: LinkAction;
    readonly exp: number;
    /** The key id the link names (undefined for a link in the format without one). */
    readonly kid?: string;
  }
  | { readonly result: 'forged' }
  | { readonly result: 'expired'; readonly exp: number }
  /** Authentic, unexpired, but signed with a key that is neither current nor previous any more. */
  | { readonly result: 'retired'; readonly kid: string; readonly exp: number }
  | { readonly result: 'malformed'; readonly detail: string };

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Verifies a link: shape first (malformed), then the signature in constant time (forged), then
 * the expiry (expired, only reported for an authentic link). `nowSeconds` is epoch seconds; a link
 * is expired from its `exp` second on.
 *
 * The key is the one the link names: the current or previous key of `keys.keys()`; a key id those do
 * not include is looked up once (`keys.lookup`), which finds a key the container has not read yet
 * (an active one: verified as usual) or one a rotation has retired (`retired` when the link is
 * authentic under it and unexpired, else forged or expired). A key id the secret does not know is
 * forged. A link without a key id verifies against the current and the previous key.
 */
export async function verifyLink(keys: SigningKeySource, claim: LinkClaim, nowSeconds: number): Promise<LinkVerification> {
  if (!isApprovalId(claim.approvalId)) return { result: 'malformed', detail: 'approval id' };
  if (!isLinkAction(claim.action)) return { result: 'malformed', detail: 'action' };
  const expText = typeof claim.exp === 'number' ? String(claim.exp) : claim.exp;
  if (typeof expText !== 'string' || !EPOCH_SECONDS.test(expText)) return { result: 'malformed', detail: 'exp' };
  const sig = claim.sig;
  const v2 = typeof sig === 'string' ? SIG_V2.exec(sig) : null;
  if (!v2 && (typeof sig !== 'string' || !B64URL_43.test(sig))) return { result: 'malformed', detail: 'sig' };
  const approvalId = claim.approvalId;
  const action = claim.action;
  const exp = Number(expText);
  const authentic = (kid: string | undefined): LinkVerification => (nowSeconds >= exp
    ? { result: 'expired', exp }
    : { result: 'ok', approvalId, action, exp, ...(kid === undefined ? {} : { kid }) });

  const known = await keys.keys();
  if (!v2) {
    // the format without a key id: the current key, then the previous one (both compared, in constant time each)
    const candidates = [known.current, known.previous].filter((k): k is SigningKey => k !== undefined);
    const matches = candidates.map((k) => sameText(signLegacyLink(k.secret, approvalId, action, exp), sig as string));
    return matches.some(Boolean) ? authentic(undefined) : { result: 'forged' };
  }

  const [, kid, given] = v2;
  let key = [known.current, known.previous].find((k) => k?.kid === kid);
  let retired = false;
  if (!key) {
    const found = await keys.lookup(kid);
    if (!found.key || found.key.kid !== kid) return { result: 'forged' };
    key = found.key;
    retired = !found.active;
  }
  if (!sameText(mac(key, approvalId, action, exp), given)) return { result: 'forged' };
  if (retired && nowSeconds < exp) return { result: 'retired', kid, exp };
  return authentic(kid);
}

export interface ApprovalLinks {
  readonly approve: string;
  readonly reject: string;
  readonly heartbeat: string;
}

/** The signed links of one approval. `endpointUrl` is the API base URL and ends with '/'. */
export function buildLinks(endpointUrl: string, approvalId: string, exp: number, key: SigningKey): ApprovalLinks {
  if (!/^https?:\/\/\S+\/$/.test(endpointUrl)) throw new Error(`endpoint URL must be an http(s) URL ending with '/', got "${endpointUrl}"`);
  const link = (action: LinkAction) => {
    const query = new URLSearchParams({ action, exp: String(exp), sig: signLink(key, approvalId, action, exp) });
    return `${endpointUrl}approvals/${encodeURIComponent(approvalId)}?${query.toString()}`;
  };
  return { approve: link('approve'), reject: link('reject'), heartbeat: link('heartbeat') };
}

/**
 * Fixed keys (no secret behind them): `keys()` answers `current` and `previous`; `lookup` finds
 * only the `retired` keys (inactive). For tests and local simulations.
 */
export function fixedSigningKeys(current: SigningKey, previous?: SigningKey, retired: readonly SigningKey[] = []): SigningKeySource {
  for (const k of [current, previous, ...retired]) {
    if (k !== undefined) {
      checkSecret(k.secret);
      if (!isKeyId(k.kid)) throw new Error(`key id must be 1 to 64 URL-safe characters, got ${JSON.stringify(k.kid)}`);
    }
  }
  return {
    keys: async () => ({ current, ...(previous ? { previous } : {}) }),
    lookup: async (kid) => {
      const key = retired.find((k) => k.kid === kid);
      return key ? { key, active: false } : { active: false };
    },
  };
}

/**
 * Caches a value per container: `fetch` runs at most once per `ttlMs` (default 5 minutes);
 * concurrent callers share one fetch and a failed fetch is not cached. `invalidate()` makes the
 * next call fetch again.
 */
export function cachedValue<T>(
  fetch: () => Promise<T>, nowMs: () => number = Date.now, ttlMs = 5 * 60_000,
): { get: () => Promise<T>; invalidate: () => void } {
  let cached: { value: T; at: number } | undefined;
  let inflight: Promise<T> | undefined;
  let generation = 0;
  return {
    get: async () => {
      if (cached && nowMs() - cached.at < ttlMs) return cached.value;
      if (!inflight) {
        const started = generation;
        const pending: Promise<T> = fetch()
          .then((value) => {
            // a fetch that began before an invalidation is answered, not kept
            if (started === generation) cached = { value, at: nowMs() };
            return value;
          })
          .finally(() => {
            if (inflight === pending) inflight = undefined;
          });
        inflight = pending;
      }
      return inflight;
    },
    invalidate: () => {
      cached = undefined;
      inflight = undefined;
      generation += 1;
    },
  };
}

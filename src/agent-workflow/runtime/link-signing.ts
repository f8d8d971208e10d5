/**
 * Approval link signing (pure, node:crypto only).
 *
 * A raw Step Functions task token never appears in a link: tokens are long, contain `+ / =` and
 * must stay secret. A link names an opaque approval id (an HMAC of the token, so a retried request
 * reuses it) and carries an HMAC signature over (approval id, action, expiry).
 *
 *   approvalId = base64url(HMAC-SHA256(key, 'approval-id|' + taskToken))            (43 chars)
 *   sig        = base64url(HMAC-SHA256(key, `v1|${approvalId}|${action}|${exp}`))  (43 chars)
 *
 * `key` is the SecretString of the signing secret, used as UTF-8 bytes (at least 32 characters).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type LinkAction = 'approve' | 'reject' | 'heartbeat';
export const LINK_ACTIONS: readonly LinkAction[] = ['approve', 'reject', 'heartbeat'];

/** Shortest signing key accepted (characters). */
export const MIN_KEY_LENGTH = 32;

const B64URL_43 = /^[A-Za-z0-9_-]{43}$/;
const EPOCH_SECONDS = /^[0-9]{1,12}$/;

function hmac(key: string, data: string): string {
  if (typeof key !== 'string' || key.length < MIN_KEY_LENGTH) {
    throw new Error(`signing key must be a string of at least ${MIN_KEY_LENGTH} characters`);
  }
  return createHmac('sha256', key).update(data, 'utf8').digest('base64url');
}

/** The approval id of a task token: deterministic, opaque, 43 base64url characters. */
export function approvalIdFor(key: string, taskToken: string): string {
  if (typeof taskToken !== 'string' || taskToken.length === 0) throw new Error('taskToken must be a non-empty string');
  return hmac(key, `approval-id|${taskToken}`);
}

/** True when the value has the shape of an approval id (says nothing about its authenticity). */
export function isApprovalId(value: unknown): value is string {
  return typeof value === 'string' && B64URL_43.test(value);
}

export function isLinkAction(value: unknown): value is LinkAction {
  return typeof value === 'string' && (LINK_ACTIONS as readonly string[]).includes(value);
}

/** The signature of one link. `exp` is epoch seconds (an integer). */
export function signLink(key: string, approvalId: string, action: LinkAction, exp: number): string {
  if (!Number.isSafeInteger(exp) || exp < 0) throw new Error(`exp must be a non-negative integer (epoch seconds), got ${exp}`);
  return hmac(key, `v1|${approvalId}|${action}|${exp}`);
}

/** What a request claims: every value untrusted (query string, form or JSON body). */
export interface LinkClaim {
  readonly approvalId: unknown;
  readonly action: unknown;
  readonly exp: unknown;
  readonly sig: unknown;
}

export type LinkVerification =
  | { readonly result: 'ok'; readonly approvalId: string; readonly action: LinkAction; readonly exp: number }
  | { readonly result: 'forged' }
  | { readonly result: 'expired'; readonly exp: number }
  | { readonly result: 'malformed'; readonly detail: string };

/**
 * Verifies a link: shape first (malformed), then the signature in constant time (forged), then
 * the expiry (expired, only reported for an authentic link). `nowSeconds` is epoch seconds; a link
 * is expired from its `exp` second on.
 */
export function verifyLink(key: string, claim: LinkClaim, nowSeconds: number): LinkVerification {
  if (!isApprovalId(claim.approvalId)) return { result: 'malformed', detail: 'approval id' };
  if (!isLinkAction(claim.action)) return { result: 'malformed', detail: 'action' };
  const expText = typeof claim.exp === 'number' ? String(claim.exp) : claim.exp;
  if (typeof expText !== 'string' || !EPOCH_SECONDS.test(expText)) return { result: 'malformed', detail: 'exp' };
  if (typeof claim.sig !== 'string' || !B64URL_43.test(claim.sig)) return { result: 'malformed', detail: 'sig' };
  const exp = Number(expText);
  const expected = Buffer.from(signLink(key, claim.approvalId, claim.action, exp), 'utf8');
  const given = Buffer.from(claim.sig, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { result: 'forged' };
  if (nowSeconds >= exp) return { result: 'expired', exp };
  return { result: 'ok', approvalId: claim.approvalId, action: claim.action, exp };
}

export interface ApprovalLinks {
  readonly approve: string;
  readonly reject: string;
  readonly heartbeat: string;
}

/** The signed links of one approval. `endpointUrl` is the API base URL and ends with '/'. */
export function buildLinks(endpointUrl: string, approvalId: string, exp: number, key: string): ApprovalLinks {
  if (!/^https?:\/\/\S+\/$/.test(endpointUrl)) throw new Error(`endpoint URL must be an http(s) URL ending with '/', got "${endpointUrl}"`);
  const link = (action: LinkAction) => {
    const query = new URLSearchParams({ action, exp: String(exp), sig: signLink(key, approvalId, action, exp) });
    return `${endpointUrl}approvals/${encodeURIComponent(approvalId)}?${query.toString()}`;
  };
  return { approve: link('approve'), reject: link('reject'), heartbeat: link('heartbeat') };
}

/**
 * Caches a secret per container: `fetch` runs at most once per `ttlMs` (default 5 minutes);
 * concurrent callers share one fetch and a failed fetch is not cached.
 */
export function cachedSecret(fetch: () => Promise<string>, nowMs: () => number = Date.now, ttlMs = 5 * 60_000): () => Promise<string> {
  let cached: { value: string; at: number } | undefined;
  let inflight: Promise<string> | undefined;
  return async () => {
    if (cached && nowMs() - cached.at < ttlMs) return cached.value;
    if (!inflight) {
      inflight = fetch()
        .then((value) => {
          cached = { value, at: nowMs() };
          return value;
        })
        .finally(() => {
          inflight = undefined;
        });
    }
    return inflight;
  };
}

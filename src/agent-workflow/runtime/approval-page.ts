/**
 * Approval endpoint answers (pure): the confirm page a GET link lands on, the result pages, and
 * their JSON twins for clients whose Accept header prefers application/json.
 *
 * Every interpolated value is HTML-escaped. Every answer carries the security headers: no script,
 * no framing, no caching, no referrer (the URL holds a signature), forms post only to this origin.
 */
import type { Scalar } from './contracts';
import type { LinkAction } from './link-signing';

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | number | boolean>;
  readonly body: string;
}

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
};

/** Longest comment accepted (characters, as a browser's `maxlength` counts them); a longer one is refused, never cut. */
export const MAX_COMMENT_LENGTH = 1000;
/** Longest approver name accepted (characters); a longer one is refused, never cut. */
export const MAX_NAME_LENGTH = 100;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** HTML-escapes any value (null/undefined become ''). */
export function escapeHtml(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return text.replace(/[&<>"'`]/g, (c) => HTML_ESCAPES[c]);
}

/** q value of a media type in an Accept header: the most specific matching range wins (0 when none matches). */
function qualityOf(ranges: Array<{ type: string; q: number }>, mediaType: string): { q: number; explicit: boolean } {
  const [major] = mediaType.split('/');
  const exact = ranges.find((r) => r.type === mediaType);
  if (exact) return { q: exact.q, explicit: true };
  const partial = ranges.find((r) => r.type === `${major}/*`);
  if (partial) return { q: partial.q, explicit: false };
  const any = ranges.find((r) => r.type === '*/*');
  return { q: any ? any.q : 0, explicit: false };
}

/** True when the Accept header prefers application/json over text/html. Absent header → HTML. */
export function prefersJson(accept: string | undefined | null): boolean {
  if (!accept) return false;
  const ranges = accept.split(',').map((part) => {
    const [type, ...params] = part.trim().toLowerCase().split(';').map((s) => s.trim());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    return { type, q: Number.isFinite(q) ? q : 0 };
  }).filter((r) => r.type.length > 0);
  const forJson = qualityOf(ranges, 'application/json');
  const forHtml = qualityOf(ranges, 'text/html');
  if (forJson.q <= 0) return false;
  if (forJson.q !== forHtml.q) return forJson.q > forHtml.q;
  return forJson.explicit && !forHtml.explicit;
}

export type ResultKind =
  | 'decided'
  | 'heartbeat'
  | 'already-decided'
  | 'expired'
  | 'closed'
  | 'forged'
  | 'retired-key'
  | 'malformed'
  | 'not-found'
  | 'route-not-found'
  | 'method-not-allowed'
  | 'try-again'
  | 'too-long'
  | 'not-applied'
  | 'unknown';

interface ResultSpec {
  readonly statusCode: number;
  readonly title: string;
  readonly message: string;
}

export const RESULTS: Readonly<Record<ResultKind, ResultSpec>> = {
  'decided': { statusCode: 200, title: 'Decision recorded', message: 'Your decision was recorded and the workflow continues.' },
  'heartbeat': { statusCode: 200, title: 'Noted: still reviewing', message: 'The workflow was told that the review is still in progress. Nothing was decided.' },
  'already-decided': { statusCode: 409, title: 'Already decided', message: 'This approval was already decided. Nothing was changed.' },
  'expired': { statusCode: 410, title: 'Link expired', message: 'This approval link has expired. Nothing was decided.' },
  'closed': { statusCode: 410, title: 'No longer waiting', message: 'The workflow is no longer waiting for this approval. Nothing was decided.' },
  'forged': { statusCode: 403, title: 'Invalid link', message: 'This link is not valid. Use the link from the approval message, unchanged.' },
  'retired-key': {
    statusCode: 410,
    title: 'Link signed with a retired key',
    message: 'This link was signed with a key that has since been retired by a key rotation. Nothing was decided. '
      + 'The approval may still be waiting: ask the workflow\'s operators to decide it another way.',
  },
  'malformed': { statusCode: 400, title: 'Malformed request', message: 'The link or the form is incomplete or malformed. Use the link from the approval message, unchanged.' },
  'not-found': { statusCode: 404, title: 'Approval not found', message: 'No such approval (it may have been removed after it expired).' },
  'route-not-found': { statusCode: 404, title: 'Not found', message: 'Nothing here.' },
  'method-not-allowed': { statusCode: 405, title: 'Method not allowed', message: 'Only GET and POST are supported.' },
  'try-again': { statusCode: 503, title: 'Please try again', message: 'The decision could not be delivered right now. Nothing was decided: please try again in a minute.' },
  'too-long': { statusCode: 400, title: 'Too long', message: 'The comment or the name is too long. Nothing was decided: shorten it and send the form again.' },
  'not-applied': {
    statusCode: 503,
    title: 'Not applied: please try again',
    message: 'Your decision was not applied: Step Functions answered with an error, and the workflow\'s history shows no decision for this approval. '
      + 'Please try again in a minute.',
  },
  'unknown': {
    statusCode: 503,
    title: 'Outcome unknown',
    message: 'Step Functions answered with an error and the workflow\'s history could not be read, so it is not known whether your decision was applied. '
      + 'Open the link again in a few minutes and confirm again: the workflow keeps the first decision it received, and the answer will say which one that was.',
  },
};

function page(title: string, content: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="robots" content="noindex, nofollow">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#1b1b1b}',
    'table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}',
    'pre{white-space:pre-wrap;background:#f5f5f5;padding:.5rem}textarea,input[type=text]{width:100%;box-sizing:border-box}',
    'button{font-size:1.1rem;padding:.5rem 1.5rem;margin-top:1rem}.approve{background:#1d7a2f;color:#fff}.reject{background:#a4161a;color:#fff}',
    '.heartbeat{background:#2b4f81;color:#fff}</style>',
    '</head><body>',
    `<h1>${escapeHtml(title)}</h1>`,
    content,
    '</body></html>',
  ].join('\n');
}

function html(statusCode: number, body: string, extraHeaders: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8', ...extraHeaders }, body };
}

function json(statusCode: number, body: Record<string, unknown>, extraHeaders: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', ...extraHeaders }, body: JSON.stringify(body) };
}

/** A result answer. `message` replaces the default message of the kind; `details` go to the JSON answer and the HTML page. */
export function resultResponse(
  kind: ResultKind,
  asJson: boolean,
  options: { readonly message?: string; readonly details?: Record<string, string | number>; readonly headers?: Record<string, string> } = {},
): HttpResponse {
  const spec = RESULTS[kind];
  const message = options.message ?? spec.message;
  if (asJson) return json(spec.statusCode, { status: kind, message, ...(options.details ?? {}) }, options.headers);
  const details = Object.entries(options.details ?? {});
  const table = details.length === 0
    ? ''
    : `<table>${details.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
  return html(spec.statusCode, page(spec.title, `<p>${escapeHtml(message)}</p>\n${table}`), options.headers);
}

/** What the confirm page shows and posts back. */
export interface ConfirmPageModel {
  readonly approvalId: string;
  readonly action: LinkAction;
  readonly exp: number;
  readonly sig: string;
  readonly stage: string;
  readonly reason: string;
  readonly subjectKey: string;
  readonly fields: Record<string, Scalar>;
  readonly summary: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

const ACTION_TEXT: Record<LinkAction, { title: string; button: string; explain: string }> = {
  approve: { title: 'Approve this request?', button: 'Approve', explain: 'Approving lets the workflow continue.' },
  reject: { title: 'Reject this request?', button: 'Reject', explain: 'Rejecting stops this item; the workflow records the rejection.' },
  heartbeat: { title: 'Still reviewing?', button: 'Tell the workflow I am still reviewing', explain: 'This decides nothing; it only reports that a review is in progress.' },
};

const MAX_FIELDS_SHOWN = 50;

function scalarText(value: Scalar): string {
  return value === null ? 'null' : String(value);
}

/**
 * The confirm page (GET): shows what is being decided and posts the decision (form-urlencoded
 * action/exp/sig as hidden inputs, optional comment and name) to the same URL. Opening it decides nothing.
 */
export function confirmResponse(model: ConfirmPageModel, asJson: boolean): HttpResponse {
  const expiresIso = new Date(model.expiresAt * 1000).toISOString();
  const text = ACTION_TEXT[model.action];
  if (asJson) {
    return json(200, {
      status: 'confirm',
      message: `${text.title} POST action, exp and sig (and optionally comment, name) to this URL to confirm.`,
      approvalId: model.approvalId,
      action: model.action,
      stage: model.stage,
      reason: model.reason,
      subjectKey: model.subjectKey,
      fields: model.fields,
      summary: model.summary,
      expiresAt: expiresIso,
    });
  }
  const fields = Object.entries(model.fields ?? {}).slice(0, MAX_FIELDS_SHOWN);
  const fieldRows = fields.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(scalarText(v))}</td></tr>`).join('');
  const content = [
    `<p>${escapeHtml(text.explain)} Nothing happens until you press the button below.</p>`,
    '<table>',
    `<tr><th>Reason</th><td>${escapeHtml(model.reason)}</td></tr>`,
    `<tr><th>Object</th><td>${escapeHtml(model.subjectKey)}</td></tr>`,
    `<tr><th>Stage</th><td>${escapeHtml(model.stage)}</td></tr>`,
    `<tr><th>Link expires</th><td>${escapeHtml(expiresIso)}</td></tr>`,
    '</table>',
    model.summary ? `<h2>Summary</h2>\n<pre>${escapeHtml(model.summary)}</pre>` : '',
    fieldRows ? `<h2>Fields</h2>\n<table>${fieldRows}</table>` : '',
    '<form method="post" enctype="application/x-www-form-urlencoded">',
    `<input type="hidden" name="action" value="${escapeHtml(model.action)}">`,
    `<input type="hidden" name="exp" value="${escapeHtml(model.exp)}">`,
    `<input type="hidden" name="sig" value="${escapeHtml(model.sig)}">`,
    model.action === 'heartbeat'
      ? ''
      : [
        `<p><label for="comment">Comment (optional, at most ${MAX_COMMENT_LENGTH} characters)</label><br>`,
        `<textarea id="comment" name="comment" rows="4" maxlength="${MAX_COMMENT_LENGTH}"></textarea></p>`,
        `<p><label for="name">Your name (optional, at most ${MAX_NAME_LENGTH} characters)</label><br>`,
        `<input type="text" id="name" name="name" maxlength="${MAX_NAME_LENGTH}" autocomplete="name"></p>`,
      ].join('\n'),
    `<button type="submit" class="${escapeHtml(model.action)}">${escapeHtml(text.button)}</button>`,
    '</form>',
  ].filter((line) => line !== '').join('\n');
  return html(200, page(text.title, content));
}

/**
 * Parsing and validation of the published IP range documents and of the AmazonIpSpaceChanged
 * notification, plus the integrity helpers (MD5, sync token order).
 *
 * Pure logic, no AWS client. Every parser either returns a fully validated document or throws a
 * {@link DocumentError} naming the offending field, so a bad document never changes anything.
 */
import { createHash } from 'node:crypto';
import { AddressFamily, cidrFamilyOf } from './cidr';

/** Which kind of document a {@link DocumentError} is about. */
export type DocumentKind = 'aws-ip-ranges' | 'github-meta' | 'cidr-list' | 'sns-notification';

/**
 * A document failed to parse or validate. `field` is the JSON path of the offending value
 * (`prefixes[12].ip_prefix`, `synctoken`, `$` for the document itself).
 */
export class DocumentError extends Error {
  /** The JSON path of the offending value; `$` is the whole document. */
  public readonly field: string;
  /** The kind of document. */
  public readonly document: DocumentKind;

  constructor(document: DocumentKind, field: string, problem: string) {
    super(`Invalid ${document} document: ${field}: ${problem}`);
    this.name = 'DocumentError';
    this.document = document;
    this.field = field;
  }
}

/** The MD5 of the downloaded document does not match the one announced in the notification. */
export class Md5MismatchError extends DocumentError {
  /** The MD5 announced (lower-case hex). */
  public readonly expected: string;
  /** The MD5 of the bytes received (lower-case hex). */
  public readonly actual: string;

  constructor(expected: string, actual: string) {
    super('aws-ip-ranges', 'md5', `document bytes have MD5 ${actual}, the notification announced ${expected}`);
    this.name = 'Md5MismatchError';
    this.expected = expected;
    this.actual = actual;
  }
}

/** One entry of `prefixes` or `ipv6_prefixes` in AWS ip-ranges.json. */
export interface AwsIpPrefix {
  /** The CIDR as published (`ip_prefix` or `ipv6_prefix`). */
  readonly cidr: string;
  /** The region, or `GLOBAL`. */
  readonly region: string;
  /** The service, as published (case-sensitive: `AMAZON`, `EC2`, `CLOUDFRONT`...). */
  readonly service: string;
  /** The network border group; absent in documents from before 2019. */
  readonly networkBorderGroup?: string;
}

/** A validated AWS ip-ranges.json document. */
export interface AwsIpRangesDocument {
  /** Publication time in epoch seconds, as a decimal string. */
  readonly syncToken: string;
  /** Publication time as published (`YYYY-MM-DD-hh-mm-ss`, UTC). */
  readonly createDate: string;
  /** IPv4 entries, in document order. */
  readonly prefixes: AwsIpPrefix[];
  /** IPv6 entries, in document order. */
  readonly ipv6Prefixes: AwsIpPrefix[];
}

/** A validated api.github.com/meta document. */
export interface GithubMetaDocument {
  /** Every key whose value is an array of valid CIDRs (`hooks`, `actions`...), in document order. */
  readonly services: Record<string, string[]>;
  /**
   * Keys whose value is an array that is not a list of CIDRs (`ssh_keys`), with the path and
   * problem of the first bad element. Selecting one of them is an error.
   */
  readonly nonCidrLists: Record<string, string>;
}

/** Options of {@link parseCidrList}. */
export interface CidrListOptions {
  /**
   * When the document is a JSON object, the key holding the array of CIDRs.
   * @default - the document must be a top-level JSON array of CIDR strings
   */
  readonly jsonKey?: string;
}

/** A validated AmazonIpSpaceChanged notification body. */
export interface IpSpaceChangedNotification {
  /** `create-time`, ISO 8601. */
  readonly createTime: string;
  /** `synctoken`, epoch seconds as a decimal string. */
  readonly syncToken: string;
  /** `md5`, lower-case hex MD5 of the document bytes. */
  readonly md5: string;
  /** `url` of the document. */
  readonly url: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const SYNC_TOKEN = /^[0-9]{1,20}$/;
const CREATE_DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}$/;
const ISO_TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})$/;
const MD5_HEX = /^[0-9a-fA-F]{32}$/;

function decode(kind: DocumentKind, input: string | Uint8Array): string {
  if (typeof input === 'string') return input;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    throw new DocumentError(kind, '$', 'not valid UTF-8');
  }
}

function parseJson(kind: DocumentKind, input: string | Uint8Array): Json {
  const text = decode(kind, input);
  if (text.trim() === '') throw new DocumentError(kind, '$', 'empty document');
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new DocumentError(kind, '$', `not valid JSON (truncated or corrupt?): ${(e as Error).message}`);
  }
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: Json | undefined): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function childPath(parent: string, key: string): string {
  const safe = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? key : JSON.stringify(key);
  return parent === '$' ? safe : `${parent}.${safe}`;
}

function requireObject(kind: DocumentKind, value: Json | undefined, path: string): JsonObject {
  if (!isObject(value)) throw new DocumentError(kind, path, `expected an object, got ${describe(value)}`);
  return value;
}

function requireString(kind: DocumentKind, obj: JsonObject, key: string, path: string, pattern?: RegExp): string {
  const value = obj[key];
  const field = childPath(path, key);
  if (typeof value !== 'string' || value.length === 0) {
    throw new DocumentError(kind, field, `expected a non-empty string, got ${describe(value)}`);
  }
  if (pattern && !pattern.test(value)) {
    throw new DocumentError(kind, field, `unexpected format ${describe(value)}`);
  }
  return value;
}

function requireArray(kind: DocumentKind, obj: JsonObject, key: string, path: string): Json[] {
  const value = obj[key];
  if (!Array.isArray(value)) {
    throw new DocumentError(kind, childPath(path, key), `expected an array, got ${describe(value)}`);
  }
  return value;
}

function requireCidr(kind: DocumentKind, value: Json | undefined, field: string, family?: AddressFamily): string {
  const actual = cidrFamilyOf(value);
  if (!actual) {
    throw new DocumentError(kind, field, `expected ${family === 'ipv6' ? 'an IPv6' : family === 'ipv4' ? 'an IPv4' : 'a'} CIDR, got ${describe(value)}`);
  }
  if (family && actual !== family) {
    throw new DocumentError(kind, field, `expected an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} CIDR, got the ${actual === 'ipv4' ? 'IPv4' : 'IPv6'} CIDR ${describe(value)}`);
  }
  return value as string;
}

function parseAwsPrefixes(doc: JsonObject, key: 'prefixes' | 'ipv6_prefixes'): AwsIpPrefix[] {
  const kind: DocumentKind = 'aws-ip-ranges';
  const cidrKey = key === 'prefixes' ? 'ip_prefix' : 'ipv6_prefix';
  const family: AddressFamily = key === 'prefixes' ? 'ipv4' : 'ipv6';
  return requireArray(kind, doc, key, '$').map((entry, i) => {
    const path = `${key}[${i}]`;
    const obj = requireObject(kind, entry, path);
    const cidr = requireCidr(kind, obj[cidrKey], `${path}.${cidrKey}`, family);
    const region = requireString(kind, obj, 'region', path);
    const service = requireString(kind, obj, 'service', path);
    const nbg = obj.network_border_group;
    if (nbg !== undefined && (typeof nbg !== 'string' || nbg.length === 0)) {
      throw new DocumentError(kind, `${path}.network_border_group`, `expected a non-empty string, got ${describe(nbg)}`);
    }
    return nbg === undefined ? { cidr, region, service } : { cidr, region, service, networkBorderGroup: nbg };
  });
}

/**
 * Parses and validates AWS `ip-ranges.json`. Checks `syncToken` (epoch seconds), `createDate`,
 * and every entry of `prefixes` (IPv4 `ip_prefix`) and `ipv6_prefixes` (IPv6 `ipv6_prefix`), each
 * with `region` and `service`; `network_border_group` is optional (absent before 2019). Unknown
 * fields are ignored.
 * @param input the document text or its raw bytes (UTF-8)
 * @throws DocumentError naming the first invalid field (e.g. `prefixes[12].ip_prefix`)
 */
export function parseAwsIpRanges(input: string | Uint8Array): AwsIpRangesDocument {
  const kind: DocumentKind = 'aws-ip-ranges';
  const doc = requireObject(kind, parseJson(kind, input), '$');
  return {
    syncToken: requireString(kind, doc, 'syncToken', '$', SYNC_TOKEN),
    createDate: requireString(kind, doc, 'createDate', '$', CREATE_DATE),
    prefixes: parseAwsPrefixes(doc, 'prefixes'),
    ipv6Prefixes: parseAwsPrefixes(doc, 'ipv6_prefixes'),
  };
}

/**
 * Parses and validates an `api.github.com/meta` response. Every array-valued key whose elements
 * are all valid CIDRs becomes a service (`hooks`, `web`, `actions`...); other arrays (`ssh_keys`)
 * are recorded in `nonCidrLists`; non-array keys (`verifiable_password_authentication`,
 * `ssh_key_fingerprints`, `domains`) are ignored.
 * @param input the document text or its raw bytes (UTF-8)
 * @throws DocumentError when the body is not a JSON object holding at least one CIDR list (for
 *   example GitHub's `{"message": "API rate limit exceeded..."}`)
 */
export function parseGithubMeta(input: string | Uint8Array): GithubMetaDocument {
  const kind: DocumentKind = 'github-meta';
  const doc = requireObject(kind, parseJson(kind, input), '$');
  // No prototype: keys come from the network (`__proto__` must stay a plain key).
  const services: Record<string, string[]> = Object.create(null);
  const nonCidrLists: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries(doc)) {
    if (!Array.isArray(value)) continue;
    const bad = value.findIndex((v) => cidrFamilyOf(v) === undefined);
    if (bad === -1) {
      services[key] = value as string[];
    } else {
      nonCidrLists[key] = `${childPath('$', key)}[${bad}]: expected a CIDR, got ${describe(value[bad])}`;
    }
  }
  if (Object.keys(services).length === 0) {
    const said = typeof doc.message === 'string' ? ` (the response says ${describe(doc.message)})` : '';
    throw new DocumentError(kind, '$', `no array of CIDRs found${said}`);
  }
  return { services, nonCidrLists };
}

/**
 * Parses a generic JSON list of CIDRs: either a top-level array of CIDR strings or, with
 * `jsonKey`, an object whose `jsonKey` holds such an array. Both address families may be mixed.
 * @param input the document text or its raw bytes (UTF-8)
 * @returns the CIDRs as published, in document order
 * @throws DocumentError naming the first invalid field (e.g. `[3]` or `ranges[3]`)
 */
export function parseCidrList(input: string | Uint8Array, options: CidrListOptions = {}): string[] {
  const kind: DocumentKind = 'cidr-list';
  const doc = parseJson(kind, input);
  let list: Json[];
  let path: string;
  if (options.jsonKey === undefined) {
    if (!Array.isArray(doc)) {
      throw new DocumentError(kind, '$', `expected a JSON array of CIDRs (set jsonKey for an object), got ${describe(doc)}`);
    }
    list = doc;
    path = '';
  } else {
    const obj = requireObject(kind, doc, '$');
    list = requireArray(kind, obj, options.jsonKey, '$');
    path = childPath('$', options.jsonKey);
  }
  return list.map((v, i) => requireCidr(kind, v, `${path}[${i}]`));
}

/**
 * Parses and validates the body (`Message`) of an AmazonIpSpaceChanged SNS notification:
 * `{"create-time": ISO 8601, "synctoken": epoch seconds, "md5": hex, "url": https URL}`.
 * Fetch the document from the URL your configuration names, not blindly from `url`.
 * @throws DocumentError naming the first invalid field
 */
export function parseSnsNotification(message: string): IpSpaceChangedNotification {
  const kind: DocumentKind = 'sns-notification';
  const doc = requireObject(kind, parseJson(kind, message), '$');
  const url = requireString(kind, doc, 'url', '$');
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.protocol !== 'https:') {
    throw new DocumentError(kind, 'url', `expected an https URL, got ${describe(url)}`);
  }
  return {
    createTime: requireString(kind, doc, 'create-time', '$', ISO_TIME),
    syncToken: requireString(kind, doc, 'synctoken', '$', SYNC_TOKEN),
    md5: requireString(kind, doc, 'md5', '$', MD5_HEX).toLowerCase(),
    url,
  };
}

/**
 * The MD5 of a document, lower-case hex. Hash the bytes exactly as received: re-serialising the
 * parsed JSON changes them. A string is hashed as its UTF-8 encoding.
 */
export function md5Hex(bytes: Uint8Array | string): string {
  return createHash('md5').update(bytes).digest('hex');
}

/**
 * Checks the document bytes against the MD5 announced in the notification (case-insensitive).
 * @throws Md5MismatchError when they differ
 * @throws DocumentError when `expected` is not a 32-digit hex string
 */
export function verifyMd5(bytes: Uint8Array | string, expected: string): void {
  if (!MD5_HEX.test(expected)) {
    throw new DocumentError('sns-notification', 'md5', `expected 32 hex digits, got ${JSON.stringify(expected)}`);
  }
  const actual = md5Hex(bytes);
  if (actual !== expected.toLowerCase()) throw new Md5MismatchError(expected.toLowerCase(), actual);
}

/**
 * True when `candidate` is strictly newer than `lastApplied`. Sync tokens are epoch seconds as
 * decimal strings and are compared numerically (`"999"` < `"1000"`). With no last applied token,
 * every candidate is newer. An equal token is not newer: the same version is not applied twice.
 * @throws DocumentError when either token is not a decimal string
 */
export function isNewerSyncToken(candidate: string, lastApplied?: string): boolean {
  if (typeof candidate !== 'string' || !SYNC_TOKEN.test(candidate)) {
    throw new DocumentError('sns-notification', 'synctoken', `expected epoch seconds, got ${JSON.stringify(candidate)}`);
  }
  if (lastApplied === undefined || lastApplied === '') return true;
  if (!SYNC_TOKEN.test(lastApplied)) {
    throw new DocumentError('aws-ip-ranges', 'syncToken', `last applied token is not epoch seconds: ${JSON.stringify(lastApplied)}`);
  }
  return BigInt(candidate) > BigInt(lastApplied);
}

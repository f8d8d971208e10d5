import * as fs from 'fs';
import * as path from 'path';
import {
  DocumentError, isNewerSyncToken, Md5MismatchError, md5Hex, parseAwsIpRanges, parseCidrList, parseGithubMeta,
  parseSnsNotification, verifyMd5,
} from '../../src/ip-range-security-group/runtime/documents';
import { SHARED_DATA_DIR } from '../harness/shared-data';

const DATA = SHARED_DATA_DIR;
const AWS_FILES = ['ip-ranges-1501798332.json', 'ip-ranges-1784747826.json', 'ip-ranges-1784760425.json', 'ip-ranges-1784768825.json'];
const GITHUB_FILES = ['meta-2024-01-22T07-28-11Z.json', 'meta-2025-07-21T16-30-27Z.json', 'meta-2025-07-21T21-00-29Z.json'];

const awsBytes = (file: string): Buffer => fs.readFileSync(path.join(DATA, 'aws-ip-ranges', file));
const githubBytes = (file: string): Buffer => fs.readFileSync(path.join(DATA, 'github-meta', file));
const snsMessages: { file: string; message: Record<string, string> }[] = JSON.parse(
  fs.readFileSync(path.join(DATA, 'aws-ip-ranges', 'sns-messages.json'), 'utf-8'));

/** Runs fn, expects a DocumentError, returns it. */
function documentError(fn: () => unknown): DocumentError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DocumentError);
    return e as DocumentError;
  }
  throw new Error('expected a DocumentError');
}

const minimalAws = (over: Record<string, unknown> = {}): string => JSON.stringify({
  syncToken: '1784747826',
  createDate: '2026-07-22-19-17-06',
  prefixes: [{ ip_prefix: '3.4.12.4/32', region: 'eu-west-1', service: 'AMAZON', network_border_group: 'eu-west-1' }],
  ipv6_prefixes: [{ ipv6_prefix: '2600:1f18::/36', region: 'us-east-1', service: 'EC2', network_border_group: 'us-east-1' }],
  ...over,
});

describe('parseAwsIpRanges on the real documents', () => {
  const expected: Record<string, [number, number]> = {
    'ip-ranges-1501798332.json': [889, 330],
    'ip-ranges-1784747826.json': [10526, 5865],
    'ip-ranges-1784760425.json': [10526, 5873],
    'ip-ranges-1784768825.json': [10527, 5869],
  };

  test.each(AWS_FILES)('%s parses with every entry', (file) => {
    const doc = parseAwsIpRanges(awsBytes(file));
    expect(doc.syncToken).toBe(file.replace(/^ip-ranges-(\d+)\.json$/, '$1'));
    expect(doc.createDate).toMatch(/^\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}$/);
    expect([doc.prefixes.length, doc.ipv6Prefixes.length]).toEqual(expected[file]);
    expect(doc.prefixes.every((p) => !p.cidr.includes(':'))).toBe(true);
    expect(doc.ipv6Prefixes.every((p) => p.cidr.includes(':'))).toBe(true);
    // The text form gives the same document as the bytes.
    expect(parseAwsIpRanges(awsBytes(file).toString('utf-8'))).toEqual(doc);
  });

  test('the 2017 document has no network_border_group; the 2026 ones have it everywhere', () => {
    const old = parseAwsIpRanges(awsBytes(AWS_FILES[0]));
    expect([...old.prefixes, ...old.ipv6Prefixes].some((p) => 'networkBorderGroup' in p)).toBe(false);
    const recent = parseAwsIpRanges(awsBytes(AWS_FILES[3]));
    expect([...recent.prefixes, ...recent.ipv6Prefixes].every((p) => typeof p.networkBorderGroup === 'string')).toBe(true);
    expect(recent.prefixes[0]).toEqual({ cidr: '3.4.12.4/32', region: 'eu-west-1', service: 'AMAZON', networkBorderGroup: 'eu-west-1' });
  });
});

describe('parseAwsIpRanges errors name the field', () => {
  test('truncated JSON (a real document cut in half)', () => {
    const bytes = awsBytes(AWS_FILES[1]);
    const err = documentError(() => parseAwsIpRanges(bytes.subarray(0, Math.floor(bytes.length / 2))));
    expect(err.field).toBe('$');
    expect(err.document).toBe('aws-ip-ranges');
    expect(err.message).toMatch(/^Invalid aws-ip-ranges document: \$: not valid JSON/);
  });

  test('empty body, invalid UTF-8, non-object root', () => {
    expect(documentError(() => parseAwsIpRanges('  ')).message).toContain('empty document');
    expect(documentError(() => parseAwsIpRanges(new Uint8Array([0x7b, 0xff, 0x7d]))).message).toContain('not valid UTF-8');
    expect(documentError(() => parseAwsIpRanges('[]')).message).toContain('$: expected an object, got []');
  });

  test('missing prefixes', () => {
    const doc = JSON.parse(minimalAws());
    delete doc.prefixes;
    const err = documentError(() => parseAwsIpRanges(JSON.stringify(doc)));
    expect(err.field).toBe('prefixes');
    expect(err.message).toBe('Invalid aws-ip-ranges document: prefixes: expected an array, got missing');
  });

  test('a bad ip_prefix deep in a real document', () => {
    const doc = JSON.parse(awsBytes(AWS_FILES[3]).toString('utf-8'));
    doc.prefixes[12].ip_prefix = '52.94.0.0/33';
    const err = documentError(() => parseAwsIpRanges(JSON.stringify(doc)));
    expect(err.field).toBe('prefixes[12].ip_prefix');
    expect(err.message).toContain('prefixes[12].ip_prefix: expected an IPv4 CIDR, got "52.94.0.0/33"');
  });

  test.each([
    [{ prefixes: [{ ip_prefix: '2600:1f18::/36', region: 'r', service: 's' }] }, 'prefixes[0].ip_prefix', 'got the IPv6 CIDR'],
    [{ ipv6_prefixes: [{ ipv6_prefix: '10.0.0.0/8', region: 'r', service: 's' }] }, 'ipv6_prefixes[0].ipv6_prefix', 'got the IPv4 CIDR'],
    [{ ipv6_prefixes: [{ ip_prefix: '2600:1f18::/36', region: 'r', service: 's' }] }, 'ipv6_prefixes[0].ipv6_prefix', 'got missing'],
    [{ prefixes: [{ ip_prefix: '10.0.0.0/8', service: 's' }] }, 'prefixes[0].region', 'non-empty string'],
    [{ prefixes: [{ ip_prefix: '10.0.0.0/8', region: 'r', service: '' }] }, 'prefixes[0].service', 'non-empty string'],
    [{ prefixes: [{ ip_prefix: '10.0.0.0/8', region: 'r', service: 's', network_border_group: 7 }] }, 'prefixes[0].network_border_group', 'got 7'],
    [{ prefixes: ['10.0.0.0/8'] }, 'prefixes[0]', 'expected an object'],
    [{ syncToken: 'yesterday' }, 'syncToken', 'unexpected format'],
    [{ syncToken: 1784747826 }, 'syncToken', 'non-empty string'],
    [{ createDate: '2026-07-22' }, 'createDate', 'unexpected format'],
    [{ ipv6_prefixes: null }, 'ipv6_prefixes', 'expected an array, got null'],
  ])('%j -> %s', (override, field, text) => {
    const err = documentError(() => parseAwsIpRanges(minimalAws(override)));
    expect(err.field).toBe(field);
    expect(err.message).toContain(text);
  });

  test('unknown extra fields are ignored', () => {
    expect(parseAwsIpRanges(minimalAws({ newField: { x: 1 } })).prefixes).toHaveLength(1);
  });
});

describe('SNS notification, MD5 and sync tokens', () => {
  test.each(snsMessages.map((m) => [m.file, m.message]))('%s: the notification parses and its md5 matches the bytes', (file, message) => {
    const note = parseSnsNotification(JSON.stringify(message));
    const bytes = awsBytes(file as string);
    expect(md5Hex(bytes)).toBe(note.md5);
    expect(() => verifyMd5(bytes, note.md5)).not.toThrow();
    expect(() => verifyMd5(bytes, note.md5.toUpperCase())).not.toThrow();
    const doc = parseAwsIpRanges(bytes);
    expect(note.syncToken).toBe(doc.syncToken);
    // create-time is createDate in ISO form.
    const [y, mo, d, h, mi, s] = doc.createDate.split('-');
    expect(note.createTime).toBe(`${y}-${mo}-${d}T${h}:${mi}:${s}+00:00`);
    expect(note.url).toBe('https://ip-ranges.amazonaws.com/ip-ranges.json');
  });

  test('md5 mismatch: one changed byte', () => {
    const bytes = Buffer.from(awsBytes(AWS_FILES[2]));
    const expected = md5Hex(bytes);
    bytes[100] = bytes[100] === 0x20 ? 0x09 : 0x20; // flip a byte
    let err: unknown;
    try {
      verifyMd5(bytes, expected);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Md5MismatchError);
    expect(err).toBeInstanceOf(DocumentError);
    const mismatch = err as Md5MismatchError;
    expect(mismatch.expected).toBe(expected);
    expect(mismatch.actual).toBe(md5Hex(bytes));
    expect(mismatch.actual).not.toBe(expected);
    expect(mismatch.field).toBe('md5');
  });

  test('md5 of a string is the md5 of its UTF-8 bytes; a malformed expected md5 is rejected', () => {
    expect(md5Hex('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(md5Hex('é')).toBe(md5Hex(Buffer.from('é', 'utf-8')));
    expect(documentError(() => verifyMd5('x', 'abc')).field).toBe('md5');
  });

  test('successive real synctokens are newer; the same or an older one is stale', () => {
    const tokens = snsMessages.map((m) => m.message.synctoken);
    for (let i = 1; i < tokens.length; i++) {
      expect(isNewerSyncToken(tokens[i], tokens[i - 1])).toBe(true);
      expect(isNewerSyncToken(tokens[i - 1], tokens[i])).toBe(false);
      expect(isNewerSyncToken(tokens[i], tokens[i])).toBe(false);
    }
    expect(isNewerSyncToken(tokens[0])).toBe(true);
    expect(isNewerSyncToken(tokens[0], '')).toBe(true);
  });

  test('sync tokens compare numerically, not as text', () => {
    expect(isNewerSyncToken('1000', '999')).toBe(true);
    expect(isNewerSyncToken('999', '1000')).toBe(false);
    expect(isNewerSyncToken('10000000000000000001', '10000000000000000000')).toBe(true);
  });

  test('malformed sync tokens are errors, not "newer"', () => {
    expect(documentError(() => isNewerSyncToken('abc', '1')).field).toBe('synctoken');
    expect(documentError(() => isNewerSyncToken('1.5')).field).toBe('synctoken');
    expect(documentError(() => isNewerSyncToken('2', 'x')).field).toBe('syncToken');
  });

  const good = { 'create-time': '2026-07-22T19:17:06+00:00', 'synctoken': '1784747826', 'md5': 'D6FDF6BBFFE13C3628EB5C04520CC517', 'url': 'https://ip-ranges.amazonaws.com/ip-ranges.json' };

  test('md5 is normalised to lower case', () => {
    expect(parseSnsNotification(JSON.stringify(good)).md5).toBe('d6fdf6bbffe13c3628eb5c04520cc517');
  });

  test.each([
    ['md5', { md5: undefined }, 'got missing'],
    ['md5', { md5: 'not-an-md5' }, 'unexpected format'],
    ['synctoken', { synctoken: 'soon' }, 'unexpected format'],
    ['create-time', { 'create-time': 'yesterday' }, 'unexpected format'],
    ['url', { url: 'http://ip-ranges.amazonaws.com/ip-ranges.json' }, 'expected an https URL'],
    ['url', { url: 'not a url' }, 'expected an https URL'],
  ])('bad notification field %s', (field, override, text) => {
    const err = documentError(() => parseSnsNotification(JSON.stringify({ ...good, ...override })));
    expect(err.field).toBe(field);
    expect(err.document).toBe('sns-notification');
    expect(err.message).toContain(text);
  });

  test('a truncated notification', () => {
    expect(documentError(() => parseSnsNotification(JSON.stringify(good).slice(0, 40))).field).toBe('$');
  });
});

describe('parseGithubMeta', () => {
  test.each(GITHUB_FILES)('%s: CIDR lists become services, the rest is set aside', (file) => {
    const meta = parseGithubMeta(githubBytes(file));
    for (const key of ['hooks', 'web', 'api', 'git', 'actions', 'dependabot', 'packages', 'pages', 'importer']) {
      expect(meta.services[key]).toEqual(expect.any(Array));
    }
    expect(Object.keys(meta.services)).not.toContain('ssh_keys');
    expect(Object.keys(meta.services)).not.toContain('verifiable_password_authentication');
    expect(Object.keys(meta.services)).not.toContain('domains');
    expect(Object.keys(meta.services)).not.toContain('ssh_key_fingerprints');
    expect(meta.nonCidrLists.ssh_keys).toMatch(/^ssh_keys\[0\]: expected a CIDR, got "ssh-ed25519/);
    expect(meta.services.hooks).toEqual(['192.30.252.0/22', '185.199.108.0/22', '140.82.112.0/20', '143.55.64.0/20', '2a0a:a440::/29', '2606:50c0::/32']);
  });

  test('actions sizes in the three snapshots', () => {
    expect(GITHUB_FILES.map((f) => parseGithubMeta(githubBytes(f)).services.actions.length)).toEqual([4187, 5307, 5314]);
  });

  test('a corrupt element turns the key into a non-CIDR list naming the element', () => {
    const doc = JSON.parse(githubBytes(GITHUB_FILES[2]).toString('utf-8'));
    doc.actions[3] = '4.148.0.0/33';
    const meta = parseGithubMeta(JSON.stringify(doc));
    expect(meta.services.actions).toBeUndefined();
    expect(meta.nonCidrLists.actions).toBe('actions[3]: expected a CIDR, got "4.148.0.0/33"');
    expect(meta.services.hooks).toHaveLength(6);
  });

  test('keys are plain keys, even __proto__', () => {
    const meta = parseGithubMeta('{"__proto__": ["10.0.0.0/8"], "constructor": "x", "hooks": ["192.30.252.0/22"]}');
    expect(Object.keys(meta.services)).toEqual(['__proto__', 'hooks']);
    expect(meta.services.__proto__).toEqual(['10.0.0.0/8']);
  });

  test('a rate-limit answer is not a meta document', () => {
    const err = documentError(() => parseGithubMeta(JSON.stringify({ message: 'API rate limit exceeded for 1.2.3.4.', documentation_url: 'https://docs.github.com' })));
    expect(err.field).toBe('$');
    expect(err.message).toContain('no array of CIDRs found (the response says "API rate limit exceeded');
  });

  test('truncated and non-object bodies', () => {
    const bytes = githubBytes(GITHUB_FILES[1]);
    expect(documentError(() => parseGithubMeta(bytes.subarray(0, 5000))).message).toContain('not valid JSON');
    expect(documentError(() => parseGithubMeta('["10.0.0.0/8"]')).message).toContain('expected an object');
  });
});

describe('parseCidrList', () => {
  test('a top-level array, both families', () => {
    expect(parseCidrList('["10.0.0.0/8", "2001:db8::/32"]')).toEqual(['10.0.0.0/8', '2001:db8::/32']);
  });

  test('an object with jsonKey', () => {
    expect(parseCidrList(JSON.stringify({ ranges: ['10.0.0.0/8'], updated: 'x' }), { jsonKey: 'ranges' })).toEqual(['10.0.0.0/8']);
    expect(parseCidrList(JSON.stringify({ 'ip ranges': ['10.0.0.0/8'] }), { jsonKey: 'ip ranges' })).toEqual(['10.0.0.0/8']);
  });

  test.each([
    ['["10.0.0.0/8", "10.0.0.300/32"]', {}, '[1]', 'expected a CIDR, got "10.0.0.300/32"'],
    ['["10.0.0.0/8", 42]', {}, '[1]', 'got 42'],
    ['["10.0.0.1"]', {}, '[0]', 'expected a CIDR'],
    ['{"ranges": ["10.0.0.0/8"]}', {}, '$', 'set jsonKey'],
    ['{"ranges": ["10.0.0.0/8"]}', { jsonKey: 'cidrs' }, 'cidrs', 'expected an array, got missing'],
    ['{"ranges": ["10.0.0.0/8", "x"]}', { jsonKey: 'ranges' }, 'ranges[1]', 'got "x"'],
    ['{"weird key": ["x"]}', { jsonKey: 'weird key' }, '"weird key"[0]', 'got "x"'],
    ['["10.0.0.0/8"', {}, '$', 'not valid JSON'],
    ['["10.0.0.0/8"]', { jsonKey: 'ranges' }, '$', 'expected an object'],
  ])('%s %j -> %s', (text, options, field, message) => {
    const err = documentError(() => parseCidrList(text, options));
    expect(err.field).toBe(field);
    expect(err.document).toBe('cidr-list');
    expect(err.message).toContain(message);
  });
});

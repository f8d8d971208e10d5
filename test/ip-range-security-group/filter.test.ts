import * as fs from 'fs';
import * as path from 'path';
import { AwsIpRangesDocument, GithubMetaDocument, parseAwsIpRanges, parseGithubMeta } from '../../src/ip-range-security-group/runtime/documents';
import { FilterError, selectAwsCidrs, selectGithubCidrs, selectListCidrs } from '../../src/ip-range-security-group/runtime/filter';
import { SHARED_DATA_DIR } from '../harness/shared-data';

const DATA = SHARED_DATA_DIR;
const aws = (file: string): AwsIpRangesDocument => parseAwsIpRanges(fs.readFileSync(path.join(DATA, 'aws-ip-ranges', file)));
const github = (file: string): GithubMetaDocument => parseGithubMeta(fs.readFileSync(path.join(DATA, 'github-meta', file)));

function filterError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FilterError);
    return (e as Error).message;
  }
  throw new Error('expected a FilterError');
}

describe('selectAwsCidrs on the real documents', () => {
  const newest = aws('ip-ranges-1784768825.json');
  const old = aws('ip-ranges-1501798332.json');

  test('EC2 us-east-1: 290 IPv4 and 206 IPv6 prefixes in the newest document', () => {
    const sel = selectAwsCidrs(newest, { services: ['EC2'], regions: ['us-east-1'] });
    expect(sel.ipv4).toHaveLength(290);
    expect(sel.ipv6).toHaveLength(206);
    expect(new Set(sel.ipv4).size).toBe(290);
    const expectedV4 = newest.prefixes.filter((p) => p.service === 'EC2' && p.region === 'us-east-1').map((p) => p.cidr);
    expect(sel.ipv4).toEqual(expectedV4);
  });

  test('IPv4 and IPv6 switches', () => {
    const v4 = selectAwsCidrs(newest, { services: ['EC2'], regions: ['us-east-1'], ipv6: false });
    expect([v4.ipv4.length, v4.ipv6.length]).toEqual([290, 0]);
    const v6 = selectAwsCidrs(newest, { services: ['EC2'], regions: ['us-east-1'], ipv4: false });
    expect([v6.ipv4.length, v6.ipv6.length]).toEqual([0, 206]);
    expect(filterError(() => selectAwsCidrs(newest, { services: ['EC2'], ipv4: false, ipv6: false }))).toContain('Both ipv4 and ipv6 are disabled');
  });

  test('network border groups narrow a region to its parent zone', () => {
    const sel = selectAwsCidrs(newest, { services: ['EC2'], regions: ['us-east-1'], networkBorderGroups: ['us-east-1'] });
    expect([sel.ipv4.length, sel.ipv6.length]).toEqual([201, 176]);
    const local = selectAwsCidrs(newest, { services: ['EC2'], networkBorderGroups: ['us-east-1-bos-1'] });
    expect([local.ipv4.length, local.ipv6.length]).toEqual([4, 1]);
  });

  test('several services and regions; GLOBAL is a region', () => {
    const cf = selectAwsCidrs(newest, { services: ['CLOUDFRONT'], regions: ['GLOBAL'], ipv6: false });
    expect(cf.ipv4).toHaveLength(116);
    const both = selectAwsCidrs(newest, { services: ['CLOUDFRONT', 'ROUTE53'], regions: ['GLOBAL'], ipv6: false });
    expect(both.ipv4).toHaveLength(121);
  });

  test('AMAZON repeats the CIDRs of specific services', () => {
    const ec2 = selectAwsCidrs(newest, { services: ['EC2'], regions: ['us-east-1'], ipv6: false }).ipv4;
    const amazon = new Set(selectAwsCidrs(newest, { services: ['AMAZON'], regions: ['us-east-1'], ipv6: false }).ipv4);
    expect(ec2.filter((c) => amazon.has(c)).length).toBeGreaterThan(200);
  });

  test('the 2017 document: services and regions work, network border groups cannot match', () => {
    const sel = selectAwsCidrs(old, { services: ['EC2'], regions: ['us-east-1'] });
    expect([sel.ipv4.length, sel.ipv6.length]).toEqual([49, 4]);
    expect(filterError(() => selectAwsCidrs(old, { services: ['EC2'], networkBorderGroups: ['us-east-1'] })))
      .toContain('Unknown network border group "us-east-1": not in the document (values are case-sensitive; available: none)');
  });

  test('unknown service and region are errors that list what exists', () => {
    const msg = filterError(() => selectAwsCidrs(newest, { services: ['Ec2'] }));
    expect(msg).toContain('Unknown service "Ec2"');
    expect(msg).toContain('AMAZON, AMAZON_APPFLOW');
    expect(msg).toContain(' EC2, ');
    expect(filterError(() => selectAwsCidrs(newest, { services: ['EC2'], regions: ['us-east-9', 'eu-west-1'] })))
      .toMatch(/^Unknown region "us-east-9": not in the document/);
  });

  test('a valid filter that matches nothing is an error, not an empty set', () => {
    expect(filterError(() => selectAwsCidrs(newest, { services: ['ROUTE53'], regions: ['us-east-1'] })))
      .toBe('No IPv4 and IPv6 prefix matches services ROUTE53, regions us-east-1 in the document of 2026-07-23-01-07-05');
    expect(selectAwsCidrs(newest, { services: ['AMAZON_APPFLOW'], regions: ['us-east-1'] }).ipv6).toEqual([]);
    expect(filterError(() => selectAwsCidrs(newest, { services: ['AMAZON_APPFLOW'], regions: ['us-east-1'], ipv4: false })))
      .toContain('No IPv6 prefix matches services AMAZON_APPFLOW, regions us-east-1');
  });

  test('empty criteria lists are errors', () => {
    expect(filterError(() => selectAwsCidrs(newest, { services: [] }))).toBe('services must list at least one value');
    expect(filterError(() => selectAwsCidrs(newest, { services: ['EC2'], regions: [] }))).toBe('regions must list at least one value');
  });
});

describe('selectGithubCidrs', () => {
  const meta = github('meta-2025-07-21T21-00-29Z.json');

  test('hooks, split by family', () => {
    expect(selectGithubCidrs(meta, { services: ['hooks'] })).toEqual({
      ipv4: ['192.30.252.0/22', '185.199.108.0/22', '140.82.112.0/20', '143.55.64.0/20'],
      ipv6: ['2a0a:a440::/29', '2606:50c0::/32'],
    });
    expect(selectGithubCidrs(meta, { services: ['hooks'], ipv6: false }).ipv6).toEqual([]);
  });

  test('several services; a repeated service is taken once', () => {
    const sel = selectGithubCidrs(meta, { services: ['actions', 'dependabot', 'actions'] });
    expect(sel.ipv4.length + sel.ipv6.length).toBe(5314 + 3);
    expect([sel.ipv4.length, sel.ipv6.length]).toEqual([4343, 974]);
  });

  test('unknown service: names it and lists the available keys', () => {
    const msg = filterError(() => selectGithubCidrs(meta, { services: ['hook'] }));
    expect(msg).toContain('Unknown GitHub meta service "hook"');
    expect(msg).toContain('available: actions, actions_macos, api, codespaces, copilot, dependabot, git, github_enterprise_importer, hooks, importer, packages, pages, web');
  });

  test('a key that is not a CIDR list', () => {
    expect(filterError(() => selectGithubCidrs(meta, { services: ['ssh_keys'] })))
      .toContain('GitHub meta key "ssh_keys" is not a list of CIDRs (ssh_keys[0]: expected a CIDR');
  });

  test('IPv6 only from an IPv4-only service selects nothing: an error', () => {
    expect(filterError(() => selectGithubCidrs(meta, { services: ['dependabot'], ipv4: false })))
      .toBe('No IPv6 CIDR in GitHub meta services dependabot');
  });
});

describe('selectListCidrs', () => {
  test('splits by family and applies the switches', () => {
    const list = ['10.0.0.0/8', '2001:db8::/32', '192.168.0.0/16'];
    expect(selectListCidrs(list)).toEqual({ ipv4: ['10.0.0.0/8', '192.168.0.0/16'], ipv6: ['2001:db8::/32'] });
    expect(selectListCidrs(list, { ipv4: false })).toEqual({ ipv4: [], ipv6: ['2001:db8::/32'] });
    expect(filterError(() => selectListCidrs(['10.0.0.0/8'], { ipv4: false }))).toBe('No IPv6 CIDR in the CIDR list');
    expect(filterError(() => selectListCidrs([]))).toBe('No IPv4 and IPv6 CIDR in the CIDR list');
  });

  test('rejects an unvalidated value', () => {
    expect(() => selectListCidrs(['10.0.0.0/8', 'nope'])).toThrow('Invalid CIDR "nope"');
  });
});

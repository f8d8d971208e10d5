/**
 * Selection of CIDRs from a validated document: by service, region, network border group and
 * address family. The result is not merged yet; pass it to `minimalCover`.
 *
 * Pure logic, no AWS client.
 */
import { cidrFamily } from './cidr';
import { AwsIpPrefix, AwsIpRangesDocument, GithubMetaDocument } from './documents';

/** The selection is impossible (unknown service or region, no family enabled, nothing matched). */
export class FilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilterError';
  }
}

/** Address-family switches shared by every source. */
export interface FamilySwitches {
  /**
   * Include IPv4 CIDRs.
   * @default true
   */
  readonly ipv4?: boolean;
  /**
   * Include IPv6 CIDRs.
   * @default true
   */
  readonly ipv6?: boolean;
}

/** What to take from AWS ip-ranges.json. An entry must match every given criterion. */
export interface AwsIpRangesFilter extends FamilySwitches {
  /** Services as published, case-sensitive (`EC2`, `CLOUDFRONT`, `AMAZON`...). At least one. */
  readonly services: readonly string[];
  /**
   * Regions as published (`us-east-1`, `GLOBAL`...).
   * @default - every region
   */
  readonly regions?: readonly string[];
  /**
   * Network border groups as published (`us-east-1`, `us-east-1-bos-1`...). Entries without a
   * network border group (documents before 2019) never match this criterion.
   * @default - every network border group
   */
  readonly networkBorderGroups?: readonly string[];
}

/** What to take from api.github.com/meta. */
export interface GithubMetaFilter extends FamilySwitches {
  /** Keys of the document (`hooks`, `web`, `api`, `git`, `actions`, `dependabot`...). At least one. */
  readonly services: readonly string[];
}

/** CIDRs selected from a document, as published (not merged), per address family. */
export interface SelectedCidrs {
  /** IPv4 CIDRs in document order; duplicates possible. */
  readonly ipv4: string[];
  /** IPv6 CIDRs in document order; duplicates possible. */
  readonly ipv6: string[];
}

function switches(filter: FamilySwitches): { ipv4: boolean; ipv6: boolean } {
  const ipv4 = filter.ipv4 ?? true;
  const ipv6 = filter.ipv6 ?? true;
  if (!ipv4 && !ipv6) throw new FilterError('Both ipv4 and ipv6 are disabled: nothing can be selected');
  return { ipv4, ipv6 };
}

function requireNonEmpty(name: string, values: readonly string[] | undefined, optional: boolean): void {
  if (values === undefined && optional) return;
  if (!values || values.length === 0) throw new FilterError(`${name} must list at least one value`);
}

function checkKnown(name: string, wanted: readonly string[] | undefined, available: Set<string>): void {
  if (!wanted) return;
  const unknown = wanted.filter((w) => !available.has(w));
  if (unknown.length > 0) {
    const list = [...available].sort();
    throw new FilterError(
      `Unknown ${name} ${unknown.map((u) => JSON.stringify(u)).join(', ')}: not in the document ` +
      `(values are case-sensitive; available: ${list.length ? list.join(', ') : 'none'})`,
    );
  }
}

function describeFilter(filter: AwsIpRangesFilter): string {
  const parts = [`services ${filter.services.join(',')}`];
  if (filter.regions) parts.push(`regions ${filter.regions.join(',')}`);
  if (filter.networkBorderGroups) parts.push(`network border groups ${filter.networkBorderGroups.join(',')}`);
  return parts.join(', ');
}

/**
 * Selects CIDRs from AWS ip-ranges.json. A service, region or network border group that appears
 * nowhere in the document is an error (a typo must not silently select nothing), and so is a
 * filter that matches no entry at all.
 * @throws FilterError on an impossible or empty selection
 */
export function selectAwsCidrs(doc: AwsIpRangesDocument, filter: AwsIpRangesFilter): SelectedCidrs {
  const fam = switches(filter);
  requireNonEmpty('services', filter.services, false);
  requireNonEmpty('regions', filter.regions, true);
  requireNonEmpty('networkBorderGroups', filter.networkBorderGroups, true);
  const all = [...doc.prefixes, ...doc.ipv6Prefixes];
  checkKnown('service', filter.services, new Set(all.map((p) => p.service)));
  checkKnown('region', filter.regions, new Set(all.map((p) => p.region)));
  checkKnown('network border group', filter.networkBorderGroups,
    new Set(all.flatMap((p) => (p.networkBorderGroup === undefined ? [] : [p.networkBorderGroup]))));

  const services = new Set(filter.services);
  const regions = filter.regions ? new Set(filter.regions) : undefined;
  const groups = filter.networkBorderGroups ? new Set(filter.networkBorderGroups) : undefined;
  const matches = (p: AwsIpPrefix): boolean =>
    services.has(p.service)
    && (!regions || regions.has(p.region))
    && (!groups || (p.networkBorderGroup !== undefined && groups.has(p.networkBorderGroup)));

  const ipv4 = fam.ipv4 ? doc.prefixes.filter(matches).map((p) => p.cidr) : [];
  const ipv6 = fam.ipv6 ? doc.ipv6Prefixes.filter(matches).map((p) => p.cidr) : [];
  if (ipv4.length + ipv6.length === 0) {
    const families = [fam.ipv4 ? 'IPv4' : undefined, fam.ipv6 ? 'IPv6' : undefined].filter(Boolean).join(' and ');
    throw new FilterError(`No ${families} prefix matches ${describeFilter(filter)} in the document of ${doc.createDate}`);
  }
  return { ipv4, ipv6 };
}

/**
 * Selects CIDRs from api.github.com/meta. An unknown key is an error that lists the available
 * ones; so is a key whose array is not a list of CIDRs (`ssh_keys`), and a selection that yields
 * no CIDR at all.
 * @throws FilterError on an impossible or empty selection
 */
export function selectGithubCidrs(meta: GithubMetaDocument, filter: GithubMetaFilter): SelectedCidrs {
  const fam = switches(filter);
  requireNonEmpty('services', filter.services, false);
  for (const service of filter.services) {
    if (Object.prototype.hasOwnProperty.call(meta.nonCidrLists, service)) {
      throw new FilterError(`GitHub meta key ${JSON.stringify(service)} is not a list of CIDRs (${meta.nonCidrLists[service]})`);
    }
  }
  checkKnown('GitHub meta service', filter.services, new Set(Object.keys(meta.services)));
  const picked = [...new Set(filter.services)].flatMap((s) => meta.services[s]);
  return selectFamilies(picked, fam, `GitHub meta services ${filter.services.join(',')}`);
}

/**
 * Applies the address-family switches to a plain list of CIDRs (a generic URL source).
 * @throws FilterError when both families are off or nothing is left
 * @throws InvalidCidrError when a value is not a CIDR (validate with `parseCidrList` first)
 */
export function selectListCidrs(cidrs: readonly string[], filter: FamilySwitches = {}): SelectedCidrs {
  return selectFamilies(cidrs, switches(filter), 'the CIDR list');
}

function selectFamilies(cidrs: readonly string[], fam: { ipv4: boolean; ipv6: boolean }, what: string): SelectedCidrs {
  const ipv4 = fam.ipv4 ? cidrs.filter((c) => cidrFamily(c) === 'ipv4') : [];
  const ipv6 = fam.ipv6 ? cidrs.filter((c) => cidrFamily(c) === 'ipv6') : [];
  if (ipv4.length + ipv6.length === 0) {
    const families = [fam.ipv4 ? 'IPv4' : undefined, fam.ipv6 ? 'IPv6' : undefined].filter(Boolean).join(' and ');
    throw new FilterError(`No ${families} CIDR in ${what}`);
  }
  return { ipv4, ipv6 };
}

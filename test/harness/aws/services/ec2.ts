/**
 * EC2 on the wire (EC2 query protocol, XML answers): security-group ingress rules and customer
 * managed prefix lists, with the semantics the IP-sync handler relies on:
 * - the rules-per-group quota, counted separately for IPv4 and IPv6 inbound rules, and
 *   AuthorizeSecurityGroupIngress all-or-nothing (`RulesPerSecurityGroupLimitExceeded`,
 *   `InvalidPermission.Duplicate`: nothing of the call is applied);
 * - RevokeSecurityGroupIngress as in a non-default VPC: an unknown rule fails the whole call with
 *   `InvalidPermission.NotFound` (`InvalidSecurityGroupRuleId.NotFound` by id), nothing revoked;
 * - prefix lists with versions (`CurrentVersion` is an optimistic lock), max entries, at most 100
 *   entries added or removed per call, `modify-in-progress` after a change.
 */
import { AwsError, ec2Response, parseQueryBody, WireRequest, WireResponse } from '../protocols';
import { ServiceModule } from '../wire-server';

/** One ingress rule as EC2 stores it. */
export interface Ec2Rule {
  readonly securityGroupRuleId: string;
  readonly groupId: string;
  readonly ipProtocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  readonly cidrIpv4?: string;
  readonly cidrIpv6?: string;
  readonly prefixListId?: string;
  /** A rule whose peer is a security group (UserIdGroupPairs). */
  readonly referencedGroupId?: string;
  readonly referencedUserId?: string;
  /** Egress rules are kept apart (Authorize/RevokeSecurityGroupEgress). */
  readonly isEgress?: boolean;
  readonly description?: string;
}

interface PrefixListState {
  version: number;
  maxEntries: number;
  addressFamily: 'IPv4' | 'IPv6';
  name: string;
  entries: Array<{ cidr: string; description?: string }>;
  /** Describe calls left that still answer modify-in-progress. */
  busyChecks: number;
}

export class Ec2Service implements ServiceModule {
  public readonly signingNames = ['ec2'];
  public readonly endpointEnvNames = ['EC2'];
  public readonly protocol = 'ec2' as const;
  /** Inbound rules allowed per group and family (the L-0EA8095F quota). */
  public rulesPerGroup = 60;
  /** Describe calls that report modify-in-progress after each prefix-list change. */
  public prefixListBusyChecks = 1;
  private readonly groups = new Map<string, Ec2Rule[]>();
  private readonly egress = new Map<string, Ec2Rule[]>();
  private readonly prefixLists = new Map<string, PrefixListState>();
  private nextRule = 1;

  public action(req: WireRequest): string {
    return String(parseQueryBody(req.body).Action ?? '');
  }

  public decode(req: WireRequest): unknown {
    return parseQueryBody(req.body);
  }

  // --- seeding and inspection --------------------------------------------------------------------

  /**
   * Creates a security group. A VPC's default group (`defaultRules`) comes with its default rules:
   * all traffic from itself in, all traffic to 0.0.0.0/0 out.
   */
  public createSecurityGroup(groupId: string, options: { defaultRules?: boolean; ownerId?: string } = {}): void {
    if (this.groups.has(groupId)) return;
    this.groups.set(groupId, []);
    this.egress.set(groupId, []);
    if (options.defaultRules) {
      this.groups.get(groupId)!.push({
        securityGroupRuleId: this.ruleId(),
        groupId,
        ipProtocol: '-1',
        fromPort: -1,
        toPort: -1,
        referencedGroupId: groupId,
        referencedUserId: options.ownerId ?? '123456789012',
      });
      this.egress.get(groupId)!.push({
        securityGroupRuleId: this.ruleId(), groupId, ipProtocol: '-1', fromPort: -1, toPort: -1, cidrIpv4: '0.0.0.0/0', isEgress: true,
      });
    }
  }

  /** The egress rules of a group. */
  public egressRulesOf(groupId: string): Ec2Rule[] {
    const rules = this.egress.get(groupId);
    if (!rules) throw new Error(`Ec2Service: no security group ${groupId}`);
    return rules;
  }

  public createPrefixList(id: string, options: { maxEntries: number; addressFamily?: 'IPv4' | 'IPv6'; name?: string }): void {
    this.prefixLists.set(id, {
      version: 1, maxEntries: options.maxEntries, addressFamily: options.addressFamily ?? 'IPv4', name: options.name ?? id, entries: [], busyChecks: 0,
    });
  }

  /** Adds a rule by hand (one a person created, or one that is already there). */
  public addRule(groupId: string, rule: Omit<Ec2Rule, 'securityGroupRuleId' | 'groupId'>): Ec2Rule {
    const stored = { ...rule, groupId, securityGroupRuleId: this.ruleId() };
    this.rulesOf(groupId).push(stored);
    return stored;
  }

  public rulesOf(groupId: string): Ec2Rule[] {
    const rules = this.groups.get(groupId);
    if (!rules) throw new Error(`Ec2Service: no security group ${groupId}`);
    return rules;
  }

  public cidrsOf(groupId: string): string[] {
    return this.rulesOf(groupId).map((r) => (r.cidrIpv4 ?? r.cidrIpv6)!).filter(Boolean);
  }

  public prefixList(id: string): { version: number; maxEntries: number; cidrs: string[] } {
    const pl = this.prefixLists.get(id);
    if (!pl) throw new Error(`Ec2Service: no prefix list ${id}`);
    return { version: pl.version, maxEntries: pl.maxEntries, cidrs: pl.entries.map((e) => e.cidr) };
  }

  /** Another actor changes the list (its version moves on). */
  public modifyPrefixListOutOfBand(id: string, add: string[]): void {
    const pl = this.prefixLists.get(id)!;
    pl.entries.push(...add.map((cidr) => ({ cidr })));
    pl.version++;
  }

  // --- the API -----------------------------------------------------------------------------------

  public handle(req: WireRequest, action: string): WireResponse {
    const input = parseQueryBody(req.body);
    switch (action) {
      case 'DescribeSecurityGroupRules': return this.describeSecurityGroupRules(input);
      case 'AuthorizeSecurityGroupIngress': return this.authorize(input, 'Ingress');
      case 'RevokeSecurityGroupIngress': return this.revoke(input, 'Ingress');
      case 'AuthorizeSecurityGroupEgress': return this.authorize(input, 'Egress');
      case 'RevokeSecurityGroupEgress': return this.revoke(input, 'Egress');
      case 'DescribeManagedPrefixLists': return this.describePrefixLists(input);
      case 'GetManagedPrefixListEntries': return this.prefixListEntries(input);
      case 'ModifyManagedPrefixList': return this.modifyPrefixList(input);
      default: throw new AwsError('InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  }

  private ruleId(): string {
    return `sgr-${(this.nextRule++).toString(16).padStart(17, '0')}`;
  }

  private group(groupId: string | undefined): Ec2Rule[] {
    const rules = groupId ? this.groups.get(groupId) : undefined;
    if (!rules) throw new AwsError('InvalidGroup.NotFound', `The security group '${groupId}' does not exist`);
    return rules;
  }

  private describeSecurityGroupRules(input: Record<string, any>): WireResponse {
    const filters: Array<{ Name: string; Value: string[] }> = input.Filter ?? [];
    const groupIds = filters.find((f) => f.Name === 'group-id')?.Value ?? [...this.groups.keys()];
    const max = Number(input.MaxResults ?? 1000);
    if (max < 5 || max > 1000) throw new AwsError('InvalidParameterValue', `Value (${max}) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`);
    const all = groupIds.flatMap((id) => [...(this.groups.get(id) ?? []), ...(this.egress.get(id) ?? [])]);
    const start = Number(input.NextToken ?? 0);
    const page = all.slice(start, start + max);
    return ec2Response('DescribeSecurityGroupRules', {
      securityGroupRuleSet: page.map((r) => this.ruleXml(r)),
      nextToken: start + max < all.length ? String(start + max) : undefined,
    });
  }

  private ruleXml(r: Ec2Rule): Record<string, unknown> {
    return {
      securityGroupRuleId: r.securityGroupRuleId,
      groupId: r.groupId,
      groupOwnerId: '123456789012',
      isEgress: r.isEgress ?? false,
      ipProtocol: r.ipProtocol,
      fromPort: r.fromPort,
      toPort: r.toPort,
      cidrIpv4: r.cidrIpv4,
      cidrIpv6: r.cidrIpv6,
      prefixListId: r.prefixListId,
      referencedGroupInfo: r.referencedGroupId ? { groupId: r.referencedGroupId, userId: r.referencedUserId } : undefined,
      description: r.description,
    };
  }

  /** IpPermissions.N.* as EC2 rules (one per CIDR or prefix list). */
  private expand(groupId: string, perms: Array<Record<string, any>>): Array<Omit<Ec2Rule, 'securityGroupRuleId'>> {
    return perms.flatMap((p) => {
      const protocol = String(p.IpProtocol ?? '-1');
      const all = protocol === '-1';
      const base = { groupId, ipProtocol: protocol, fromPort: all ? -1 : Number(p.FromPort ?? -1), toPort: all ? -1 : Number(p.ToPort ?? -1) };
      return [
        ...(p.IpRanges ?? []).map((r: any) => ({ ...base, cidrIpv4: String(r.CidrIp), description: r.Description })),
        ...(p.Ipv6Ranges ?? []).map((r: any) => ({ ...base, cidrIpv6: String(r.CidrIpv6), description: r.Description })),
        ...(p.PrefixListIds ?? []).map((r: any) => ({ ...base, prefixListId: String(r.PrefixListId), description: r.Description })),
        ...(p.Groups ?? p.UserIdGroupPairs ?? []).map((r: any) => ({
          ...base, referencedGroupId: String(r.GroupId), referencedUserId: r.UserId, description: r.Description,
        })),
      ];
    });
  }

  private same(a: Omit<Ec2Rule, 'securityGroupRuleId'>, b: Omit<Ec2Rule, 'securityGroupRuleId'>): boolean {
    return a.ipProtocol === b.ipProtocol && a.fromPort === b.fromPort && a.toPort === b.toPort
      && (a.cidrIpv4 ?? a.cidrIpv6 ?? a.prefixListId ?? `group:${a.referencedGroupId}`)
      === (b.cidrIpv4 ?? b.cidrIpv6 ?? b.prefixListId ?? `group:${b.referencedGroupId}`);
  }

  private rulesFor(groupId: string | undefined, direction: 'Ingress' | 'Egress'): Ec2Rule[] {
    const rules = this.group(groupId);
    return direction === 'Ingress' ? rules : this.egress.get(groupId!)!;
  }

  private authorize(input: Record<string, any>, direction: 'Ingress' | 'Egress'): WireResponse {
    const existing = this.rulesFor(input.GroupId, direction);
    const adding = this.expand(input.GroupId, input.IpPermissions ?? []);
    if (adding.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter ipPermissions');
    for (const r of adding) {
      if (r.description !== undefined && (r.description.length > 255 || !/^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]*$/.test(r.description))) {
        throw new AwsError('InvalidParameterValue', 'Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*');
      }
      const clash = existing.find((e) => this.same(e, r)) ?? adding.find((o) => o !== r && this.same(o, r));
      if (clash) {
        throw new AwsError('InvalidPermission.Duplicate',
          `the specified rule "peer: ${r.cidrIpv4 ?? r.cidrIpv6 ?? r.prefixListId}, ${r.ipProtocol.toUpperCase()}, from port: ${r.fromPort}, to port: ${r.toPort}, ALLOW" already exists`);
      }
    }
    for (const family of ['cidrIpv4', 'cidrIpv6'] as const) {
      const other = (r: Omit<Ec2Rule, 'securityGroupRuleId'>) => !!(r[family] || r.prefixListId || r.referencedGroupId);
      const count = existing.filter(other).length + adding.filter(other).length;
      if (count > this.rulesPerGroup) {
        throw new AwsError('RulesPerSecurityGroupLimitExceeded', 'The maximum number of rules per security group has been reached.');
      }
    }
    const stored = adding.map((r) => ({ ...r, isEgress: direction === 'Egress', securityGroupRuleId: this.ruleId() }));
    existing.push(...stored);
    return ec2Response(`AuthorizeSecurityGroup${direction}`, { return: true, securityGroupRuleSet: stored.map((r) => this.ruleXml(r)) });
  }

  private revoke(input: Record<string, any>, direction: 'Ingress' | 'Egress'): WireResponse {
    const existing = this.rulesFor(input.GroupId, direction);
    let removing: Ec2Rule[];
    if (input.SecurityGroupRuleId) {
      const ids: string[] = input.SecurityGroupRuleId;
      const unknown = ids.filter((id) => !existing.some((e) => e.securityGroupRuleId === id));
      if (unknown.length) {
        throw new AwsError('InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${unknown[0]}' does not exist`);
      }
      removing = existing.filter((e) => ids.includes(e.securityGroupRuleId));
    } else {
      const wanted = this.expand(input.GroupId, input.IpPermissions ?? []);
      const missing = wanted.find((w) => !existing.some((e) => this.same(e, w)));
      if (missing) {
        throw new AwsError('InvalidPermission.NotFound',
          'The specified rule does not exist in this security group.');
      }
      removing = existing.filter((e) => wanted.some((w) => this.same(e, w)));
    }
    (direction === 'Ingress' ? this.groups : this.egress).set(input.GroupId, existing.filter((e) => !removing.includes(e)));
    return ec2Response(`RevokeSecurityGroup${direction}`, {
      return: true,
      revokedSecurityGroupRuleSet: removing.map((r) => this.ruleXml(r)),
    });
  }

  private prefixListOrThrow(id: string | undefined): PrefixListState {
    const pl = id ? this.prefixLists.get(id) : undefined;
    if (!pl) throw new AwsError('InvalidPrefixListID.NotFound', `The prefix list ID '${id}' does not exist`);
    return pl;
  }

  private describePrefixLists(input: Record<string, any>): WireResponse {
    const ids: string[] = input.PrefixListId ?? [...this.prefixLists.keys()];
    const lists = ids.map((id) => {
      const pl = this.prefixListOrThrow(id);
      const state = pl.busyChecks > 0 ? 'modify-in-progress' : pl.version === 1 ? 'create-complete' : 'modify-complete';
      if (pl.busyChecks > 0) pl.busyChecks--;
      return {
        prefixListId: id,
        addressFamily: pl.addressFamily,
        state,
        prefixListArn: `arn:aws:ec2:us-east-1:123456789012:prefix-list/${id}`,
        prefixListName: pl.name,
        maxEntries: pl.maxEntries,
        version: pl.version,
        ownerId: '123456789012',
      };
    });
    return ec2Response('DescribeManagedPrefixLists', { prefixListSet: lists });
  }

  private prefixListEntries(input: Record<string, any>): WireResponse {
    const pl = this.prefixListOrThrow(input.PrefixListId);
    if (input.TargetVersion !== undefined && Number(input.TargetVersion) !== pl.version) {
      // Older versions are kept by EC2; the handler only ever reads the version it just described.
      throw new AwsError('InvalidParameterValue', `the fake keeps the current version only (${pl.version}), asked for ${input.TargetVersion}`);
    }
    const max = Number(input.MaxResults ?? 100);
    const start = Number(input.NextToken ?? 0);
    const page = pl.entries.slice(start, start + max);
    return ec2Response('GetManagedPrefixListEntries', {
      entrySet: page.map((e) => ({ cidr: e.cidr, description: e.description })),
      nextToken: start + page.length < pl.entries.length ? String(start + page.length) : undefined,
    });
  }

  private modifyPrefixList(input: Record<string, any>): WireResponse {
    const id = input.PrefixListId;
    const pl = this.prefixListOrThrow(id);
    if (pl.busyChecks > 0) throw new AwsError('IncorrectState', `The prefix list ${id} is in the modify-in-progress state.`);
    if (input.CurrentVersion !== undefined && Number(input.CurrentVersion) !== pl.version) {
      throw new AwsError('PrefixListVersionMismatch', `The prefix list ${id} has version ${pl.version}, not ${input.CurrentVersion}.`);
    }
    const adds: Array<{ Cidr: string; Description?: string }> = input.AddEntry ?? [];
    const removes: Array<{ Cidr: string }> = input.RemoveEntry ?? [];
    if (adds.length > 100 || removes.length > 100) {
      throw new AwsError('InvalidParameterValue', 'You can add or remove at most 100 entries in one request.');
    }
    for (const r of removes) {
      if (!pl.entries.some((e) => e.cidr === r.Cidr)) throw new AwsError('InvalidPrefixListModification', `The entry ${r.Cidr} does not exist in ${id}.`);
    }
    for (const a of adds) {
      if (pl.entries.some((e) => e.cidr === a.Cidr) && !removes.some((r) => r.Cidr === a.Cidr)) {
        throw new AwsError('InvalidPrefixListModification', `The entry ${a.Cidr} already exists in ${id}.`);
      }
      if ((a.Cidr.includes(':') ? 'IPv6' : 'IPv4') !== pl.addressFamily) {
        throw new AwsError('InvalidParameterValue', `The CIDR ${a.Cidr} does not match the prefix list's address family ${pl.addressFamily}.`);
      }
    }
    const next = pl.entries.filter((e) => !removes.some((r) => r.Cidr === e.cidr))
      .concat(adds.map((a) => ({ cidr: a.Cidr, description: a.Description })));
    if (next.length > pl.maxEntries) {
      throw new AwsError('PrefixListMaxEntriesExceeded', `The prefix list ${id} can hold at most ${pl.maxEntries} entries.`);
    }
    pl.entries = next;
    pl.version++;
    pl.busyChecks = this.prefixListBusyChecks;
    return ec2Response('ModifyManagedPrefixList', {
      prefixList: { prefixListId: id, addressFamily: pl.addressFamily, state: 'modify-in-progress', maxEntries: pl.maxEntries, version: pl.version - 1, prefixListName: pl.name },
    });
  }
}

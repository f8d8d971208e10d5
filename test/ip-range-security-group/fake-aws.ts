/**
 * An in-memory EC2 / WAFv2 / DynamoDB good enough to run the sync handler against: security-group
 * rules with EC2's all-or-nothing duplicate and quota behaviour, prefix lists with versions, IP sets
 * with lock tokens, and a key-value table. Installed through aws-sdk-client-mock. Used by the handler
 * tests and by the ci-runner-ingress example's simulation.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  AuthorizeSecurityGroupIngressCommand, DescribeManagedPrefixListsCommand, DescribeSecurityGroupRulesCommand, EC2Client,
  GetManagedPrefixListEntriesCommand, IpPermission, ModifyManagedPrefixListCommand, RevokeSecurityGroupIngressCommand,
  SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { GetIPSetCommand, UpdateIPSetCommand, WAFV2Client } from '@aws-sdk/client-wafv2';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

export const MUTATING = ['AuthorizeSecurityGroupIngressCommand', 'RevokeSecurityGroupIngressCommand', 'ModifyManagedPrefixListCommand', 'UpdateIPSetCommand'];

function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: {} });
}

interface PrefixList { version: number; maxEntries: number; entries: string[]; busyChecks: number }

export class FakeAws {
  public readonly rules = new Map<string, SecurityGroupRule[]>();
  public readonly prefixLists = new Map<string, PrefixList>();
  public readonly ipSets = new Map<string, { name: string; scope: string; description?: string; addresses: string[]; lockToken: string }>();
  public readonly items = new Map<string, Record<string, unknown>>();
  public readonly calls: Array<{ command: string; input: any }> = [];
  /** Errors to throw, in order, by command name (`ThrottlingException` twice, say). */
  public readonly faults = new Map<string, Error[]>();
  /** Something that happens just before a command is handled, once (another actor's change, say). */
  public readonly before = new Map<string, () => void>();
  public rulesPerGroup = 60;
  public readonly ec2 = new EC2Client({ region: 'us-east-1' });
  public readonly waf = new WAFV2Client({ region: 'us-east-1' });
  public readonly ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  private nextRule = 1;

  constructor() {
    const ec2 = mockClient(this.ec2);
    const waf = mockClient(this.waf);
    const ddb = mockClient(this.ddb);
    const wrap = (name: string, fn: (input: any) => any) => async (input: any) => {
      this.calls.push({ command: name, input });
      const hook = this.before.get(name);
      if (hook) {
        this.before.delete(name);
        hook();
      }
      const fault = this.faults.get(name)?.shift();
      if (fault) throw fault;
      return fn(input);
    };
    ec2.on(DescribeSecurityGroupRulesCommand).callsFake(wrap('DescribeSecurityGroupRulesCommand', (i) => this.describeRules(i)));
    ec2.on(AuthorizeSecurityGroupIngressCommand).callsFake(wrap('AuthorizeSecurityGroupIngressCommand', (i) => this.authorize(i)));
    ec2.on(RevokeSecurityGroupIngressCommand).callsFake(wrap('RevokeSecurityGroupIngressCommand', (i) => this.revoke(i)));
    ec2.on(DescribeManagedPrefixListsCommand).callsFake(wrap('DescribeManagedPrefixListsCommand', (i) => ({
      PrefixLists: (i.PrefixListIds as string[]).filter((id) => this.prefixLists.has(id)).map((id) => {
        const pl = this.prefixLists.get(id)!;
        // After a modification the list reports modify-in-progress once, as EC2 does for a while.
        const state = pl.busyChecks > 0 ? 'modify-in-progress' : 'modify-complete';
        if (pl.busyChecks > 0) pl.busyChecks--;
        return { PrefixListId: id, Version: pl.version, State: state, MaxEntries: pl.maxEntries };
      }),
    })));
    ec2.on(GetManagedPrefixListEntriesCommand).callsFake(wrap('GetManagedPrefixListEntriesCommand', (i) => {
      const pl = this.prefixLists.get(i.PrefixListId)!;
      const start = Number(i.NextToken ?? 0);
      const page = pl.entries.slice(start, start + (i.MaxResults ?? 100));
      const more = start + page.length < pl.entries.length;
      return { Entries: page.map((Cidr) => ({ Cidr })), NextToken: more ? String(start + page.length) : undefined };
    }));
    ec2.on(ModifyManagedPrefixListCommand).callsFake(wrap('ModifyManagedPrefixListCommand', (i) => this.modifyPrefixList(i)));
    waf.on(GetIPSetCommand).callsFake(wrap('GetIPSetCommand', (i) => {
      const set = this.ipSets.get(i.Id)!;
      if (i.Name !== set.name || i.Scope !== set.scope) throw awsError('WAFNonexistentItemException');
      return { IPSet: { Id: i.Id, Name: i.Name, Addresses: [...set.addresses], Description: set.description }, LockToken: set.lockToken };
    }));
    waf.on(UpdateIPSetCommand).callsFake(wrap('UpdateIPSetCommand', (i) => {
      const set = this.ipSets.get(i.Id)!;
      if (i.Name !== set.name || i.Scope !== set.scope) throw awsError('WAFNonexistentItemException');
      if (i.LockToken !== set.lockToken) throw awsError('WAFOptimisticLockException');
      set.description = i.Description; // UpdateIPSet replaces every mutable field
      if (i.Addresses.length > 10_000) throw awsError('WAFLimitsExceededException');
      set.addresses = [...i.Addresses];
      set.lockToken = `lock-${Math.random()}`;
      return { NextLockToken: set.lockToken };
    }));
    ddb.on(GetCommand).callsFake(wrap('GetCommand', (i) => ({ Item: this.items.get(`${i.Key.pk}|${i.Key.sk}`) })));
    ddb.on(PutCommand).callsFake(wrap('PutCommand', (i) => {
      this.items.set(`${i.Item.pk}|${i.Item.sk}`, i.Item);
      return {};
    }));
  }

  public addGroup(groupId: string): void {
    this.rules.set(groupId, []);
  }

  public addPrefixList(id: string, maxEntries: number): void {
    this.prefixLists.set(id, { version: 1, maxEntries, entries: [], busyChecks: 0 });
  }

  public addIpSet(id: string, name: string, scope = 'REGIONAL', description = 'synced by cdk-production-patterns'): void {
    this.ipSets.set(id, { name, scope, description, addresses: [], lockToken: 'lock-0' });
  }

  /** Adds a rule by hand (e.g. one a person created, or one that already exists). */
  public addRule(groupId: string, rule: Omit<SecurityGroupRule, 'GroupId' | 'SecurityGroupRuleId' | 'IsEgress'>): void {
    this.rules.get(groupId)!.push({ ...rule, GroupId: groupId, IsEgress: false, SecurityGroupRuleId: `sgr-${this.nextRule++}` });
  }

  public mutatingCalls(): number {
    return this.calls.filter((c) => MUTATING.includes(c.command)).length;
  }

  public cidrsIn(groupId: string): string[] {
    return this.rules.get(groupId)!.map((r) => (r.CidrIpv4 ?? r.CidrIpv6)!);
  }

  public audits(): Array<Record<string, unknown>> {
    return [...this.items.values()].filter((i) => String(i.sk).startsWith('SYNC#'));
  }

  private describeRules(input: any) {
    const ids: string[] = input.Filters?.find((f: any) => f.Name === 'group-id')?.Values ?? [];
    const all = ids.flatMap((id) => this.rules.get(id) ?? []);
    const start = Number(input.NextToken ?? 0);
    const max = input.MaxResults ?? 1000;
    return { SecurityGroupRules: all.slice(start, start + max), NextToken: start + max < all.length ? String(start + max) : undefined };
  }

  private expand(groupId: string, perms: IpPermission[]): SecurityGroupRule[] {
    return perms.flatMap((p) => {
      const base = { GroupId: groupId, IsEgress: false, IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort };
      return [
        ...(p.IpRanges ?? []).map((r) => ({ ...base, CidrIpv4: r.CidrIp, Description: r.Description })),
        ...(p.Ipv6Ranges ?? []).map((r) => ({ ...base, CidrIpv6: r.CidrIpv6, Description: r.Description })),
      ];
    });
  }

  private same(a: SecurityGroupRule, b: SecurityGroupRule): boolean {
    return a.IpProtocol === b.IpProtocol && a.FromPort === b.FromPort && a.ToPort === b.ToPort
      && (a.CidrIpv4 ?? a.CidrIpv6) === (b.CidrIpv4 ?? b.CidrIpv6);
  }

  private authorize(input: any) {
    const existing = this.rules.get(input.GroupId);
    if (!existing) throw awsError('InvalidGroup.NotFound');
    const adding = this.expand(input.GroupId, input.IpPermissions);
    // All or nothing, as EC2 does.
    for (const r of adding) {
      if (existing.some((e) => this.same(e, r))) throw awsError('InvalidPermission.Duplicate', `the specified rule "${r.CidrIpv4 ?? r.CidrIpv6}" already exists`);
    }
    for (const family of ['CidrIpv4', 'CidrIpv6'] as const) {
      const count = existing.filter((e) => e[family]).length + adding.filter((a) => a[family]).length;
      if (count > this.rulesPerGroup) throw awsError('RulesPerSecurityGroupLimitExceeded', 'The maximum number of rules per security group has been reached.');
    }
    for (const r of adding) existing.push({ ...r, SecurityGroupRuleId: `sgr-${this.nextRule++}` });
    return { Return: true };
  }

  private revoke(input: any) {
    const existing = this.rules.get(input.GroupId);
    if (!existing) throw awsError('InvalidGroup.NotFound');
    if (input.SecurityGroupRuleIds) {
      const ids: string[] = input.SecurityGroupRuleIds;
      if (ids.some((id) => !existing.some((e) => e.SecurityGroupRuleId === id))) throw awsError('InvalidSecurityGroupRuleId.NotFound');
      this.rules.set(input.GroupId, existing.filter((e) => !ids.includes(e.SecurityGroupRuleId!)));
    } else {
      const removing = this.expand(input.GroupId, input.IpPermissions);
      if (removing.some((r) => !existing.some((e) => this.same(e, r)))) throw awsError('InvalidPermission.NotFound');
      this.rules.set(input.GroupId, existing.filter((e) => !removing.some((r) => this.same(e, r))));
    }
    return { Return: true };
  }

  private modifyPrefixList(input: any) {
    const pl = this.prefixLists.get(input.PrefixListId)!;
    if (input.CurrentVersion !== pl.version) throw awsError('IncorrectState', 'version mismatch');
    const adds = (input.AddEntries ?? []).map((e: any) => e.Cidr);
    const removes = (input.RemoveEntries ?? []).map((e: any) => e.Cidr);
    if (adds.length > 100 || removes.length > 100) throw awsError('InvalidParameterValue', 'at most 100 entries per call');
    const next = pl.entries.filter((e) => !removes.includes(e)).concat(adds);
    if (next.length > pl.maxEntries) throw awsError('PrefixListMaxEntriesExceeded');
    pl.entries = next;
    pl.version++;
    pl.busyChecks = 1;
    return { PrefixList: { PrefixListId: input.PrefixListId, Version: pl.version, State: 'modify-in-progress' } };
  }
}

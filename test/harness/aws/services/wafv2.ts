/**
 * WAFv2 IP sets on the wire (JSON 1.1, `AWSWAF_20190729.<Action>`): GetIPSet and UpdateIPSet with
 * lock tokens (optimistic locking), UpdateIPSet replacing every mutable field (addresses and
 * description), the 10,000-address limit, CIDR validation, and Name/Scope that must match the id.
 */
import * as crypto from 'crypto';
import { AwsError, jsonBody, jsonResponse, jsonTarget, WireRequest, WireResponse } from '../protocols';
import { ServiceModule } from '../wire-server';

interface IpSetState {
  name: string;
  scope: string;
  addressFamily: 'IPV4' | 'IPV6';
  description?: string;
  addresses: string[];
  lockToken: string;
}

const IPV4_CIDR = /^(\d{1,3}\.){3}\d{1,3}\/(\d|[12]\d|3[0-2])$/;
const IPV6_CIDR = /^[0-9a-fA-F:]+\/(\d|[1-9]\d|1[01]\d|12[0-8])$/;

export class WafV2Service implements ServiceModule {
  public readonly signingNames = ['wafv2'];
  public readonly endpointEnvNames = ['WAFV2'];
  public readonly protocol = 'json' as const;
  /** Addresses per IP set (WAF's limit). */
  public maxAddresses = 10_000;
  private readonly sets = new Map<string, IpSetState>();

  public action(req: WireRequest): string {
    return jsonTarget(req);
  }

  public decode(req: WireRequest): unknown {
    return jsonBody(req);
  }

  public createIpSet(id: string, options: { name: string; scope?: string; addressFamily?: 'IPV4' | 'IPV6'; description?: string }): void {
    this.sets.set(id, {
      name: options.name,
      scope: options.scope ?? 'REGIONAL',
      addressFamily: options.addressFamily ?? 'IPV4',
      description: options.description,
      addresses: [],
      lockToken: crypto.randomUUID(),
    });
  }

  public ipSet(id: string): { addresses: string[]; description?: string; lockToken: string } {
    const s = this.sets.get(id);
    if (!s) throw new Error(`WafV2Service: no IP set ${id}`);
    return { addresses: [...s.addresses], description: s.description, lockToken: s.lockToken };
  }

  /** Another actor updates the set: its lock token changes. */
  public touch(id: string): void {
    this.sets.get(id)!.lockToken = crypto.randomUUID();
  }

  public handle(req: WireRequest, action: string): WireResponse {
    const input = jsonBody(req);
    switch (action) {
      case 'GetIPSet': {
        const s = this.find(input);
        return jsonResponse({
          IPSet: {
            Name: s.name,
            Id: input.Id,
            ARN: `arn:aws:wafv2:us-east-1:123456789012:${s.scope === 'CLOUDFRONT' ? 'global' : 'regional'}/ipset/${s.name}/${input.Id}`,
            Description: s.description,
            IPAddressVersion: s.addressFamily,
            Addresses: s.addresses,
          },
          LockToken: s.lockToken,
        });
      }
      case 'UpdateIPSet': {
        const s = this.find(input);
        const addresses: unknown = input.Addresses;
        if (!Array.isArray(addresses)) throw new AwsError('WAFInvalidParameterException', 'Error reason: The parameter Addresses is required., field: ADDRESSES');
        if (typeof input.LockToken !== 'string' || !input.LockToken) throw new AwsError('WAFInvalidParameterException', 'Error reason: The parameter LockToken is required.');
        if (input.LockToken !== s.lockToken) {
          throw new AwsError('WAFOptimisticLockException', 'AWS WAF couldn’t save your changes because someone changed the resource after you started to edit it. Reapply your changes.');
        }
        const pattern = s.addressFamily === 'IPV4' ? IPV4_CIDR : IPV6_CIDR;
        const bad = (addresses as string[]).find((a) => typeof a !== 'string' || !pattern.test(a));
        if (bad !== undefined) throw new AwsError('WAFInvalidParameterException', `Error reason: Invalid IP address or CIDR for ${s.addressFamily}: ${String(bad)}, field: IP_ADDRESS`);
        if (addresses.length > this.maxAddresses) {
          throw new AwsError('WAFLimitsExceededException', 'AWS WAF couldn’t perform the operation because you exceeded your resource limit.');
        }
        s.addresses = [...(addresses as string[])];
        s.description = input.Description;
        s.lockToken = crypto.randomUUID();
        return jsonResponse({ NextLockToken: s.lockToken });
      }
      default:
        throw new AwsError('UnknownOperationException', `unknown operation ${action}`);
    }
  }

  private find(input: any): IpSetState {
    const s = this.sets.get(input.Id);
    if (!s || s.name !== input.Name || s.scope !== input.Scope) {
      throw new AwsError('WAFNonexistentItemException', 'AWS WAF couldn’t perform the operation because your resource doesn’t exist.');
    }
    return s;
  }
}

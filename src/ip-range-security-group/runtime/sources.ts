/**
 * Fetches and verifies every source's document and selects its CIDRs (the AWS document is checked
 * against the AmazonIpSpaceChanged notification: synctoken and md5), then merges them into the
 * minimal cover. The parsing and filtering are the pure modules documents.ts and filter.ts.
 */
import { CidrsByFamily, minimalCover } from './cidr';
import { SourceConfig, SyncConfig } from './contracts';
import { SyncDeps, SyncRequest } from './deps';
import { isNewerSyncToken, md5Hex, parseAwsIpRanges, parseCidrList, parseGithubMeta, verifyMd5 } from './documents';
import { selectAwsCidrs, selectGithubCidrs, selectListCidrs } from './filter';

/** The merged cover of every source, and the AWS document's synctoken and md5 (when one is a source). */
export interface FetchedSources {
  readonly cover: CidrsByFamily;
  readonly awsSyncToken?: string;
  readonly md5?: string;
}

export async function fetchSources(config: SyncConfig, request: SyncRequest, deps: SyncDeps): Promise<FetchedSources> {
  const all: string[] = [];
  let awsSyncToken: string | undefined;
  let md5: string | undefined;
  for (const source of config.sources) {
    const bytes = await deps.fetchBytes(source.url);
    const selected = selectFromSource(source, bytes, request, deps);
    all.push(...selected.ipv4, ...selected.ipv6);
    if (selected.syncToken) {
      awsSyncToken = selected.syncToken;
      md5 = selected.md5;
    }
  }
  return { cover: minimalCover(all), awsSyncToken, md5 };
}

function selectFromSource(source: SourceConfig, bytes: Uint8Array, request: SyncRequest, deps: SyncDeps):
{ ipv4: string[]; ipv6: string[]; syncToken?: string; md5?: string } {
  const families = { ipv4: source.ipv4, ipv6: source.ipv6 };
  switch (source.kind) {
    case 'aws': {
      const doc = parseAwsIpRanges(bytes);
      const md5 = md5Hex(bytes);
      const n = request.notification;
      if (n) {
        if (doc.syncToken === n.syncToken) {
          verifyMd5(bytes, n.md5);
        } else if (isNewerSyncToken(n.syncToken, doc.syncToken)) {
          throw new Error(`the document at ${source.url} (synctoken ${doc.syncToken}) is older than the notification (synctoken ${n.syncToken}); a stale mirror or cache`);
        } else {
          deps.log.warn('document is newer than the notification; its md5 cannot be checked against it', { documentSyncToken: doc.syncToken, notificationSyncToken: n.syncToken });
        }
      }
      const selected = selectAwsCidrs(doc, {
        services: source.services ?? [], regions: source.regions, networkBorderGroups: source.networkBorderGroups, ...families,
      });
      return { ...selected, syncToken: doc.syncToken, md5 };
    }
    case 'github':
      return selectGithubCidrs(parseGithubMeta(bytes), { services: source.services ?? [], ...families });
    case 'url':
      return selectListCidrs(parseCidrList(bytes, { jsonKey: source.jsonKey }), families);
  }
}

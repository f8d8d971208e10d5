/**
 * Ownership of security-group rules: the sync only ever touches rules whose description carries
 * its marker, so rules added by people or by other syncs in the same group are left alone.
 *
 * Pure logic, no AWS client.
 */

/** The start of every description written by the sync; the sync id follows. */
export const OWNERSHIP_MARKER_PREFIX = 'managed-by:cdk-production-patterns:';

/** The longest description EC2 accepts for a security-group rule or a prefix-list entry. */
export const MAX_DESCRIPTION_LENGTH = 255;

const SYNC_ID = /^[A-Za-z0-9._-]{1,64}$/;
// EC2 rule descriptions: a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*
const DISALLOWED = /[^A-Za-z0-9. _\-:/()#,@[\]+=&;{}!$*]/g;

function checkSyncId(syncId: string): void {
  if (typeof syncId !== 'string' || !SYNC_ID.test(syncId)) {
    throw new Error(`syncId must be 1..64 characters of A-Z a-z 0-9 . _ -, got ${JSON.stringify(syncId)}`);
  }
}

/** The ownership marker of one sync: `managed-by:cdk-production-patterns:<syncId>`. */
export function ownershipMarker(syncId: string): string {
  checkSyncId(syncId);
  return `${OWNERSHIP_MARKER_PREFIX}${syncId}`;
}

/**
 * The description to write on every rule (and prefix-list entry) the sync creates: the ownership
 * marker, then optionally a space and `source` (e.g. `aws:EC2/us-east-1`). Characters EC2 does not
 * accept in descriptions are replaced by `_`, and the result is cut to 255 characters; the marker
 * itself is always complete.
 * @param syncId identifies one sync (one construct instance): 1..64 of `A-Z a-z 0-9 . _ -`
 * @param source free text about where the range comes from
 * @throws Error when `syncId` is not valid
 */
export function ruleDescription(syncId: string, source?: string): string {
  const marker = ownershipMarker(syncId);
  if (source === undefined || source === '') return marker;
  return `${marker} ${source.replace(DISALLOWED, '_')}`.slice(0, MAX_DESCRIPTION_LENGTH);
}

/**
 * True when a rule with this description belongs to the sync `syncId`: the description is the
 * marker, or the marker followed by a space. `managed-by:cdk-production-patterns:prod` does not
 * own the rules of `prod-eu`.
 */
export function isOwnedRule(description: string | undefined, syncId: string): boolean {
  const marker = ownershipMarker(syncId);
  if (description === undefined || !description.startsWith(marker)) return false;
  return description.length === marker.length || description.charAt(marker.length) === ' ';
}

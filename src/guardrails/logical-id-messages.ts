/**
 * The LogicalIdGuard's messages: one per finding, each saying what CloudFormation would do and what to
 * do about it (pin the old ID, move the deployed resource with `cdk refactor`, or acknowledge).
 * Pure functions of the comparison (no construct code), so tests can read them directly.
 */
import { CurrentResource, Finding, FindingKind, refactorOverrideFile } from './logical-id-lock';

/** Short description of a name for messages (`'orders'`, or `a generated name`). */
function nameOf(name: string | undefined): string {
  return name === undefined ? 'a generated name' : `'${name}'`;
}

function where(r: CurrentResource, oldStackName: string): string {
  return r.stackName === oldStackName ? r.fullPath : `${r.fullPath} (stack ${r.stackName})`;
}

function remedies(f: Finding, current: CurrentResource): string {
  const pin = current.stackName === f.oldStackName
    ? `pin the old ID: LogicalIdGuard.pin(<the construct at ${current.pinPath}>, '${f.old.logicalId}') `
      + '(it calls overrideLogicalId on its CfnResource); '
    : 'move it back to its old stack (a resource cannot be pinned into another stack); ';
  return `To keep the deployed resource, either ${pin}or keep the new ID and move the deployed resource to it with `
    + '`cdk refactor` before deploying (the override-file mapping is printed below). '
    + `If the replacement is intended: guard.acknowledgeReplacement('${f.stackKey}', '${f.old.logicalId}', '<why>').`;
}

/**
 * The error lines of one finding: the replacement itself, plus a separate line when the resource has a
 * fixed physical name (the "already exists" case, or a name that changes with the ID).
 * @internal
 */
export function findingMessages(f: Finding): string[] {
  const head = `stack '${f.stackKey}': ${f.oldPath} (${f.old.type})`;
  const cur = f.current;
  switch (f.kind) {
    case FindingKind.REMOVED:
      return [
        `${head}, logical ID ${f.old.logicalId}, is gone and no new ${f.old.type} took its place: CloudFormation would delete it `
        + '(or orphan it, when its DeletionPolicy retains it). If that is intended: '
        + `guard.acknowledgeReplacement('${f.stackKey}', '${f.old.logicalId}', '<why>').`,
      ];
    case FindingKind.PHYSICAL_NAME_CHANGED:
      return [
        `${head}, logical ID ${f.old.logicalId}: its fixed physical name changes from ${nameOf(f.old.physicalName)} to `
        + `${nameOf(cur!.physicalName)}. The name is a replacement property, so CloudFormation creates a new, empty resource `
        + 'and deletes the old one (or orphans it, when retained). Keep the old name, or, if the replacement is intended: '
        + `guard.acknowledgeReplacement('${f.stackKey}', '${f.old.logicalId}', '<why>').`,
      ];
    case FindingKind.LOGICAL_ID_CHANGED:
    case FindingKind.MOVED: {
      const what = f.kind === FindingKind.LOGICAL_ID_CHANGED
        ? `${head}: its logical ID changes from ${f.old.logicalId} to ${cur!.logicalId}`
        : `${head}, logical ID ${f.old.logicalId}, is gone; it most likely moved to ${where(cur!, f.oldStackName)} (logical ID `
          + `${cur!.logicalId})${f.otherCandidates.length ? ` (other new ${f.old.type} resources it may be: `
          + `${f.otherCandidates.map((c) => where(c, f.oldStackName)).join(', ')}; edit the mapping if it is one of those)` : ''}`;
      const lines = [
        `${what}. CloudFormation would create a new, empty resource and delete the old one (or orphan it, when retained). `
        + remedies(f, cur!),
      ];
      const oldName = f.old.physicalName;
      const newName = cur!.physicalName;
      if (oldName !== undefined && oldName === newName) {
        lines.push(`${cur!.fullPath} (${f.old.type}) keeps its fixed physical name '${oldName}' under a new logical ID `
          + `(${f.old.logicalId} -> ${cur!.logicalId}): CloudFormation creates the replacement before it deletes the old resource, `
          + `so the deploy fails with "${oldName} already exists" (and a retained old resource holds the name for good). `
          + 'Pin the old ID, or move the deployed resource with `cdk refactor`; an acknowledgement alone does not make this deploy succeed.');
      } else if (oldName !== undefined || newName !== undefined) {
        lines.push(`${cur!.fullPath} (${f.old.type}) changes its fixed physical name (${nameOf(oldName)} -> ${nameOf(newName)}) `
          + `together with its logical ID (${f.old.logicalId} -> ${cur!.logicalId}): CloudFormation creates a new, empty resource `
          + `named ${nameOf(newName)} and deletes ${nameOf(oldName)} with its data (or orphans it, when retained). `
          + 'Keep both the old ID and the old name, or acknowledge the replacement.');
      }
      return lines;
    }
  }
  return [];
}

/**
 * The line that prints the `cdk refactor --override-file` content keeping the new logical IDs, or
 * undefined when no finding has a new location.
 * @internal
 */
export function refactorMessage(findings: Finding[]): string | undefined {
  const file = refactorOverrideFile(findings);
  if (!file) return undefined;
  return 'To keep the new logical IDs instead of pinning the old ones, move the deployed resources first: save the JSON below as '
    + 'refactor-overrides.json and run `cdk refactor --unstable=refactor --override-file refactor-overrides.json --dry-run`, then '
    + 'without --dry-run (a refactor may not add, change or delete resources: deploy other changes separately; fill in '
    + '<account>/<region> for environment-agnostic stacks). Then acknowledge each replacement (the reason: moved with cdk refactor) '
    + `so the lock takes the new IDs:\n${file}`;
}

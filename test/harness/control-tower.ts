/**
 * AWS Control Tower proactive controls, checked offline: the cfn-guard rules that npm package
 * `@cdklabs/cdk-validator-cfnguard` ships (one rules file per control, `CT.<SERVICE>.PR.<n>`), run by
 * its bundled cfn-guard 3.1 binary directly on a synthesized template.
 *
 * Why not the package's CDK plugin (`CfnGuardValidator`): it crashes on some templates while reading
 * cfn-guard's results (`Cannot read properties of undefined (reading 'to')`, seen on the
 * ci-runner-ingress example). The binary's own JSON output is read here instead: one JSON document
 * per rules file, concatenated; a failed rule names its control in the `[CT.X.PR.n]` prefix of its
 * message and the resources in the paths it traversed (`/Resources/<logicalId>/...`).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** A failed control: its id, title and fix as the rules state them, and the resources that fail it. */
export interface ControlFailure {
  /** e.g. `CT.S3.PR.3` */
  readonly control: string;
  /** The control's title (first line of the rule's message). */
  readonly title: string;
  /** What the rule asks for (its `[FIX]` text). */
  readonly fix: string;
  /** Logical ids of the failing resources, sorted. */
  readonly resources: string[];
}

export interface ControlTowerReport {
  /** Rules files evaluated (one per control). */
  readonly evaluated: number;
  /** Controls whose resources all comply (at least one resource of a type they check). */
  readonly passed: number;
  /** Failed controls, sorted by id. */
  readonly failures: ControlFailure[];
}

/** An acknowledged failure: a control, optionally limited to some resources (logical id prefixes), and why. */
export interface ControlAcknowledgement {
  readonly control: string;
  /** Logical ids (or prefixes of them) the acknowledgement covers. @default every resource */
  readonly resources?: string[];
  /** Why the template keeps failing this control (at least 20 characters: a real reason). */
  readonly reason: string;
}

const PACKAGE_DIR = path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'));

/** The bundled rules directory. */
export const CONTROL_TOWER_RULES = path.join(PACKAGE_DIR, 'rules', 'control-tower', 'cfn-guard');

/** The bundled cfn-guard binary for this machine. */
export function cfnGuardBinary(): string {
  const osDir = process.platform === 'darwin' ? 'macos' : process.platform === 'linux' ? 'ubuntu' : undefined;
  const arch = os.arch() === 'arm64' ? 'aarch64' : os.arch() === 'x64' ? 'x86_64' : undefined;
  if (!osDir || !arch) throw new Error(`no bundled cfn-guard binary for ${process.platform}/${os.arch()}`);
  const bin = path.join(PACKAGE_DIR, 'bin', osDir, arch, 'cfn-guard');
  if (!fs.existsSync(bin)) throw new Error(`cfn-guard binary missing: ${bin}`);
  return bin;
}

const CONTROL_ID = /\[(CT\.[A-Z0-9]+\.PR\.\d+)\]:\s*([^\n[]*)/;
const FIX = /\[FIX\]:\s*([\s\S]*)$/;

/** Splits cfn-guard's output (JSON documents written one after another) into documents. */
export function splitDocuments(raw: string): any[] {
  const docs: any[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {inString = true;} else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0) docs.push(JSON.parse(raw.slice(start, i + 1)));
    }
  }
  if (depth !== 0) throw new Error('cfn-guard output ends inside a JSON document');
  return docs;
}

/** The failed controls of cfn-guard's documents (pure: exported for tests). */
export function failuresOf(docs: any[]): ControlFailure[] {
  const byControl = new Map<string, { title: string; fix: string; resources: Set<string> }>();
  const walk = (node: unknown, control: string | undefined): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) walk(n, control);
      return;
    }
    const rec = node as Record<string, any>;
    let current = control;
    const message: unknown = rec.Rule?.messages?.custom_message;
    if (typeof message === 'string') {
      const m = CONTROL_ID.exec(message);
      if (m) {
        current = m[1];
        if (!byControl.has(current)) {
          byControl.set(current, { title: m[2].trim(), fix: (FIX.exec(message)?.[1] ?? '').replace(/\s+/g, ' ').trim(), resources: new Set() });
        }
      }
    }
    for (const p of [rec.traversed_to?.path, rec.from?.path]) {
      const logicalId = typeof p === 'string' ? /^\/Resources\/([^/]+)/.exec(p)?.[1] : undefined;
      if (logicalId && current) {
        if (!byControl.has(current)) byControl.set(current, { title: '', fix: '', resources: new Set() });
        byControl.get(current)!.resources.add(logicalId);
      }
    }
    for (const v of Object.values(rec)) walk(v, current);
  };
  for (const doc of docs) if (doc.status === 'FAIL') walk(doc.not_compliant, undefined);
  return [...byControl.entries()]
    .map(([control, v]) => ({ control, title: v.title, fix: v.fix, resources: [...v.resources].sort() }))
    .sort((a, b) => a.control.localeCompare(b.control, 'en', { numeric: true }));
}

/** Runs every Control Tower rule on a template (a file path, or the template object). */
export function checkControlTower(template: string | object): ControlTowerReport {
  let file = typeof template === 'string' ? template : '';
  let tmp: string | undefined;
  if (typeof template !== 'string') {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-'));
    file = path.join(tmp, 'template.json');
    fs.writeFileSync(file, JSON.stringify(template));
  }
  try {
    const res = spawnSync(cfnGuardBinary(), ['validate', '--rules', CONTROL_TOWER_RULES, '--data', file, '--output-format', 'json', '--show-summary', 'none'], {
      encoding: 'utf8',
      maxBuffer: 512 * 1024 * 1024,
    });
    // exit 0: all pass, 19: some rule failed; anything else is an error of cfn-guard itself
    if (res.error || (res.status !== 0 && res.status !== 19)) {
      throw new Error(`cfn-guard failed (exit ${res.status}): ${res.error?.message ?? res.stderr.slice(0, 2000)}`);
    }
    const docs = splitDocuments(res.stdout);
    const failures = failuresOf(docs);
    return { evaluated: docs.length, passed: docs.filter((d) => d.status === 'PASS').length, failures };
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Whether an acknowledgement covers a failed control of one resource (a logical id prefix of it, or no resources given). */
function covers(a: ControlAcknowledgement, control: string, logicalId: string): boolean {
  return a.control === control && (a.resources === undefined || a.resources.some((prefix) => logicalId.startsWith(prefix)));
}

/** Throws on an acknowledgement that is not one: a malformed control id, an empty resource list or prefix, a reason too short to be one. */
export function validateAcknowledgements(acks: ControlAcknowledgement[]): void {
  for (const a of acks) {
    if (!/^CT\.[A-Z0-9]+\.PR\.\d+$/.test(a.control)) throw new Error(`acknowledgement of "${a.control}": not a control id (CT.<SERVICE>.PR.<n>)`);
    if (a.resources !== undefined && (a.resources.length === 0 || a.resources.some((r) => r.length === 0))) {
      throw new Error(`acknowledgement of ${a.control}: resources must name at least one non-empty logical id prefix (omit it to cover every resource)`);
    }
    if (typeof a.reason !== 'string' || a.reason.trim().length < 20) throw new Error(`acknowledgement of ${a.control} needs a real reason (20 characters or more)`);
  }
}

/**
 * Failures (per control, per resource) that no acknowledgement covers; throws on an invalid
 * acknowledgement (see `validateAcknowledgements`). A failure that names no resource (cfn-guard
 * traversed nothing under /Resources) is covered only by an acknowledgement of the whole control.
 */
export function unacknowledged(failures: ControlFailure[], acks: ControlAcknowledgement[]): ControlFailure[] {
  validateAcknowledgements(acks);
  return failures.flatMap((f) => {
    if (f.resources.length === 0) return acks.some((a) => a.control === f.control && a.resources === undefined) ? [] : [f];
    const left = f.resources.filter((r) => !acks.some((a) => covers(a, f.control, r)));
    return left.length > 0 ? [{ ...f, resources: left }] : [];
  });
}

/** Failed (control, resource) pairs that acknowledgements cover (counted as `failedCount` counts). */
export function acknowledgedCount(failures: ControlFailure[], acks: ControlAcknowledgement[]): number {
  return failedCount(failures) - failedCount(unacknowledged(failures, acks));
}

/**
 * Acknowledgements that match no failure: stale, because the template complies now or a resource was
 * renamed. An acknowledgement with several prefixes is stale as soon as one prefix matches no failing
 * resource; it is returned with only its stale prefixes.
 */
export function unusedAcknowledgements(failures: ControlFailure[], acks: ControlAcknowledgement[]): ControlAcknowledgement[] {
  const stale: ControlAcknowledgement[] = [];
  for (const a of acks) {
    const ofControl = failures.filter((f) => f.control === a.control);
    if (a.resources === undefined) {
      if (ofControl.length === 0) stale.push(a);
      continue;
    }
    const unused = a.resources.filter((prefix) => !ofControl.some((f) => f.resources.some((r) => r.startsWith(prefix))));
    if (unused.length > 0) stale.push({ ...a, resources: unused });
  }
  return stale;
}

/** Merges the failures of several templates (the stacks of one app) into one list, by control. */
export function mergeFailures(reports: Array<Pick<ControlTowerReport, 'failures'>>): ControlFailure[] {
  const byControl = new Map<string, ControlFailure>();
  for (const f of reports.flatMap((r) => r.failures)) {
    const seen = byControl.get(f.control);
    byControl.set(f.control, seen ? { ...seen, resources: [...new Set([...seen.resources, ...f.resources])].sort() } : f);
  }
  return [...byControl.values()].sort((a, b) => a.control.localeCompare(b.control, 'en', { numeric: true }));
}

/** Failed (control, resource) pairs; a failure that names no resource counts once. */
export function failedCount(failures: ControlFailure[]): number {
  return failures.reduce((n, f) => n + Math.max(1, f.resources.length), 0);
}

/** One line per failure: control, title, resources and the rule's fix. */
export function formatFailures(failures: ControlFailure[]): string {
  return failures.map((f) => `  ${f.control} ${f.title}\n    resources: ${f.resources.join(', ') || '(none named)'}\n    fix: ${f.fix}`).join('\n');
}

/** One line per stale acknowledgement. */
export function formatAcknowledgements(acks: ControlAcknowledgement[]): string {
  return acks.map((a) => `  ${a.control} ${a.resources ? `[${a.resources.join(', ')}]` : '(every resource)'}: ${a.reason}`).join('\n');
}

import { AwsSolutionsChecks, NagPack, ServerlessChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';

/** One unsuppressed cdk-nag finding. */
export interface NagFinding {
  readonly rule: string;
  readonly severity: 'error' | 'warning';
  readonly path: string;
  readonly description: string;
}

/** The packs every pattern must pass: AWS Solutions and Serverless. */
export function defaultNagPacks(): NagPack[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()];
}

/**
 * Runs the cdk-nag packs over a scope (an App or a Stack) and returns every unsuppressed finding.
 * Acknowledged findings (`Validations.of(x).acknowledge(...)`) are not returned.
 */
export function runNag(scope: IConstruct, packs: NagPack[] = defaultNagPacks()): NagFinding[] {
  const findings: NagFinding[] = [];
  for (const pack of packs) {
    const report = pack.validateScope(scope);
    for (const v of report.violations) {
      for (const r of v.violatingResources) {
        const path = (r as unknown as { constructPath?: string }).constructPath ?? r.resourceLogicalId ?? r.templatePath;
        findings.push({
          rule: v.ruleName,
          severity: v.severity === 'error' ? 'error' : 'warning',
          path: String(path),
          description: v.description,
        });
      }
    }
  }
  return findings;
}

export function formatFindings(findings: NagFinding[]): string {
  return findings.map((f) => `  [${f.severity}] ${f.rule} at ${f.path}: ${f.description}`).join('\n');
}

/** Fails listing each unsuppressed cdk-nag error (path and rule id). */
export function expectNoUnsuppressedNagErrors(scope: IConstruct, packs?: NagPack[]): void {
  const errors = runNag(scope, packs).filter((f) => f.severity === 'error');
  if (errors.length > 0) {
    throw new Error(`${errors.length} unsuppressed cdk-nag error(s):\n${formatFindings(errors)}`);
  }
}

import { Template } from 'aws-cdk-lib/assertions';

/** One wildcard action found in a synthesized template. */
export interface WildcardAction {
  readonly logicalId: string;
  readonly resourceType: string;
  readonly field: 'Action' | 'NotAction';
  readonly action: string;
}

const POLICY_HOLDERS: Record<string, (props: any) => any[]> = {
  'AWS::IAM::Policy': (p) => [p.PolicyDocument],
  'AWS::IAM::ManagedPolicy': (p) => [p.PolicyDocument],
  'AWS::IAM::Role': (p) => [p.AssumeRolePolicyDocument, ...(p.Policies ?? []).map((x: any) => x.PolicyDocument)],
  'AWS::IAM::User': (p) => (p.Policies ?? []).map((x: any) => x.PolicyDocument),
  'AWS::IAM::Group': (p) => (p.Policies ?? []).map((x: any) => x.PolicyDocument),
  'AWS::IAM::RolePolicy': (p) => [p.PolicyDocument],
  'AWS::S3::BucketPolicy': (p) => [p.PolicyDocument],
  'AWS::SQS::QueuePolicy': (p) => [p.PolicyDocument],
  'AWS::SNS::TopicPolicy': (p) => [p.PolicyDocument],
  'AWS::KMS::Key': (p) => [p.KeyPolicy],
  'AWS::SecretsManager::ResourcePolicy': (p) => [p.ResourcePolicy],
  'AWS::Events::EventBusPolicy': (p) => [p.Statement ? { Statement: [p.Statement] } : undefined],
};

/** `*`, or `service:*` (a whole service). Narrower patterns like `s3:Get*` are not whole-service wildcards. */
export function isWildcardAction(action: unknown): boolean {
  return typeof action === 'string' && (action === '*' || /^[A-Za-z0-9-]+:\*$/.test(action));
}

function toList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/**
 * Lists every Allow statement whose Action is `*` or `service:*`, and every Allow statement with a
 * NotAction (which grants everything but the listed actions). Deny statements are not reported.
 */
export function findWildcardActions(template: Template): WildcardAction[] {
  const found: WildcardAction[] = [];
  const resources = template.toJSON().Resources ?? {};
  for (const [logicalId, res] of Object.entries<any>(resources)) {
    const docs = POLICY_HOLDERS[res.Type]?.(res.Properties ?? {}) ?? [];
    for (const doc of docs) {
      if (!doc) continue;
      const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
      for (const st of statements) {
        if (!st) continue;
        // Deny statements narrow access (e.g. the TLS-only `s3:*` deny): a wildcard there is safe.
        if (st.Effect === 'Deny') continue;
        const actions = toList(st.Action);
        for (const action of actions) {
          if (isWildcardAction(action)) found.push({ logicalId, resourceType: res.Type, field: 'Action', action: String(action) });
        }
        // An Allow with NotAction grants every action but the listed ones: always a wildcard grant.
        for (const action of toList(st.NotAction)) {
          found.push({ logicalId, resourceType: res.Type, field: 'NotAction', action: String(action) });
        }
      }
    }
  }
  return found;
}

/** Fails on any IAM policy statement whose Action (or NotAction) is `*` or `service:*`. */
export function expectNoWildcardActions(template: Template): void {
  const found = findWildcardActions(template);
  if (found.length > 0) {
    const lines = found.map((f) => `  ${f.logicalId} (${f.resourceType}) ${f.field}: ${f.action}`).join('\n');
    throw new Error(`${found.length} wildcard IAM action(s):\n${lines}`);
  }
}

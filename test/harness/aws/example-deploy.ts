/**
 * The offline "deploy" of an example app: synthesize it, provision its stateful resources on the
 * wire layer, then take every custom resource through Create, Update (with a changed property) and,
 * with the stack, Delete, each answered by its bundled handler over the real SDK. The state after
 * each step is checked against what the example's README promises. Used by
 * `npx projen examples` (the "deploy" column) and by test/wire/examples-deploy.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, AppProps } from 'aws-cdk-lib';
import { LifecycleStep, OfflineStack } from './offline-stack';
import { StackModel } from './stack-model';
import { modelOf, tempOutdir } from './synth';
import { WireEnvironment } from './wire-environment';
import { SHARED_DATA_DIR } from '../shared-data';

/** The lifecycle of one custom resource. */
export interface CustomResourceLifecycle {
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  /** SUCCESS, FAILED (with the reason), 'no answer', or 'not run: <why>'. */
  readonly create: string;
  readonly update: string;
  readonly delete: string;
  /** What the state after each step showed that the README does not promise (empty when all is as documented). */
  readonly problems: string[];
}

export interface ExampleDeployResult {
  readonly app: string;
  readonly resources: CustomResourceLifecycle[];
  /** True when every custom resource answered SUCCESS three times and no check failed. */
  readonly ok: boolean;
}

const AWS_URL = 'https://ip-ranges.amazonaws.com/ip-ranges.json';
const GITHUB_URL = 'https://api.github.com/meta';

/** The newest published documents of the shared data, served at their real URLs. */
function serveDocuments(env: WireEnvironment): void {
  const awsDir = path.join(SHARED_DATA_DIR, 'aws-ip-ranges');
  const aws = fs.readdirSync(awsDir).filter((f) => /^ip-ranges-\d+\.json$/.test(f)).sort();
  env.wire.serveDocument(AWS_URL, { body: fs.readFileSync(path.join(awsDir, aws[aws.length - 1])) });
  const ghDir = path.join(SHARED_DATA_DIR, 'github-meta');
  const gh = fs.readdirSync(ghDir).filter((f) => /^meta-.*\.json$/.test(f)).sort();
  env.wire.serveDocument(GITHUB_URL, { body: fs.readFileSync(path.join(ghDir, gh[gh.length - 1])) });
}

/** How each kind of custom resource is changed for the Update, and what the README promises after each step. */
interface Kind {
  /** Set when the handler cannot run on this layer. */
  readonly notRun?: string;
  /** The properties of the Update (a real property changed). */
  update(props: Record<string, any>, env: WireEnvironment): Record<string, any>;
  /** Before Create (seed what the handler acts on). */
  before?(props: Record<string, any>, env: WireEnvironment): void;
  afterCreate?(props: Record<string, any>, env: WireEnvironment, model: StackModel): string[];
  afterDelete?(props: Record<string, any>, env: WireEnvironment, model: StackModel): string[];
}

const OWNED_MARKER = 'managed-by:cdk-production-patterns:';

const KINDS: Record<string, Kind> = {
  'Custom::VpcRestrictDefaultSG': {
    // aws-cdk-lib's own handler behind the feature flag @aws-cdk/aws-ec2:restrictDefaultSecurityGroup
    // (the examples carry the flags `cdk init` writes): it revokes the default security group's
    // self-referencing ingress and its all-traffic egress rule, and puts them back on Delete. Its
    // Update acts only when the group id changes: the Update here changes the account property.
    update: (p) => ({ ...p, Account: String(p.Account) }),
    afterCreate: (p, env) => {
      const left = env.ec2.rulesOf(p.DefaultSecurityGroupId).length + env.ec2.egressRulesOf(p.DefaultSecurityGroupId).length;
      return left === 0 ? [] : [`${left} rule(s) left in the default security group ${p.DefaultSecurityGroupId} after Create`];
    },
    afterDelete: (p, env) => {
      const restored = env.ec2.rulesOf(p.DefaultSecurityGroupId).some((r) => r.referencedGroupId === p.DefaultSecurityGroupId)
        && env.ec2.egressRulesOf(p.DefaultSecurityGroupId).some((r) => r.cidrIpv4 === '0.0.0.0/0');
      return restored ? [] : [`the default rules of ${p.DefaultSecurityGroupId} were not put back on Delete`];
    },
  },
  'Custom::IpRangeSync': {
    update: (p) => ({ ...p, MaxRemovePercent: String(p.MaxRemovePercent) === '40' ? '50' : '40' }),
    afterCreate: (p, env) => targetProblems(p, env, 'filled'),
    // README: on stack deletion the owned security-group rules are revoked; prefix lists and IP sets go with the stack.
    afterDelete: (p, env) => targetProblems(p, env, 'no owned rules'),
  },
  'Custom::PersistentBucketMarker': {
    update: (p) => ({ ...p, ConstructPath: `${p.ConstructPath}/Moved` }),
    afterCreate: (p, env) => (env.s3.getObject(p.BucketName, p.Key) ? [] : [`no marker object s3://${p.BucketName}/${p.Key}`]),
    // README: the bucket is retained, and so is its marker.
    afterDelete: (p, env) => (env.s3.getObject(p.BucketName, p.Key) ? [] : [`the marker s3://${p.BucketName}/${p.Key} is gone after the stack deletion`]),
  },
  'Custom::S3AutoDeleteObjects': {
    before: (p, env) => {
      for (const key of ['a.txt', 'b/c.txt', 'd.bin']) env.s3.putObject(p.BucketName, key, `scratch ${key}`);
    },
    // A new bucket name replaces the resource: CloudFormation then deletes the old one (cleanup).
    update: (p, env) => {
      const renamed = `${p.BucketName}-renamed`.slice(0, 63);
      env.s3.createBucket(renamed, { tags: env.s3.bucketTags(p.BucketName) });
      env.s3.putObject(renamed, 'kept-until-deletion.txt', 'x');
      return { ...p, BucketName: renamed };
    },
    afterCreate: (p, env) => (env.s3.keys(p.BucketName).length === 3 ? [] : [`Create changed the objects of ${p.BucketName}`]),
    // README (aws-cdk-lib autoDeleteObjects): the bucket is emptied when the stack is deleted.
    afterDelete: (p, env) => {
      // p is what the resource holds last: the renamed bucket; the original went in the Update's cleanup.
      const buckets = [...new Set([p.BucketName, String(p.BucketName).replace(/-renamed$/, '')])].filter((b) => env.s3.hasBucket(b));
      const left = buckets.reduce((n, b) => n + env.s3.keys(b).length, 0);
      return left === 0 ? [] : [`${left} object(s) left in ${buckets.join(', ')} after the stack deletion`];
    },
  },
  'Custom::LambdaVersionPruner': {
    // The VersionPruner's after-deploy run (README "Version pruner"). Each target function is seeded
    // with 30 numbered versions, an alias on the newest and one on version 2; the Update is the next
    // deployment: 3 more versions published, PublishedVersions names the newest.
    before: (p, env) => {
      for (const t of p.Targets as Array<Record<string, any>>) {
        const name = String(t.functionName).split(':function:').pop()!;
        if (env.lambdaApi.hasFunction(name)) continue;
        env.lambdaApi.createFunction(name, {
          versions: 30,
          capacityProviderArn: t.capacityProvider ? `arn:aws:lambda:us-east-1:123456789012:capacity-provider:${t.capacityProvider}` : undefined,
        });
        env.lambdaApi.setAlias(name, 'live', '30');
        env.lambdaApi.setAlias(name, 'pinned', '2');
      }
    },
    update: (p, env) => {
      const published = (p.Targets as Array<Record<string, any>>).map((t) => {
        const name = String(t.functionName).split(':function:').pop()!;
        const added = env.lambdaApi.publishVersions(name, 3);
        return `${t.functionName}:${added[added.length - 1]}`;
      });
      env.lambdaApi.mark('version-pruner-update');
      return { ...p, PublishedVersions: published };
    },
    // README: keeps the newest versionsToKeep numbered versions and every aliased one, never $LATEST/$LATEST.PUBLISHED; dry run deletes nothing.
    afterCreate: (p, env) => (p.Targets as Array<Record<string, any>>).flatMap((t) => {
      const name = String(t.functionName).split(':function:').pop()!;
      const keep = Number(t.versionsToKeep ?? p.VersionsToKeep);
      const numbered = env.lambdaApi.versionsOf(name).filter((v) => /^\d+$/.test(v));
      const expected = String(p.DryRun) === 'true'
        ? Array.from({ length: 30 }, (_, i) => String(i + 1))
        : [...new Set(['2', ...Array.from({ length: Math.min(keep, 30) }, (_, i) => String(30 - i))])].sort((a, b) => Number(a) - Number(b));
      const problems = JSON.stringify(numbered) === JSON.stringify(expected) ? [] : [`${name} holds versions ${numbered.join(',')} after Create, expected ${expected.join(',')}`];
      if (!env.lambdaApi.versionsOf(name).includes('$LATEST')) problems.push(`$LATEST of ${name} is gone`);
      return problems;
    }),
    // README: Delete changes nothing: since the Update, one run only (the Update's first-page listing of each target), and no other delete.
    afterDelete: (p, env) => {
      const since = env.lambdaApi.since('version-pruner-update');
      return (p.Targets as Array<Record<string, any>>).flatMap((t) => {
        const name = String(t.functionName).split(':function:').pop()!;
        const runs = since.filter((l) => l.action === 'ListVersionsByFunction' && l.functionName === t.functionName && !l.marker && !l.error).length;
        const deletes = since.filter((l) => l.action === 'DeleteFunction' && l.functionName === t.functionName && !l.error).length;
        // the Update's run deletes the 3 versions the deployment pushed out of the newest N (fewer when N is large)
        return runs === 1 && deletes <= 3 ? [] : [`${name}: ${runs} run(s) and ${deletes} delete(s) since the Update: Delete must change nothing`];
      });
    },
  },
  'Custom::S3BucketNotifications': {
    // aws-cdk-lib's inline Python handler (boto3). The Update turns EventBridge delivery off.
    update: (p) => ({ ...p, NotificationConfiguration: {} }),
    afterCreate: (p, env) => ((env.s3.notificationConfiguration(p.BucketName) ?? '').includes('EventBridgeConfiguration')
      ? [] : [`no EventBridgeConfiguration on ${p.BucketName} after Create`]),
    // Managed notifications are removed with the stack.
    afterDelete: (p, env) => ((env.s3.notificationConfiguration(p.BucketName) ?? '').includes('EventBridgeConfiguration')
      ? [`EventBridgeConfiguration left on ${p.BucketName} after the stack deletion`] : []),
  },
};

function targetProblems(p: Record<string, any>, env: WireEnvironment, expect: 'filled' | 'no owned rules'): string[] {
  const target = p.Target;
  if (target.kind === 'securityGroups') {
    const rules = (target.groupIds as string[]).flatMap((g) => env.ec2.rulesOf(g));
    const owned = rules.filter((r) => (r.description ?? '').startsWith(OWNED_MARKER)).length;
    if (expect === 'filled') return owned > 0 ? [] : ['no rules were added to the security groups'];
    return owned === 0 ? [] : [`${owned} owned rule(s) left in the security groups`];
  }
  if (expect === 'no owned rules') return [];
  if (target.kind === 'prefixList') {
    const empty = (target.lists as Array<{ id: string }>).filter((l) => env.ec2.prefixList(l.id).cidrs.length === 0);
    return empty.map((l) => `prefix list ${l.id} is empty`);
  }
  const empty = (target.sets as Array<{ id: string }>).filter((s) => env.wafv2.ipSet(s.id).addresses.length === 0);
  return empty.map((s) => `IP set ${s.id} is empty`);
}

function outcome(step: LifecycleStep | undefined): string {
  if (!step) return 'no answer';
  if (step.response) return step.response.Status === 'SUCCESS' ? 'SUCCESS' : `FAILED: ${step.response.Reason}`;
  return `no answer${step.error ? ` (${step.error.errorType}: ${step.error.errorMessage})` : ''}`;
}

type Row = { create: string; update: string; delete: string; problems: string[]; type: string };

/**
 * A rotation schedule is no custom resource, but setting one runs our rotation function: Secrets
 * Manager checks the configuration when the schedule is created or changed (without
 * RotateImmediatelyOnUpdate it runs the testSecret step on a temporary AWSPENDING version and
 * removes it; with it, a whole rotation). Create and Update do that, and must leave the key as it
 * was when the schedule does not rotate at once; after Create one scheduled rotation runs (the four
 * steps, as Secrets Manager runs them): the key must change and the old one stay as AWSPREVIOUS.
 * Delete turns rotation off (nothing is invoked).
 */
async function rotationScheduleLifecycle(stack: OfflineStack, env: WireEnvironment, model: StackModel, logicalId: string): Promise<Row> {
  const raw = model.resources[logicalId].Properties ?? {};
  const row: Row = { type: 'AWS::SecretsManager::RotationSchedule', create: '', update: '', delete: '', problems: [] };
  const fnId = raw.RotationLambdaARN?.['Fn::GetAtt']?.[0];
  if (!fnId) {
    row.create = row.update = row.delete = 'not run: the rotation function is not a function of the stack';
    row.problems.push(`${logicalId}: RotationLambdaARN does not name a function of the stack`);
    return row;
  }
  const fn = stack.function(model.fn(fnId));
  const secretArn = String(model.resolve(raw.SecretId));
  const immediately = raw.RotateImmediatelyOnUpdate !== false;
  const current = () => env.secretsManager.versionWithStage(secretArn, 'AWSCURRENT');
  const steps = async (names: string[]): Promise<string> => {
    const token = env.secretsManager.startRotation(secretArn);
    for (const Step of names) {
      const out = await fn.invoke({ Step, SecretId: secretArn, ClientRequestToken: token });
      if (out.error) return `FAILED: ${Step}: ${out.error.errorType}: ${out.error.errorMessage}`;
    }
    return 'SUCCESS';
  };
  /** What Secrets Manager does when the schedule is set. */
  const configure = async (): Promise<string> => {
    env.secretsManager.enableRotation(secretArn);
    const before = current()?.versionId;
    const result = await steps(immediately ? ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] : ['testSecret']);
    if (!immediately) {
      env.secretsManager.removeStage(secretArn, 'AWSPENDING');
      if (current()?.versionId !== before) row.problems.push(`${logicalId}: setting the schedule changed the key (RotateImmediatelyOnUpdate is false)`);
    }
    return result;
  };
  row.create = await configure();
  const before = current();
  const rotated = await steps(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
  const after = current();
  if (rotated !== 'SUCCESS') {
    row.problems.push(`${logicalId}: a scheduled rotation ${rotated}`);
  } else if (!after || after.versionId === before?.versionId || after.secretString === before?.secretString) {
    row.problems.push(`${logicalId}: a scheduled rotation left the key as it was`);
  } else if (env.secretsManager.versionWithStage(secretArn, 'AWSPREVIOUS')?.versionId !== before?.versionId) {
    row.problems.push(`${logicalId}: after a rotation the old key is not AWSPREVIOUS`);
  }
  row.update = await configure();
  env.secretsManager.enableRotation(secretArn, false);
  row.delete = 'SUCCESS';
  return row;
}

/** Deploys one example app offline and reports each custom resource's lifecycle (and each rotation schedule's). */
export async function deployExampleOffline(name: string, createApp: (props?: AppProps) => App): Promise<ExampleDeployResult> {
  const app = createApp({ outdir: tempOutdir(`example-${name}`) });
  const assembly = app.synth();
  const resources: CustomResourceLifecycle[] = [];
  for (const artifact of assembly.stacks) {
    const model = modelOf(app, artifact.stackName);
    const env = await WireEnvironment.start();
    const stack = new OfflineStack(env, model);
    try {
      serveDocuments(env);
      await stack.provision();
      const rows = new Map<string, Row>();
      const customResources = model.customResources();
      for (const cr of customResources) {
        const kind = KINDS[cr.type];
        const row = { type: cr.type, create: '', update: '', delete: '', problems: [] as string[] };
        rows.set(cr.logicalId, row);
        if (!kind) {
          row.create = row.update = row.delete = 'not run: no lifecycle check for this type';
          row.problems.push(`unknown custom resource type ${cr.type}: add it to example-deploy.ts`);
          continue;
        }
        if (kind.notRun) {
          row.create = row.update = row.delete = `not run: ${kind.notRun}`;
          continue;
        }
        const props = model.resolve(cr.properties);
        kind.before?.(props, env);
        const created = await stack.request(cr.logicalId, 'Create');
        row.create = outcome(created);
        row.problems.push(...(kind.afterCreate?.(props, env, model) ?? []));
      }
      for (const [logicalId] of model.ofType('AWS::SecretsManager::RotationSchedule')) {
        rows.set(logicalId, await rotationScheduleLifecycle(stack, env, model, logicalId));
      }
      env.cloudFormation.setStack(model.stackId, model.stackName, 'UPDATE_IN_PROGRESS');
      for (const cr of customResources) {
        const kind = KINDS[cr.type];
        const row = rows.get(cr.logicalId)!;
        if (!kind || kind.notRun || row.create !== 'SUCCESS') continue;
        const updated = await stack.request(cr.logicalId, 'Update', kind.update(stack.currentProperties(cr.logicalId)!, env));
        row.update = outcome(updated) + (updated.cleanup ? ` (old resource deleted: ${outcome(updated.cleanup)})` : '');
      }
      env.cloudFormation.setStack(model.stackId, model.stackName, 'DELETE_IN_PROGRESS');
      for (const cr of [...customResources].reverse()) {
        const kind = KINDS[cr.type];
        const row = rows.get(cr.logicalId)!;
        if (!kind || kind.notRun || row.create !== 'SUCCESS') continue;
        const props = stack.currentProperties(cr.logicalId)!;
        const deleted = await stack.request(cr.logicalId, 'Delete');
        row.delete = outcome(deleted);
        row.problems.push(...(kind.afterDelete?.(props, env, model) ?? []));
      }
      for (const [logicalId, row] of rows) resources.push({ stack: model.stackName, logicalId, ...row });
    } finally {
      await stack.close();
      await env.stop();
    }
  }
  const ok = resources.every((r) => r.problems.length === 0
    && (r.create.startsWith('not run:') || [r.create, r.update, r.delete].every((s) => s.startsWith('SUCCESS'))));
  return { app: name, resources, ok };
}

/** `3/3 custom resources C/U/D SUCCESS (1 not run)` for the examples table. */
export function summarize(result: ExampleDeployResult): string {
  const run = result.resources.filter((r) => !r.create.startsWith('not run:'));
  const green = run.filter((r) => r.problems.length === 0 && [r.create, r.update, r.delete].every((s) => s.startsWith('SUCCESS'))).length;
  const notRun = result.resources.length - run.length;
  return `${green}/${run.length} CR C/U/D ok${notRun ? ` (${notRun} not run)` : ''}`;
}

/**
 * "Deploys" a synthesized stack offline on the wire layer: creates what its custom resources and
 * handlers need (DynamoDB tables in dynalite, security groups and prefix lists, WAF IP sets, S3
 * buckets, topics, secrets), then drives every custom resource through Create, Update and Delete
 * the way CloudFormation does: the event goes to the function its ServiceToken names, run as its
 * bundled asset, and the answer PUT to the ResponseURL is captured.
 */
import * as crypto from 'crypto';
import { LocalLambda } from './lambda-runner';
import { StackFunction, StackModel } from './stack-model';
import { LocalFunction, WireEnvironment } from './wire-environment';
import { CapturedCfnResponse } from './wire-server';

/** One custom-resource request and what came of it. */
export interface LifecycleStep {
  readonly logicalId: string;
  readonly type: string;
  readonly requestType: 'Create' | 'Update' | 'Delete';
  /** The answer PUT to the ResponseURL (undefined when none came). */
  readonly response?: CapturedCfnResponse;
  /** What the function returned or threw, and its log lines. */
  readonly error?: { errorType: string; errorMessage: string };
  readonly logs: Array<Record<string, any>>;
  /** The cleanup Delete of the old resource, when an Update replaced it (a new physical id). */
  readonly cleanup?: LifecycleStep;
}

/**
 * CloudFormation hands a custom resource its properties with every scalar as a string (`50` ->
 * "50", `true` -> "true"); handlers that expect numbers or booleans break only in a deployment.
 */
export function asCloudFormationSends(value: unknown): any {
  if (Array.isArray(value)) return value.map(asCloudFormationSends);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, asCloudFormationSends(v)]));
  }
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

export class OfflineStack {
  private readonly lambdas = new Map<string, LocalFunction>();
  private readonly physicalIds = new Map<string, string>();
  private readonly properties = new Map<string, Record<string, any>>();

  constructor(public readonly env: WireEnvironment, public readonly model: StackModel) {}

  /** Creates the stack's stateful resources in the local services (no custom resource yet). */
  public async provision(): Promise<void> {
    const m = this.model;
    this.env.cloudFormation.setStack(m.stackId, m.stackName, 'CREATE_IN_PROGRESS');
    for (const [id, p] of m.ofType('AWS::DynamoDB::Table')) await this.env.dynamodb.createTable(m.ref(id), p);
    for (const [id] of m.ofType('AWS::EC2::SecurityGroup')) this.env.ec2.createSecurityGroup(m.ref(id));
    // Every VPC comes with its default security group and that group's default rules.
    for (const [id] of m.ofType('AWS::EC2::VPC')) this.env.ec2.createSecurityGroup(m.getAtt(id, 'DefaultSecurityGroup'), { defaultRules: true });
    for (const [id, p] of m.ofType('AWS::EC2::PrefixList')) {
      this.env.ec2.createPrefixList(m.ref(id), { maxEntries: Number(p.MaxEntries), addressFamily: p.AddressFamily, name: p.PrefixListName });
    }
    for (const [id, p] of m.ofType('AWS::WAFv2::IPSet')) {
      this.env.wafv2.createIpSet(m.getAtt(id, 'Id'), {
        name: m.ref(id).split('|')[0], scope: p.Scope, addressFamily: p.IPAddressVersion, description: p.Description,
      });
    }
    const policies = new Map(m.ofType('AWS::S3::BucketPolicy').map(([, p]) => [String(m.resolve(p.Bucket)), JSON.stringify(m.resolve(p.PolicyDocument))]));
    for (const [id, p] of m.ofType('AWS::S3::Bucket')) {
      const tags = (m.resolve(p.Tags ?? []) as Array<{ Key: string; Value: string }>);
      this.env.s3.createBucket(m.ref(id), {
        versioned: p.VersioningConfiguration?.Status === 'Enabled',
        tags: tags.length ? Object.fromEntries(tags.map((t) => [t.Key, String(t.Value)])) : undefined,
        policy: policies.get(m.ref(id)),
      });
    }
    for (const [id] of m.ofType('AWS::SNS::Topic')) this.env.sns.createTopic(m.ref(id));
    for (const [id] of m.ofType('AWS::Events::EventBus')) this.env.eventBridge.createEventBus(m.ref(id));
    for (const [id, p] of m.ofType('AWS::SecretsManager::Secret')) {
      const value = p.SecretString !== undefined ? String(m.resolve(p.SecretString)) : crypto.randomBytes(32).toString('base64');
      this.env.secretsManager.createSecret(m.ref(id), value);
    }
    for (const [id] of m.ofType('AWS::StepFunctions::StateMachine')) this.env.stepFunctions.registerStateMachine(m.ref(id));
  }

  /** The stack's function as a warm execution environment (one per function, as Lambda reuses them). */
  public lambda(fn: StackFunction): LocalLambda {
    const l = this.function(fn);
    if (!(l instanceof LocalLambda)) throw new Error(`${fn.logicalId} is not a Node.js function; use function()`);
    return l;
  }

  /** The stack's function of any supported runtime (Node.js bundled asset, Python inline handler). */
  public function(fn: StackFunction): LocalFunction {
    let l = this.lambdas.get(fn.logicalId);
    if (!l) {
      l = this.env.function(fn);
      this.lambdas.set(fn.logicalId, l);
    }
    return l;
  }

  /** Sends one custom-resource request. `properties` replaces the template's (for an Update). */
  public async request(logicalId: string, requestType: 'Create' | 'Update' | 'Delete', properties?: Record<string, any>): Promise<LifecycleStep> {
    const res = this.model.resources[logicalId];
    const old = this.properties.get(logicalId);
    // A Delete carries the properties the resource has now (after any Update), as CloudFormation's does.
    const resolved = asCloudFormationSends(properties ?? (requestType === 'Delete' && old ? old : this.model.resolve(res.Properties ?? {})));
    const requestId = crypto.randomUUID();
    const key = `${logicalId}/${requestId}`;
    const { ServiceToken, ...props } = resolved;
    const event: Record<string, unknown> = {
      RequestType: requestType,
      ServiceToken,
      ResponseURL: this.env.wire.responseUrl(key),
      StackId: this.model.stackId,
      RequestId: requestId,
      LogicalResourceId: logicalId,
      ResourceType: res.Type,
      ResourceProperties: { ServiceToken, ...props },
    };
    if (requestType !== 'Create') event.PhysicalResourceId = this.physicalIds.get(logicalId);
    if (requestType === 'Update') event.OldResourceProperties = old;
    const fn = this.model.serviceTokenFunction(logicalId);
    const out = await this.function(fn).invoke(event);
    const responses = this.env.wire.cfnResponsesFor(key);
    const response = responses[responses.length - 1];
    const previousId = this.physicalIds.get(logicalId);
    if (response?.Status === 'SUCCESS') {
      this.physicalIds.set(logicalId, response.PhysicalResourceId);
      if (requestType !== 'Delete') this.properties.set(logicalId, { ServiceToken, ...props });
    }
    const step: LifecycleStep = { logicalId, type: res.Type, requestType, response, error: out.error, logs: out.logs };
    if (requestType === 'Update' && response?.Status === 'SUCCESS' && previousId && response.PhysicalResourceId !== previousId) {
      // A new physical id is a replacement: CloudFormation deletes the old resource in the cleanup phase.
      const cleanup = await this.send(logicalId, fn, 'Delete', old ?? {}, previousId);
      return { ...step, cleanup };
    }
    return step;
  }

  private async send(
    logicalId: string, fn: StackFunction, requestType: 'Delete', properties: Record<string, any>, physicalId: string,
  ): Promise<LifecycleStep> {
    const requestId = crypto.randomUUID();
    const key = `${logicalId}/${requestId}`;
    const out = await this.function(fn).invoke({
      RequestType: requestType,
      ServiceToken: properties.ServiceToken,
      ResponseURL: this.env.wire.responseUrl(key),
      StackId: this.model.stackId,
      RequestId: requestId,
      LogicalResourceId: logicalId,
      ResourceType: this.model.resources[logicalId].Type,
      PhysicalResourceId: physicalId,
      ResourceProperties: properties,
    });
    const responses = this.env.wire.cfnResponsesFor(key);
    const type = this.model.resources[logicalId].Type;
    return { logicalId, type, requestType, response: responses[responses.length - 1], error: out.error, logs: out.logs };
  }

  /** Create every custom resource in template order. */
  public async createAll(): Promise<LifecycleStep[]> {
    const steps: LifecycleStep[] = [];
    for (const cr of this.model.customResources()) steps.push(await this.request(cr.logicalId, 'Create'));
    this.env.cloudFormation.setStack(this.model.stackId, this.model.stackName, 'CREATE_COMPLETE');
    return steps;
  }

  /**
   * Deletes the stack: the status turns DELETE_IN_PROGRESS and every custom resource gets a Delete,
   * in reverse order.
   */
  public async deleteAll(): Promise<LifecycleStep[]> {
    this.env.cloudFormation.setStack(this.model.stackId, this.model.stackName, 'DELETE_IN_PROGRESS');
    const steps: LifecycleStep[] = [];
    for (const cr of [...this.model.customResources()].reverse()) steps.push(await this.request(cr.logicalId, 'Delete'));
    return steps;
  }

  public physicalId(logicalId: string): string | undefined {
    return this.physicalIds.get(logicalId);
  }

  /** The properties the resource was last created or updated with. */
  public currentProperties(logicalId: string): Record<string, any> | undefined {
    return this.properties.get(logicalId);
  }

  public async close(): Promise<void> {
    await Promise.all([...this.lambdas.values()].map((l) => l.close()));
    this.lambdas.clear();
  }
}

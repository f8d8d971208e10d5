/**
 * A synthesized stack as CloudFormation would resolve it: physical ids of the shape each resource
 * type really has (a table name, `sg-…`, `pl-…`, a topic ARN), intrinsic functions resolved the way
 * CloudFormation resolves them, and each Lambda function's bundled asset and environment.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

export const WIRE_ACCOUNT = '123456789012';
export const WIRE_REGION = 'us-east-1';

export interface StackModelOptions {
  /** The folder the template's assets were staged in (the cloud assembly directory). */
  readonly assemblyDir: string;
  /** @default the template's stack name from StackId, or 'WireStack' */
  readonly stackName?: string;
  /** @default WIRE_REGION */
  readonly region?: string;
  /** Values for the template's parameters (defaults apply otherwise). */
  readonly parameters?: Record<string, string>;
  /**
   * Staged asset folders by asset hash, relative to assemblyDir (a folder keeps its source's
   * extension, `asset.<hash>.lambda`).
   * @default - read from the asset manifests (`*.assets.json`) in assemblyDir
   */
  readonly assetPaths?: Record<string, string>;
}

/** A Lambda function of the stack, ready to run as its bundled asset. */
export interface StackFunction {
  readonly logicalId: string;
  readonly functionName: string;
  readonly assetDir: string;
  readonly handler: string;
  readonly environment: Record<string, string>;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** The Lambda runtime (`nodejs24.x`, `python3.13`...). */
  readonly runtime: string;
}

function hex(seed: string, length: number): string {
  return crypto.createHash('sha256').update(seed).digest('hex').slice(0, length);
}

export class StackModel {
  public readonly resources: Record<string, { Type: string; Properties?: Record<string, any>; [k: string]: any }>;
  public readonly stackName: string;
  public readonly region: string;
  public readonly stackId: string;
  private stagedAssets?: Record<string, string>;

  constructor(public readonly template: Record<string, any>, private readonly options: StackModelOptions) {
    this.resources = template.Resources ?? {};
    this.stackName = options.stackName ?? 'WireStack';
    this.region = options.region ?? WIRE_REGION;
    this.stackId = `arn:aws:cloudformation:${this.region}:${WIRE_ACCOUNT}:stack/${this.stackName}/${hex(this.stackName, 8)}-wire`;
  }

  /** Where an asset was staged, by hash: as given, else from the assembly's asset manifests. */
  private assetPath(hash: string): string {
    if (!this.stagedAssets) {
      this.stagedAssets = { ...this.options.assetPaths };
      if (!this.options.assetPaths && fs.existsSync(this.options.assemblyDir)) {
        for (const file of fs.readdirSync(this.options.assemblyDir).filter((f) => f.endsWith('.assets.json'))) {
          const files: Record<string, { source: { path?: string } }> = JSON.parse(fs.readFileSync(path.join(this.options.assemblyDir, file), 'utf8')).files ?? {};
          for (const [h, entry] of Object.entries(files)) if (entry.source.path) this.stagedAssets[h] = entry.source.path;
        }
      }
    }
    return this.stagedAssets[hash] ?? `asset.${hash}`;
  }

  public ofType(type: string): Array<[string, Record<string, any>]> {
    return Object.entries(this.resources).filter(([, r]) => r.Type === type).map(([id, r]) => [id, r.Properties ?? {}]);
  }

  /** The value `Ref` answers for a resource. */
  public ref(logicalId: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': this.region,
      'AWS::AccountId': WIRE_ACCOUNT,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': this.stackName,
      'AWS::StackId': this.stackId,
      'AWS::NoValue': '',
    };
    if (logicalId in pseudo) return pseudo[logicalId];
    const param = this.template.Parameters?.[logicalId];
    if (param) return this.options.parameters?.[logicalId] ?? String(param.Default ?? `${logicalId}-value`);
    const res = this.resources[logicalId];
    if (!res) throw new Error(`StackModel: Ref to unknown logical id ${logicalId}`);
    const name = this.physicalName(logicalId);
    const r = this.region;
    switch (res.Type) {
      case 'AWS::EC2::SecurityGroup': return `sg-${hex(logicalId, 17)}`;
      case 'AWS::EC2::PrefixList': return `pl-${hex(logicalId, 17)}`;
      case 'AWS::EC2::VPC': return `vpc-${hex(logicalId, 17)}`;
      case 'AWS::EC2::Subnet': return `subnet-${hex(logicalId, 17)}`;
      case 'AWS::SNS::Topic': return `arn:aws:sns:${r}:${WIRE_ACCOUNT}:${name}`;
      case 'AWS::SQS::Queue': return `https://sqs.${r}.amazonaws.com/${WIRE_ACCOUNT}/${name}`;
      case 'AWS::SecretsManager::Secret': return `arn:aws:secretsmanager:${r}:${WIRE_ACCOUNT}:secret:${name}-${hex(logicalId, 6)}`;
      case 'AWS::StepFunctions::StateMachine': return `arn:aws:states:${r}:${WIRE_ACCOUNT}:stateMachine:${name}`;
      case 'AWS::KMS::Key': return `${hex(logicalId, 8)}-${hex(logicalId + 1, 4)}-4${hex(logicalId + 2, 3)}-8${hex(logicalId + 3, 3)}-${hex(logicalId + 4, 12)}`;
      case 'AWS::WAFv2::IPSet': return `${this.wafName(logicalId)}|${this.wafId(logicalId)}|${res.Properties?.Scope ?? 'REGIONAL'}`;
      case 'AWS::ApiGateway::RestApi': return hex(logicalId, 10);
      default: return name;
    }
  }

  /** The value `Fn::GetAtt` answers. */
  public getAtt(logicalId: string, attribute: string): string {
    const res = this.resources[logicalId];
    if (!res) throw new Error(`StackModel: GetAtt of unknown logical id ${logicalId}`);
    const name = this.physicalName(logicalId);
    const r = this.region;
    const a = WIRE_ACCOUNT;
    const key = `${res.Type}.${attribute}`;
    switch (key) {
      case 'AWS::EC2::SecurityGroup.GroupId': return this.ref(logicalId);
      case 'AWS::EC2::PrefixList.PrefixListId': return this.ref(logicalId);
      case 'AWS::EC2::VPC.DefaultSecurityGroup': return `sg-${hex(`${logicalId}/default`, 17)}`;
      case 'AWS::EC2::PrefixList.Arn': return `arn:aws:ec2:${r}:${a}:prefix-list/${this.ref(logicalId)}`;
      case 'AWS::WAFv2::IPSet.Id': return this.wafId(logicalId);
      case 'AWS::WAFv2::IPSet.Arn': return `arn:aws:wafv2:${r}:${a}:regional/ipset/${this.wafName(logicalId)}/${this.wafId(logicalId)}`;
      case 'AWS::DynamoDB::Table.Arn': return `arn:aws:dynamodb:${r}:${a}:table/${name}`;
      case 'AWS::DynamoDB::Table.StreamArn': return `arn:aws:dynamodb:${r}:${a}:table/${name}/stream/2026-12-01T00:00:00.000`;
      case 'AWS::S3::Bucket.Arn': return `arn:aws:s3:::${name}`;
      case 'AWS::S3::Bucket.DomainName': return `${name}.s3.amazonaws.com`;
      case 'AWS::S3::Bucket.RegionalDomainName': return `${name}.s3.${r}.amazonaws.com`;
      case 'AWS::SNS::Topic.TopicArn': return this.ref(logicalId);
      case 'AWS::SNS::Topic.TopicName': return name;
      case 'AWS::SQS::Queue.Arn': return `arn:aws:sqs:${r}:${a}:${name}`;
      case 'AWS::SQS::Queue.QueueName': return name;
      case 'AWS::SQS::Queue.QueueUrl': return this.ref(logicalId);
      case 'AWS::Lambda::Function.Arn': return `arn:aws:lambda:${r}:${a}:function:${name}`;
      case 'AWS::IAM::Role.Arn': return `arn:aws:iam::${a}:role/${name}`;
      case 'AWS::KMS::Key.Arn': return `arn:aws:kms:${r}:${a}:key/${this.ref(logicalId)}`;
      case 'AWS::StepFunctions::StateMachine.Arn': return this.ref(logicalId);
      case 'AWS::StepFunctions::StateMachine.Name': return name;
      case 'AWS::Events::EventBus.Arn': return `arn:aws:events:${r}:${a}:event-bus/${name}`;
      case 'AWS::Events::EventBus.Name': return name;
      case 'AWS::Logs::LogGroup.Arn': return `arn:aws:logs:${r}:${a}:log-group:${name}:*`;
      case 'AWS::SecretsManager::Secret.Id': return this.ref(logicalId);
      case 'AWS::ApiGateway::RestApi.RootResourceId': return hex(`${logicalId}/root`, 10);
      default: return `arn:aws:wire:${r}:${a}:${logicalId}/${attribute}`;
    }
  }

  /** The physical name of a resource: its explicit name property if it has one, else generated as CloudFormation does. */
  public physicalName(logicalId: string): string {
    const res = this.resources[logicalId];
    const p = res?.Properties ?? {};
    const explicit = p.TableName ?? p.BucketName ?? p.TopicName ?? p.QueueName ?? p.FunctionName ?? p.StateMachineName
      ?? p.Name ?? p.RoleName ?? p.LogGroupName;
    if (explicit !== undefined && res?.Type !== 'AWS::WAFv2::IPSet') return String(this.resolve(explicit));
    const generated = `${this.stackName}-${logicalId}-${hex(logicalId, 12).toUpperCase()}`;
    return res?.Type === 'AWS::S3::Bucket' ? generated.toLowerCase().slice(0, 63) : generated.slice(0, 64);
  }

  private wafName(logicalId: string): string {
    const p = this.resources[logicalId]?.Properties ?? {};
    return p.Name !== undefined ? String(this.resolve(p.Name)) : `${logicalId}-${hex(logicalId, 8)}`;
  }

  private wafId(logicalId: string): string {
    const h = hex(`waf/${logicalId}`, 32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  }

  /** Resolves intrinsic functions in a value, recursively. */
  public resolve(value: any): any {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (!value || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [k] = keys;
      const arg = value[k];
      switch (k) {
        case 'Ref': return this.ref(arg);
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? arg : String(arg).split('.');
          return this.getAtt(id, attr);
        }
        case 'Fn::Join': return (this.resolve(arg[1]) as any[]).join(arg[0]);
        case 'Fn::Select': return (this.resolve(arg[1]) as any[])[Number(this.resolve(arg[0]))];
        case 'Fn::Split': return String(this.resolve(arg[1])).split(arg[0]);
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
          return String(text).replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
            if (vars[name] !== undefined) return String(this.resolve(vars[name]));
            const dot = name.indexOf('.');
            return dot > 0 && !name.startsWith('AWS::') ? this.getAtt(name.slice(0, dot), name.slice(dot + 1)) : this.ref(name);
          });
        }
        case 'Fn::If': {
          const [cond, yes, no] = arg;
          return this.resolve(this.condition(cond) ? yes : no);
        }
        case 'Fn::GetAZs': return ['a', 'b', 'c'].map((z) => `${this.region}${z}`);
        case 'Fn::Base64': return Buffer.from(String(this.resolve(arg))).toString('base64');
        default: break;
      }
    }
    const out: Record<string, any> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.resolve(v);
    return out;
  }

  private condition(name: string): boolean {
    const c = this.template.Conditions?.[name];
    if (!c) throw new Error(`StackModel: unknown condition ${name}`);
    return this.evalCondition(c);
  }

  private evalCondition(c: any): boolean {
    if (c.Condition) return this.condition(c.Condition);
    if (c['Fn::Equals']) {
      const [a, b] = c['Fn::Equals'];
      return String(this.resolve(a)) === String(this.resolve(b));
    }
    if (c['Fn::Not']) return !this.evalCondition(c['Fn::Not'][0]);
    if (c['Fn::And']) return (c['Fn::And'] as any[]).every((x) => this.evalCondition(x));
    if (c['Fn::Or']) return (c['Fn::Or'] as any[]).some((x) => this.evalCondition(x));
    throw new Error(`StackModel: unsupported condition ${JSON.stringify(c)}`);
  }

  /** Every Lambda function of the stack, with its staged asset folder and resolved environment. */
  public functions(): StackFunction[] {
    return this.ofType('AWS::Lambda::Function').map(([logicalId, p]) => {
      const key = this.resolve(p.Code?.S3Key) as string | undefined;
      const runtime = String(p.Runtime ?? 'nodejs24.x');
      let assetDir: string;
      if (key) {
        const hash = key.replace(/\.zip$/, '');
        assetDir = path.join(this.options.assemblyDir, this.assetPath(hash));
      } else if (p.Code?.ZipFile !== undefined) {
        // Inline code: CloudFormation writes it as index.py / index.js.
        assetDir = path.join(this.options.assemblyDir, `inline.${logicalId}`);
        fs.mkdirSync(assetDir, { recursive: true });
        fs.writeFileSync(path.join(assetDir, runtime.startsWith('python') ? 'index.py' : 'index.js'), String(this.resolve(p.Code.ZipFile)));
      } else {
        throw new Error(`StackModel: function ${logicalId} has neither an S3 asset nor inline code`);
      }
      const vars = p.Environment?.Variables ?? {};
      const environment: Record<string, string> = {};
      for (const [k, v] of Object.entries(vars)) environment[k] = String(this.resolve(v));
      return {
        logicalId,
        functionName: this.physicalName(logicalId),
        assetDir,
        runtime,
        handler: p.Handler ?? 'index.handler',
        environment,
        timeoutSeconds: Number(p.Timeout ?? 3),
        memoryMb: Number(p.MemorySize ?? 128),
      };
    });
  }

  public fn(logicalId: string): StackFunction {
    const f = this.functions().find((x) => x.logicalId === logicalId);
    if (!f) throw new Error(`StackModel: no function ${logicalId}; have ${this.functions().map((x) => x.logicalId).join(', ')}`);
    return f;
  }

  /** The function a custom resource's ServiceToken points at. */
  public serviceTokenFunction(customResourceId: string): StackFunction {
    const token = this.resources[customResourceId]?.Properties?.ServiceToken;
    const id = token?.['Fn::GetAtt']?.[0] ?? token?.Ref;
    if (!id) throw new Error(`StackModel: ${customResourceId} has no ServiceToken pointing at a function of the stack`);
    return this.fn(id);
  }

  /** Custom resources, in template order. */
  public customResources(): Array<{ logicalId: string; type: string; properties: Record<string, any> }> {
    return Object.entries(this.resources)
      .filter(([, r]) => r.Type === 'AWS::CloudFormation::CustomResource' || r.Type.startsWith('Custom::'))
      .map(([logicalId, r]) => ({ logicalId, type: r.Type, properties: r.Properties ?? {} }));
  }
}

import * as fs from 'fs';
import * as path from 'path';
import { IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport, PolicyViolation, Stage, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { isCustomResourceType, lookupType } from './deployment-policy-types';

/** The IAM policy language version every generated document uses. */
const POLICY_VERSION = '2012-10-17';
/** IAM rejects a managed policy document longer than this (whitespace not counted). */
const MANAGED_POLICY_MAX_CHARS = 6144;

/**
 * Maps CloudFormation resource types the built-in table does not know (third-party or new types) to IAM services.
 */
export interface ResourceTypeMapping {
  /**
   * A resource type (`AWS::Foo::Bar`) or a prefix ending in `::` or `*` (`AWS::Foo::`, `MyOrg::*`).
   * An exact type wins over a prefix, a longer prefix over a shorter one, and both over the built-in table.
   */
  readonly resourceType: string;
  /**
   * IAM service prefixes whose actions the type needs (`foo` grants `foo:*`). Empty: the type needs nothing.
   */
  readonly services: string[];
  /**
   * The service is global: its actions are not restricted with `aws:RequestedRegion`.
   * @default false
   */
  readonly isGlobal?: boolean;
}

/**
 * What the generated policy is made from, besides the templates.
 */
export interface DeploymentPolicyOptions {
  /**
   * The name of the customer managed policy you create from the document. The IAM statement excludes
   * it with `NotResource`, so the execution role cannot widen its own policy, and the bootstrap command uses it.
   * @default 'cdk-execution-policy'
   */
  readonly policyName?: string;
  /**
   * Regions the regional services are allowed in (`aws:RequestedRegion`), in addition to the regions of the
   * stacks that have one. Required when a stack is environment-agnostic (its region is only known at deploy time).
   * @default - the regions of the app's stacks
   */
  readonly regions?: string[];
  /**
   * The AWS partition of the ARNs in the document.
   * @default 'aws'
   */
  readonly partition?: string;
  /**
   * Mappings for resource types the built-in table does not know, or to override it.
   * @default - the built-in table only
   */
  readonly resourceTypeMappings?: ResourceTypeMapping[];
  /**
   * Extra regional actions (`service:Action` or `service:*`), e.g. for an imported KMS key a resource encrypts with.
   * @default - none
   */
  readonly additionalActions?: string[];
  /**
   * Accept resource types the table does not know: they are listed in `unknownResourceTypes` (and printed)
   * instead of failing. The policy then lacks what they need.
   * @default false - an unknown resource type is an error
   */
  readonly allowUnknownResourceTypes?: boolean;
  /**
   * The bootstrap qualifier the app deploys with. The IAM statements exclude that bootstrap's roles
   * (`role/cdk-<qualifier>-*`), and the printed command uses it. Give one (and a toolkit stack name) when a
   * second project with a different policy shares the account and region.
   * @default - the default qualifier (hnb659fds) and toolkit stack (CDKToolkit)
   */
  readonly qualifier?: string;
  /**
   * A permissions boundary every role of the app carries (for example CDK's `--custom-permissions-boundary`
   * at bootstrap, or `PermissionsBoundary.of(app).apply(...)`). The role-writing actions (CreateRole,
   * Put/DeleteRolePolicy, Attach/DetachRolePolicy, PutRolePermissionsBoundary) are then allowed only with
   * `iam:PermissionsBoundary` equal to it, and DeleteRolePermissionsBoundary not at all: the execution role can
   * no longer create or widen a role beyond the boundary (without one it can, see the README).
   * @default - no boundary condition
   */
  readonly permissionsBoundaryArn?: string;
}

/**
 * Options of `DeploymentPolicy.of()`: generation, where the document goes, and check mode.
 */
export interface DeploymentPolicyProps extends DeploymentPolicyOptions {
  /**
   * Where the policy document is written at synth. A relative path is resolved against the working directory
   * (the folder of `cdk.json` under `cdk synth`). A copy always goes into the cloud assembly (`cdk.out`).
   * @default 'cdk-execution-policy.json'
   */
  readonly outputFile?: string;
  /**
   * Check mode: the deployed execution policy, exported to a file (the output of `aws iam get-policy-version`,
   * or the bare policy document). Synth fails, naming the services and actions, when the app needs one the
   * deployed policy does not allow.
   * @default - no check
   */
  readonly deployedPolicyFile?: string;
  /**
   * Print the `cdk bootstrap --cloudformation-execution-policies` command (once per synth, to stderr).
   * @default true
   */
  readonly printBootstrapCommand?: boolean;
  /**
   * The toolkit stack name shown in the printed command.
   * @default - 'CDKToolkit', or 'CDKToolkit-<qualifier>' when a qualifier is given
   */
  readonly toolkitStackName?: string;
}

/**
 * One synthesized CloudFormation template, as the generator reads it.
 */
export interface StackTemplate {
  /** A name for messages (the stack's construct path or artifact id). */
  readonly name: string;
  /** The template, as JSON text. */
  readonly templateJson: string;
  /**
   * The stack's region.
   * @default - environment-agnostic: the `regions` option must be given
   */
  readonly region?: string;
  /**
   * The stack's account, shown in the bootstrap command.
   * @default - unknown
   */
  readonly account?: string;
  /**
   * The folder the template was read from; nested stack templates (`aws:asset:path` metadata of
   * `AWS::CloudFormation::Stack` resources) are read from it.
   * @default - nested stack templates are not followed (their resources are reported as not covered)
   */
  readonly directory?: string;
}

/**
 * A permission the deployed policy lacks.
 */
export interface MissingPermission {
  /** The IAM action (`lambda:*`, `iam:PassRole`...). */
  readonly action: string;
  /** Its service prefix. */
  readonly service: string;
  /**
   * The region it is missing in.
   * @default - not region-bound (a global or IAM action)
   */
  readonly region?: string;
  /** The resource types that need it. */
  readonly neededBy: string[];
}

/**
 * The outcome of comparing the generated policy with the deployed one.
 */
export interface PolicyCheckResult {
  /** True when the deployed policy allows everything the app needs. */
  readonly ok: boolean;
  /** Services (IAM prefixes) with at least one missing action, sorted. */
  readonly missingServices: string[];
  /** Each missing action, sorted by action then region. */
  readonly missing: MissingPermission[];
  /** A message naming every missing service and action, and how to update the policy. Empty when ok. */
  readonly message: string;
}

/** @internal */
interface Statement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource?: string[] | string;
  NotResource?: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

/** What ExecutionPolicy is made of. */
interface ExecutionPolicyInit {
  policyName: string;
  regions: string[];
  accounts: string[];
  resourceTypes: string[];
  regionalServices: string[];
  globalServices: string[];
  unknownResourceTypes: string[];
  warnings: string[];
  statements: Statement[];
  neededBy: Map<string, Set<string>>;
}

/** A policy statement of a deployed policy, loosely typed (IAM accepts strings or lists). */
interface LooseStatement {
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/**
 * A generated least-privilege CloudFormation execution policy: the document, and what it was made from.
 *
 * Made by `DeploymentPolicy.fromTemplates()`, `DeploymentPolicy.fromTemplateFiles()` or
 * `DeploymentPolicy.fromAssemblyDirectory()`, or at synth by `DeploymentPolicy.of()`.
 */
export class ExecutionPolicy {
  /** @internal */
  public static _create(init: ExecutionPolicyInit): ExecutionPolicy {
    return new ExecutionPolicy(init);
  }

  /** The policy name (the managed policy you create from the document). */
  public readonly policyName: string;
  /** Regions the regional services are restricted to, sorted. */
  public readonly regions: string[];
  /** Accounts of the stacks, sorted (empty when every stack is environment-agnostic). */
  public readonly accounts: string[];
  /** Every resource type in the templates (nested stacks included), sorted. */
  public readonly resourceTypes: string[];
  /** IAM service prefixes allowed in the regions (`aws:RequestedRegion`), sorted. */
  public readonly regionalServices: string[];
  /** IAM service prefixes allowed without a region condition (global services; IAM itself is apart), sorted. */
  public readonly globalServices: string[];
  /** Resource types the table does not know (only with `allowUnknownResourceTypes`), sorted. */
  public readonly unknownResourceTypes: string[];
  /** Problems that make the document incomplete or unusable (nested stack template not found, size over the IAM limit). */
  public readonly warnings: string[];

  private readonly statements: Statement[];
  private readonly neededBy: Map<string, Set<string>>;

  private constructor(init: ExecutionPolicyInit) {
    this.policyName = init.policyName;
    this.regions = init.regions;
    this.accounts = init.accounts;
    this.resourceTypes = init.resourceTypes;
    this.regionalServices = init.regionalServices;
    this.globalServices = init.globalServices;
    this.unknownResourceTypes = init.unknownResourceTypes;
    this.warnings = init.warnings;
    this.statements = init.statements;
    this.neededBy = init.neededBy;
  }

  /**
   * The policy document as stable JSON (statements sorted by Sid, actions and resources sorted, 2-space
   * indent, trailing newline, no timestamps): the same app gives the same bytes.
   */
  public toJson(): string {
    return JSON.stringify({ Version: POLICY_VERSION, Statement: this.statements }, undefined, 2) + '\n';
  }

  /**
   * Every action the document allows, sorted (service wildcards such as `lambda:*` and specific actions).
   */
  public get actions(): string[] {
    return [...new Set(this.statements.flatMap((s) => s.Action))].sort();
  }

  /**
   * The resource types that need an action of the document (`lambda:*` -> `AWS::Lambda::Function`, ...).
   * @param action an action of `actions`
   */
  public neededByOf(action: string): string[] {
    return [...this.neededBy.get(action) ?? []].sort();
  }

  /**
   * The commands that create the managed policy from the document and bootstrap with it.
   * @param policyFile the path of the document as the user will pass it
   * @param qualifier the bootstrap qualifier (a second project in the same account and region needs its own)
   * @param toolkitStackName the toolkit stack name (likewise)
   */
  public bootstrapCommands(policyFile: string, qualifier?: string, toolkitStackName?: string): string {
    const account = this.accounts.length === 1 ? this.accounts[0] : '<account>';
    const partition = this.partition();
    const envs = this.regions.map((r) => `aws://${account}/${r}`).join(' ');
    const extra = [
      qualifier ? `--qualifier ${qualifier}` : '',
      qualifier || toolkitStackName ? `--toolkit-stack-name ${toolkitStackName ?? `CDKToolkit-${qualifier}`}` : '',
    ].filter(Boolean).join(' ');
    return [
      `aws iam create-policy --policy-name ${this.policyName} --policy-document file://${policyFile}`,
      `  (already created: aws iam create-policy-version --policy-arn arn:${partition}:iam::${account}:policy/${this.policyName} ` +
        `--policy-document file://${policyFile} --set-as-default)`,
      `cdk bootstrap ${envs} --cloudformation-execution-policies arn:${partition}:iam::${account}:policy/${this.policyName}${extra ? ` ${extra}` : ''}`,
    ].join('\n');
  }

  /**
   * Compares the document with the deployed policy and lists what the deployed one does not allow.
   *
   * Accepts the output of `aws iam get-policy-version --query PolicyVersion` or of `aws iam get-policy-version`
   * (`{"PolicyVersion": {"Document": ...}}`, the document as JSON or URL-encoded), or the bare document. An action
   * counts as allowed when an Allow statement's `Action` (or `NotAction`) covers it and, for regional actions, its
   * `aws:RequestedRegion` condition (if any) admits each region; an unconditional Deny of it counts as missing.
   * Resource scoping and other conditions of the deployed policy are not evaluated.
   * @param deployedPolicyJson the exported policy, as JSON text
   */
  public check(deployedPolicyJson: string): PolicyCheckResult {
    const deployed = parseDeployedPolicy(deployedPolicyJson);
    const missing: MissingPermission[] = [];
    for (const st of this.statements) {
      const regional = st.Condition?.StringEquals?.['aws:RequestedRegion'];
      for (const action of st.Action) {
        const regions: Array<string | undefined> = regional ? regional : [undefined];
        for (const region of regions) {
          if (!isAllowed(deployed, action, region)) {
            missing.push({ action, service: serviceOf(action), region, neededBy: this.neededByOf(action) });
          }
        }
      }
    }
    const unique = dedupeMissing(missing);
    const missingServices = [...new Set(unique.map((m) => m.service))].sort();
    const message = unique.length === 0 ? '' : [
      `The deployed CloudFormation execution policy lacks ${unique.length} permission(s) the app needs ` +
        `(services: ${missingServices.join(', ')}); a deploy would fail with AccessDenied:`,
      ...unique.map((m) => `  - ${m.action}${m.region ? ` in ${m.region}` : ''}` + (m.neededBy.length ? ` (for ${m.neededBy.join(', ')})` : '')),
      'Update the policy with the generated document: aws iam create-policy-version --policy-arn ' +
        `arn:${this.partition()}:iam::<account>:policy/${this.policyName} --policy-document file://cdk-execution-policy.json --set-as-default ` +
        '(then export it again for this check).',
    ].join('\n');
    return { ok: unique.length === 0, missingServices, missing: unique, message };
  }

  private partition(): string {
    const arn = this.statements.flatMap((s) => s.NotResource ?? []).find((r) => r.startsWith('arn:'));
    return arn ? arn.split(':')[1] : 'aws';
  }
}

/**
 * Generates, from an app's synthesized templates, the least-privilege policy the CDK CloudFormation
 * execution role needs (`cdk bootstrap` gives it AdministratorAccess by default), and checks the deployed one.
 *
 * The document has, each only when needed:
 * - `RegionalServices`: `<service>:*` for every service whose resource types the templates hold, with
 *   `aws:RequestedRegion` limited to the app's regions; custom resources add `lambda:InvokeFunction` (CloudFormation
 *   invokes the provider as the execution role; the provider's own role does the work);
 * - `GlobalServices`: the same for global services (CloudFront, Route 53, Organizations, WAF classic...), without
 *   the region condition;
 * - `IamRolesAndPolicies`: only the role/policy management actions of the IAM types present, with `NotResource`
 *   on the bootstrap roles (`arn:aws:iam::*:role/cdk-*`) and on the policy itself;
 * - `IamPassRole`: `iam:PassRole` for the app's roles, to the services that assume them (`iam:PassedToService`),
 *   never for the bootstrap roles;
 * - `IamPassExecutionRoleToNestedStacks`: with nested stacks, `iam:PassRole` of the execution role itself to
 *   CloudFormation (a nested stack runs with its parent's role);
 * - `IamServiceLinkedRoles`: `iam:CreateServiceLinkedRole` for the services that create one on first use (ELB, ECS...);
 * - `CdkAssets`: read access to the bootstrap file-asset bucket (Lambda code, nested templates) and image
 *   repository when the templates reference them; `CdkBootstrapVersion`: the bootstrap version parameter.
 *
 * Use it at synth with `DeploymentPolicy.of(app)`, or on templates with the static generators.
 *
 * @example
 * import { DeploymentPolicy } from 'cdk-production-patterns';
 *
 * // after the app's stacks are added; at synth: writes the policy, prints the bootstrap command
 * DeploymentPolicy.of(app, { outputFile: 'cdk-execution-policy.json' });
 */
export class DeploymentPolicy implements IPolicyValidationPlugin {
  /** The default policy (and managed policy) name. */
  public static readonly DEFAULT_POLICY_NAME = 'cdk-execution-policy';
  /** The default output file. */
  public static readonly DEFAULT_OUTPUT_FILE = 'cdk-execution-policy.json';

  /**
   * Generates the execution policy at every synth of `app` (all stacks, nested stages and nested stacks), writes
   * it to `outputFile` and into the cloud assembly, prints the bootstrap command once, and in check mode fails
   * synth when the deployed policy lacks a service the app needs. Registers a validation plugin on the app
   * (`Validations.of(app).addPlugins`), so it runs after every template is written.
   * @param app the App (or Stage) whose stacks the policy covers
   * @param props output, check mode and generation options
   */
  public static of(app: Stage, props: DeploymentPolicyProps = {}): DeploymentPolicy {
    if (!Stage.isStage(app)) {
      throw new Error(`DeploymentPolicy.of: ${(app as IConstruct).node?.path ?? String(app)} must be an App or a Stage`);
    }
    const existing = (app as unknown as Record<symbol, DeploymentPolicy | undefined>)[REGISTERED];
    if (existing) {
      throw new Error(`DeploymentPolicy.of: ${app.node.path || 'the app'} already has a DeploymentPolicy; call DeploymentPolicy.of once per app`);
    }
    const plugin = new DeploymentPolicy(props);
    Object.defineProperty(app, REGISTERED, { value: plugin, enumerable: false });
    Validations.of(app).addPlugins(plugin);
    return plugin;
  }

  /**
   * Generates the policy from templates (pure: reads nested stack templates from each template's `directory` only).
   * Throws when a stack is environment-agnostic and no `regions` are given, and when a resource type is unknown
   * (unless `allowUnknownResourceTypes`).
   * @param templates the stacks' templates
   * @param options generation options
   */
  public static fromTemplates(templates: StackTemplate[], options: DeploymentPolicyOptions = {}): ExecutionPolicy {
    return generate(templates, options);
  }

  /**
   * Generates the policy from template files (each file's folder is searched for nested stack templates).
   * @param templateFiles paths of `*.template.json` files
   * @param region the region of the stacks (files do not say)
   * @param options generation options
   */
  public static fromTemplateFiles(templateFiles: string[], region: string, options: DeploymentPolicyOptions = {}): ExecutionPolicy {
    return generate(templateFiles.map((f) => ({
      name: path.basename(f), templateJson: fs.readFileSync(f, 'utf8'), region, directory: path.dirname(f),
    })), options);
  }

  /**
   * Generates the policy from a cloud assembly directory (`cdk.out`): every stack of the assembly and of its
   * nested assemblies (stages), with the stacks' regions and accounts from the manifest, and nested stacks.
   * @param directory the cloud assembly directory
   * @param options generation options
   */
  public static fromAssemblyDirectory(directory: string, options: DeploymentPolicyOptions = {}): ExecutionPolicy {
    return generate(readAssembly(directory), options);
  }

  /** The plugin name shown in the validation report. */
  public readonly name: string = 'DeploymentPolicy';
  /**
   * The plugin version.
   * @default '1.0.0'
   */
  public readonly version?: string = '1.0.0';
  /**
   * The rules the plugin reports.
   * @default - generation failed, deployed policy lacks permissions
   */
  public readonly ruleIds?: string[] = [RULE_GENERATE, RULE_CHECK];
  /**
   * The policy generated by the last synth.
   * @default - none before the first synth
   */
  public lastPolicy?: ExecutionPolicy;

  private readonly props: DeploymentPolicyProps;

  private constructor(props: DeploymentPolicyProps) {
    this.props = props;
  }

  /**
   * Called by the CDK after synthesis with every template of the app: generates, writes, prints, checks.
   * @param context the templates and the app
   */
  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const templates: StackTemplate[] = context.stackTemplates.map((s) => ({
      name: s.stackConstructPath,
      templateJson: fs.readFileSync(s.templatePath, 'utf8'),
      region: knownEnv(s.region),
      account: knownEnv(s.accountId),
      directory: path.dirname(s.templatePath),
    }));
    let policy: ExecutionPolicy;
    try {
      policy = generate(templates, this.props);
    } catch (err) {
      return failure(RULE_GENERATE, (err as Error).message, 'Give the `regions` option, or map the types with `resourceTypeMappings`.', context);
    }
    this.lastPolicy = policy;
    const json = policy.toJson();
    const outputFile = path.resolve(this.props.outputFile ?? DeploymentPolicy.DEFAULT_OUTPUT_FILE);
    writeIfChanged(outputFile, json);
    const assemblyDir = context.stackTemplates.length ? assemblyRoot(context.stackTemplates.map((s) => s.templatePath)) : undefined;
    if (assemblyDir && path.resolve(assemblyDir, DeploymentPolicy.DEFAULT_OUTPUT_FILE) !== outputFile) {
      writeIfChanged(path.join(assemblyDir, DeploymentPolicy.DEFAULT_OUTPUT_FILE), json);
    }
    if (this.props.printBootstrapCommand ?? true) {
      const rel = path.relative(process.cwd(), outputFile) || outputFile;
      const lines = [
        `DeploymentPolicy: wrote the CloudFormation execution policy (${policy.regionalServices.length} regional, ` +
          `${policy.globalServices.length} global services, regions ${policy.regions.join(', ')}) to ${rel}. Bootstrap with it:`,
        policy.bootstrapCommands(rel, this.props.qualifier, this.props.toolkitStackName).split('\n').map((l) => `  ${l}`).join('\n'),
        '  A second project in the same account and region with a different policy: bootstrap it with its own ' +
          '--qualifier and --toolkit-stack-name (and set "@aws-cdk/core:bootstrapQualifier" in its cdk.json), or the ' +
          'last bootstrap replaces the other project\'s execution policy.',
        ...policy.warnings.map((w) => `  WARNING: ${w}`),
        ...policy.unknownResourceTypes.length ? [`  WARNING: not covered (unknown resource types): ${policy.unknownResourceTypes.join(', ')}`] : [],
      ];
      console.error(lines.join('\n'));
    }
    if (this.props.deployedPolicyFile) {
      const file = path.resolve(this.props.deployedPolicyFile);
      let result: PolicyCheckResult;
      try {
        result = policy.check(fs.readFileSync(file, 'utf8'));
      } catch (err) {
        return failure(RULE_CHECK, `cannot read the deployed policy ${file}: ${(err as Error).message}`,
          'Export it with: aws iam get-policy-version --policy-arn <arn> --version-id <default version> > deployed-policy.json', context);
      }
      if (!result.ok) {
        return failure(RULE_CHECK, `${result.message}\n(deployed policy: ${file})`, 'Update the deployed policy, then export it again.', context);
      }
    }
    return { success: true, violations: [] };
  }
}

const REGISTERED = Symbol.for('cdk-production-patterns.DeploymentPolicy');
const RULE_GENERATE = 'DeploymentPolicy.Generate';
const RULE_CHECK = 'DeploymentPolicy.DeployedPolicyLacksPermissions';

function failure(ruleName: string, description: string, fix: string, context: IPolicyValidationContext): PolicyValidationPluginReport {
  const violation: PolicyViolation = {
    ruleName,
    description,
    fix,
    violatingResources: [{ locations: [], constructPath: context.appConstruct.node.path || '/' }],
  };
  return { success: false, violations: [violation] };
}

function knownEnv(value: string | undefined): string | undefined {
  if (!value || value.startsWith('unknown-') || value.includes('${Token')) return undefined;
  return value;
}

/** The common folder of the root templates (the cloud assembly root; stage assemblies are below it). */
function assemblyRoot(templatePaths: string[]): string {
  const dirs = templatePaths.map((p) => path.dirname(path.resolve(p)));
  return dirs.reduce((a, b) => {
    while (!(b + path.sep).startsWith(a + path.sep)) a = path.dirname(a);
    return a;
  });
}

function writeIfChanged(file: string, content: string): void {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === content) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** Every stack template of a cloud assembly directory and its nested assemblies. */
function readAssembly(directory: string): StackTemplate[] {
  const manifestFile = path.join(directory, 'manifest.json');
  if (!fs.existsSync(manifestFile)) throw new Error(`DeploymentPolicy: ${directory} is not a cloud assembly (no manifest.json)`);
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as {
    artifacts?: Record<string, { type: string; environment?: string; properties?: { templateFile?: string; directoryName?: string } }>;
  };
  const out: StackTemplate[] = [];
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile) {
      const m = /^aws:\/\/([^/]+)\/(.+)$/.exec(artifact.environment ?? '');
      out.push({
        name: id,
        templateJson: fs.readFileSync(path.join(directory, artifact.properties.templateFile), 'utf8'),
        account: knownEnv(m?.[1]),
        region: knownEnv(m?.[2]),
        directory,
      });
    } else if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      out.push(...readAssembly(path.join(directory, artifact.properties.directoryName)));
    }
  }
  return out;
}

interface Resource {
  Type?: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

/** The generator: templates in, execution policy out. */
function generate(templates: StackTemplate[], options: DeploymentPolicyOptions): ExecutionPolicy {
  const policyName = options.policyName ?? DeploymentPolicy.DEFAULT_POLICY_NAME;
  const partition = options.partition ?? 'aws';
  if (!/^[\w+=,.@-]{1,128}$/.test(policyName)) {
    throw new Error(`DeploymentPolicy: invalid policyName '${policyName}': 1-128 characters of letters, digits and +=,.@_-`);
  }
  const qualifier = options.qualifier ?? DEFAULT_QUALIFIER;
  if (!/^[a-z0-9]{1,10}$/.test(qualifier)) {
    throw new Error(`DeploymentPolicy: invalid qualifier '${qualifier}': 1-10 lower-case letters and digits (as cdk bootstrap takes)`);
  }
  const boundary = options.permissionsBoundaryArn;
  if (boundary !== undefined && !/^arn:[\w-]+:iam::(\d{12}|aws):policy\/.+$/.test(boundary)) {
    throw new Error(`DeploymentPolicy: invalid permissionsBoundaryArn '${boundary}': expected arn:<partition>:iam::<account>:policy/<name>`);
  }
  const regions = new Set(options.regions ?? []);
  for (const r of regions) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(r)) throw new Error(`DeploymentPolicy: invalid region '${r}' in regions (e.g. 'eu-west-1')`);
  }
  const agnostic: string[] = [];
  const accounts = new Set<string>();
  for (const t of templates) {
    if (t.region) regions.add(t.region);
    else agnostic.push(t.name);
    if (t.account) accounts.add(t.account);
  }
  if (agnostic.length && !options.regions?.length) {
    throw new Error(`DeploymentPolicy: stack(s) ${agnostic.join(', ')} are environment-agnostic (no region at synth): ` +
      'give the regions they deploy to with the `regions` option, or give the stacks an env with a region');
  }
  if (regions.size === 0) throw new Error('DeploymentPolicy: no region: give the `regions` option (there are no stacks with a region)');

  const regional = new Map<string, Set<string>>(); // action -> needed by
  const global = new Map<string, Set<string>>();
  const iam = new Map<string, Set<string>>();
  const slr = new Map<string, Set<string>>(); // service name -> needed by
  const passedTo = new Set<string>();
  let passRoleUnconditional = false;
  let hasRoles = false;
  const types = new Set<string>();
  const unknown = new Set<string>();
  const warnings: string[] = [];
  let fileAssets = false;
  let imageAssets = false;
  let bootstrapVersion = false;
  const add = (m: Map<string, Set<string>>, action: string, by: string) => {
    if (!m.has(action)) m.set(action, new Set());
    m.get(action)!.add(by);
  };

  const visit = (templateJson: string, directory: string | undefined, name: string, depth: number) => {
    let template: { Resources?: Record<string, Resource>; Parameters?: Record<string, { Type?: string; Default?: unknown }> };
    try {
      template = JSON.parse(templateJson);
    } catch (err) {
      throw new Error(`DeploymentPolicy: template of ${name} is not JSON: ${(err as Error).message}`);
    }
    // CDK assets: Lambda code, nested templates and images are read from the bootstrap bucket/repository as the
    // execution role (CreateFunction reads the S3 object with the caller's credentials).
    if (/cdk-[a-z0-9]+-assets-/.test(templateJson)) fileAssets = true;
    if (/cdk-[a-z0-9]+-container-assets-/.test(templateJson)) imageAssets = true;
    for (const p of Object.values(template.Parameters ?? {})) {
      if (typeof p.Default === 'string' && /^\/cdk-bootstrap\/[^/]+\/version$/.test(p.Default) && p.Type?.startsWith('AWS::SSM::Parameter')) bootstrapVersion = true;
    }
    for (const [logicalId, r] of Object.entries(template.Resources ?? {})) {
      const type = r.Type;
      if (typeof type !== 'string') continue;
      types.add(type);
      if (isCustomResourceType(type)) {
        // CloudFormation invokes the provider (ServiceToken) as the execution role; the provider's role does the work.
        const token = JSON.stringify(r.Properties?.ServiceToken ?? '');
        const sns = /arn:[\w-]*:sns:/.test(token) || isRefToType(r.Properties?.ServiceToken, template.Resources ?? {}, 'AWS::SNS::Topic');
        add(regional, sns ? 'sns:Publish' : 'lambda:InvokeFunction', type);
        continue;
      }
      if (type === 'AWS::CloudFormation::Stack') {
        add(regional, 'cloudformation:*', type);
        const nestedFile = directory ? nestedTemplateFile(r, directory) : undefined;
        if (nestedFile && fs.existsSync(nestedFile) && depth < 20) {
          visit(fs.readFileSync(nestedFile, 'utf8'), directory, `${name}/${logicalId}`, depth + 1);
        } else {
          warnings.push(`nested stack ${name}/${logicalId}: its template was not found` +
            `${nestedFile ? ` (${nestedFile})` : ' (no aws:asset:path metadata)'}; the resource types it holds are not covered`);
        }
        continue;
      }
      const mapping = lookupType(type, options.resourceTypeMappings ?? []);
      if (!mapping) {
        unknown.add(type);
        continue;
      }
      for (const s of mapping.services) add(mapping.global ? global : regional, `${s}:*`, type);
      for (const a of iamActionsFor(type, mapping.iamActions, r.Properties)) add(iam, a, type);
      for (const s of mapping.serviceLinkedRoles) add(slr, s, type);
      const passed = passedRoleProperties(r.Properties, template.Resources ?? {});
      if (passed.length > 0) {
        // A role the app does not define (an imported ARN, a parameter): its trust is unknown here.
        hasRoles = true;
        passRoleUnconditional = true;
        warnings.push(`${name}/${logicalId} (${type}) passes a role the app does not define (${passed.join(', ')}): iam:PassRole is `
          + 'allowed for any role but the bootstrap roles, without an iam:PassedToService condition');
      }
      if (type === 'AWS::IAM::Role') {
        hasRoles = true;
        const services = trustedServices(r.Properties?.AssumeRolePolicyDocument);
        if (services === undefined) passRoleUnconditional = true;
        else services.forEach((s) => passedTo.add(s));
      }
      // Lambda in a VPC: CreateFunction/UpdateFunctionConfiguration check the subnets and groups with the caller's
      // credentials (ec2:Describe*), see https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html.
      if ((type === 'AWS::Lambda::Function' || type === 'AWS::Lambda::CapacityProvider') && r.Properties?.VpcConfig) {
        for (const a of ['ec2:DescribeSecurityGroups', 'ec2:DescribeSubnets', 'ec2:DescribeVpcs']) add(regional, a, type);
      }
    }
  };
  for (const t of templates) visit(t.templateJson, t.directory, t.name, 0);

  if (unknown.size && !options.allowUnknownResourceTypes) {
    throw new Error(`DeploymentPolicy: unknown resource type(s) ${[...unknown].sort().join(', ')}: the policy would lack what they need. ` +
      'Map them with resourceTypeMappings: [{ resourceType: \'AWS::Foo::Bar\', services: [\'foo\'] }], ' +
      'or set allowUnknownResourceTypes: true to list them as not covered');
  }
  for (const a of options.additionalActions ?? []) {
    if (!/^[a-z0-9-]+:[A-Za-z0-9*]+$/.test(a)) throw new Error(`DeploymentPolicy: invalid action '${a}' in additionalActions (e.g. 'kms:Decrypt')`);
    add(a.startsWith('iam:') ? iam : regional, a, 'additionalActions');
  }

  const statements: Statement[] = [];
  const sortedRegions = [...regions].sort();
  const regionalActions = subsume([...regional.keys()]);
  if (regionalActions.length) {
    statements.push({
      Sid: 'RegionalServices',
      Effect: 'Allow',
      Action: regionalActions,
      Resource: '*',
      Condition: { StringEquals: { 'aws:RequestedRegion': sortedRegions } },
    });
  }
  const globalActions = subsume([...global.keys()]);
  if (globalActions.length) statements.push({ Sid: 'GlobalServices', Effect: 'Allow', Action: globalActions, Resource: '*' });
  const bootstrapRoles = `arn:${partition}:iam::*:role/cdk-${qualifier}-*`;
  if (iam.size) {
    const notResource = [bootstrapRoles, `arn:${partition}:iam::*:policy/${policyName}`];
    const all = [...iam.keys()].sort();
    const bounded = boundary ? all.filter((a) => BOUNDED_ROLE_ACTIONS.includes(a)) : [];
    const free = all.filter((a) => !bounded.includes(a) && !(boundary && a === 'iam:DeleteRolePermissionsBoundary'));
    if (free.length) statements.push({ Sid: 'IamRolesAndPolicies', Effect: 'Allow', Action: free, NotResource: notResource });
    if (bounded.length) {
      statements.push({
        Sid: 'IamRolesWithinBoundary',
        Effect: 'Allow',
        Action: bounded,
        NotResource: notResource,
        Condition: { StringEquals: { 'iam:PermissionsBoundary': [boundary!] } },
      });
    }
    if (boundary) iam.delete('iam:DeleteRolePermissionsBoundary');
  }
  if (hasRoles) {
    const st: Statement = { Sid: 'IamPassRole', Effect: 'Allow', Action: ['iam:PassRole'], NotResource: [bootstrapRoles] };
    if (!passRoleUnconditional && passedTo.size) st.Condition = { StringEquals: { 'iam:PassedToService': [...passedTo].sort() } };
    statements.push(st);
    iam.set('iam:PassRole', new Set(['AWS::IAM::Role']));
  }
  if (types.has('AWS::CloudFormation::Stack')) {
    // Creating a nested stack passes the execution role to CloudFormation (the nested stack runs with it), which
    // the NotResource on cdk-* roles above leaves out (aws-samples/sample-autonomous-cloud-coding-agents#865).
    statements.push({
      Sid: 'IamPassExecutionRoleToNestedStacks',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: [`arn:${partition}:iam::*:role/cdk-${qualifier}-cfn-exec-role-*`],
      Condition: { StringEquals: { 'iam:PassedToService': ['cloudformation.amazonaws.com'] } },
    });
    if (!iam.has('iam:PassRole')) iam.set('iam:PassRole', new Set());
    iam.get('iam:PassRole')!.add('AWS::CloudFormation::Stack');
  }
  if (slr.size) {
    statements.push({
      Sid: 'IamServiceLinkedRoles',
      Effect: 'Allow',
      Action: ['iam:CreateServiceLinkedRole'],
      Resource: [`arn:${partition}:iam::*:role/aws-service-role/*`],
      Condition: { StringEquals: { 'iam:AWSServiceName': [...slr.keys()].sort() } },
    });
    iam.set('iam:CreateServiceLinkedRole', new Set([...slr.values()].flatMap((by) => [...by])));
  }
  if (fileAssets || imageAssets) {
    const actions: string[] = [];
    const resources: string[] = [];
    if (fileAssets) {
      actions.push('s3:GetObject', 's3:GetObjectVersion');
      resources.push(`arn:${partition}:s3:::cdk-*-assets-*/*`);
    }
    if (imageAssets) {
      actions.push('ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer');
      resources.push(`arn:${partition}:ecr:*:*:repository/cdk-*-container-assets-*`);
    }
    statements.push({ Sid: 'CdkAssets', Effect: 'Allow', Action: actions.sort(), Resource: resources.sort() });
    for (const a of actions) iam.set(a, new Set(['CDK assets (bootstrap bucket or repository)']));
  }
  if (bootstrapVersion) {
    // The BootstrapVersion parameter (type AWS::SSM::Parameter::Value<String>) is resolved by CloudFormation with
    // the stack's role: an execution role without it fails on ssm:GetParameters
    // (aws-samples/aws-iam-identity-center-automation#3).
    statements.push({
      Sid: 'CdkBootstrapVersion',
      Effect: 'Allow',
      Action: ['ssm:GetParameters'],
      Resource: [`arn:${partition}:ssm:*:*:parameter/cdk-bootstrap/*/version`],
    });
    iam.set('ssm:GetParameters', new Set(['the BootstrapVersion parameter']));
  }
  statements.sort((a, b) => a.Sid.localeCompare(b.Sid));

  const neededBy = new Map<string, Set<string>>();
  for (const m of [regional, global, iam]) for (const [a, by] of m) neededBy.set(a, by);
  // A service wildcard inherits the needs of the specific actions it subsumed (lambda:* <- lambda:InvokeFunction).
  for (const [a, by] of regional) {
    const wildcard = `${serviceOf(a)}:*`;
    if (a !== wildcard && regional.has(wildcard)) by.forEach((b) => neededBy.get(wildcard)!.add(b));
  }

  const doc = JSON.stringify({ Version: POLICY_VERSION, Statement: statements });
  if (doc.length > MANAGED_POLICY_MAX_CHARS) {
    warnings.push(`the document has ${doc.length} characters, over the ${MANAGED_POLICY_MAX_CHARS} IAM allows for a managed policy: ` +
      'split its statements over several policies (--cloudformation-execution-policies takes a comma-separated list)');
  }
  const serviceList = (actions: string[]) => [...new Set(actions.map(serviceOf))].sort();
  return ExecutionPolicy._create({
    policyName,
    regions: sortedRegions,
    accounts: [...accounts].sort(),
    resourceTypes: [...types].sort(),
    regionalServices: serviceList(regionalActions),
    globalServices: serviceList(globalActions),
    unknownResourceTypes: [...unknown].sort(),
    warnings,
    statements,
    neededBy,
  });
}

/**
 * The file of a nested stack's template: from its `aws:asset:path` metadata (the CLI turns asset metadata on),
 * else from the asset manifests (`*.assets.json`) of the folder, by the asset hash in its TemplateURL.
 */
function nestedTemplateFile(r: Resource, directory: string): string | undefined {
  const assetPath = r.Metadata?.['aws:asset:path'];
  if (typeof assetPath === 'string') return path.join(directory, assetPath);
  const hash = /([0-9a-f]{64})\.json/.exec(JSON.stringify(r.Properties?.TemplateURL ?? ''))?.[1];
  if (!hash || !fs.existsSync(directory)) return undefined;
  for (const f of fs.readdirSync(directory).filter((n) => n.endsWith('.assets.json')).sort()) {
    const manifest = JSON.parse(fs.readFileSync(path.join(directory, f), 'utf8')) as { files?: Record<string, { source?: { path?: string } }> };
    const source = manifest.files?.[hash]?.source?.path;
    if (source) return path.join(directory, source);
  }
  return undefined;
}

/** AWS::IAM::Policy: only the actions for the principal kinds it attaches to (roles, users, groups). */
function iamActionsFor(type: string, actions: string[], props: Record<string, unknown> | undefined): string[] {
  if (type !== 'AWS::IAM::Policy' || !props) return actions;
  const kinds = (['Role', 'User', 'Group'] as const).filter((k) => props[`${k}s`] !== undefined);
  return actions.filter((a) => kinds.some((k) => a.includes(`${k}Policy`)));
}

function serviceOf(action: string): string {
  return action.split(':')[0];
}

/** Sorted, without specific actions a service wildcard of the same list already allows. */
function subsume(actions: string[]): string[] {
  const wildcards = new Set(actions.filter((a) => a.endsWith(':*')).map(serviceOf));
  return [...new Set(actions.filter((a) => a.endsWith(':*') || !wildcards.has(serviceOf(a))))].sort();
}

/** Role-writing IAM actions that honour the iam:PermissionsBoundary condition key. */
const BOUNDED_ROLE_ACTIONS = [
  'iam:AttachRolePolicy', 'iam:CreateRole', 'iam:DeleteRolePolicy', 'iam:DetachRolePolicy', 'iam:PutRolePermissionsBoundary', 'iam:PutRolePolicy',
];

/** cdk bootstrap's default qualifier. */
const DEFAULT_QUALIFIER = 'hnb659fds';

/**
 * Role ARNs a resource passes to its service (properties named Role, RoleArn, ...RoleArn) that are not roles of the
 * template (`Fn::GetAtt [role, Arn]` or `Ref role`): literal ARNs, parameters, imports. Returns the property names.
 */
function passedRoleProperties(props: Record<string, unknown> | undefined, resources: Record<string, Resource>): string[] {
  const found: string[] = [];
  const isTemplateRole = (v: unknown): boolean => {
    const getAtt = (v as { 'Fn::GetAtt'?: unknown[] } | undefined)?.['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return resources[getAtt[0]]?.Type === 'AWS::IAM::Role';
    return isRefToType(v, resources, 'AWS::IAM::Role');
  };
  const walk = (value: unknown, key: string, depth: number) => {
    if (depth > 8 || value === null || typeof value !== 'object') {
      if (/(^Role|RoleArn)$/.test(key) && typeof value === 'string' && /^arn:[\w-]+:iam::\d{12}:role\//.test(value)) found.push(key);
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((v) => walk(v, key, depth + 1));
      return;
    }
    const obj = value as Record<string, unknown>;
    const intrinsic = Object.keys(obj).length === 1 && /^(Ref|Fn::)/.test(Object.keys(obj)[0]);
    if (intrinsic) {
      if (/(^Role|RoleArn)$/.test(key) && !isTemplateRole(obj)) found.push(key);
      return;
    }
    for (const [k, v] of Object.entries(obj)) walk(v, k, depth + 1);
  };
  for (const [k, v] of Object.entries(props ?? {})) walk(v, k, 0);
  return [...new Set(found)].sort();
}

function isRefToType(value: unknown, resources: Record<string, Resource>, type: string): boolean {
  const ref = (value as { Ref?: unknown } | undefined)?.Ref;
  return typeof ref === 'string' && resources[ref]?.Type === type;
}

/**
 * The service principals a role's trust policy names (`lambda.amazonaws.com`...), or undefined when one is not
 * a literal (then iam:PassRole is not narrowed with iam:PassedToService).
 */
function trustedServices(doc: unknown): string[] | undefined {
  const statements = asArray((doc as { Statement?: unknown } | undefined)?.Statement);
  const out: string[] = [];
  for (const st of statements) {
    const principal = (st as { Principal?: { Service?: unknown } }).Principal;
    if (!principal?.Service) continue;
    for (const s of asArray(principal.Service)) {
      if (typeof s !== 'string') return undefined;
      out.push(s);
    }
  }
  return out;
}

function asArray(v: unknown): unknown[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** A deployed policy document from `get-policy-version` output (either form) or the bare document. */
function parseDeployedPolicy(text: string): LooseStatement[] {
  let parsed: unknown = JSON.parse(text);
  const version = (parsed as { PolicyVersion?: { Document?: unknown } }).PolicyVersion;
  if (version) parsed = version.Document;
  else if ((parsed as { Document?: unknown }).Document !== undefined) parsed = (parsed as { Document?: unknown }).Document;
  if (typeof parsed === 'string') parsed = JSON.parse(decodeURIComponent(parsed));
  const statement = (parsed as { Statement?: unknown } | undefined)?.Statement;
  if (statement === undefined) {
    throw new Error('no policy Statement found: expected `aws iam get-policy-version` output ({"PolicyVersion": {"Document": ...}}) or a policy document');
  }
  return asArray(statement) as LooseStatement[];
}

function patternMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
  return re.test(action);
}

function regionAdmitted(st: LooseStatement, region: string | undefined): boolean {
  if (!region || !st.Condition) return true;
  for (const [operator, keys] of Object.entries(st.Condition)) {
    for (const [key, value] of Object.entries(keys)) {
      if (key.toLowerCase() !== 'aws:requestedregion') continue;
      const values = asArray(value) as string[];
      const matches = values.some((v) => (operator.startsWith('StringLike') ? patternMatches(v, region) : v === region));
      const negated = operator.startsWith('StringNot');
      if (matches === negated) return false;
    }
  }
  return true;
}

function isAllowed(statements: LooseStatement[], action: string, region: string | undefined): boolean {
  const covers = (st: LooseStatement) => (st.Action !== undefined
    ? (asArray(st.Action) as string[]).some((p) => patternMatches(p, action))
    : st.NotAction !== undefined && !(asArray(st.NotAction) as string[]).some((p) => patternMatches(p, action) || patternMatches(action, p)));
  const denied = statements.some((st) => st.Effect === 'Deny' && !st.Condition && covers(st) && asArray(st.Resource).includes('*'));
  if (denied) return false;
  return statements.some((st) => st.Effect === 'Allow' && covers(st) && regionAdmitted(st, region));
}

function dedupeMissing(missing: MissingPermission[]): MissingPermission[] {
  const seen = new Set<string>();
  return missing
    .filter((m) => {
      const key = `${m.action}|${m.region ?? ''}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.action.localeCompare(b.action) || (a.region ?? '').localeCompare(b.region ?? ''));
}

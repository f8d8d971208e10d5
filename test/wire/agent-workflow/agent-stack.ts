/**
 * Shared set-up of the agent-workflow wire tests: a synthesized stack with StepFunctionsAgentWorkflow
 * (the insurance-claims example, or a small stack of ours in Lambda reasoning mode), its functions
 * found by role in the model (asset and environment as CloudFormation would deploy them), the task
 * parameters of the state-machine definition (so every event a handler gets has the shape the state
 * machine gives it), and helpers to read what the handlers wrote to the local services.
 *
 * Synthesis costs more than most of a test file (loading aws-cdk-lib into each file's module
 * registry): a synthesized assembly is kept in the temporary folder under a hash of everything it
 * is made of (the library's sources, the example, the bundled handlers, the locked dependencies),
 * and reused until one of those changes.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SigningKey } from '../../../src/agent-workflow/runtime/link-signing';
import { LogLine } from '../../harness/aws/lambda-runner';
import { OfflineStack } from '../../harness/aws/offline-stack';
import { StackFunction, StackModel } from '../../harness/aws/stack-model';
import { modelOf, modelOfStack, tempOutdir } from '../../harness/aws/synth';
import { WireEnvironment } from '../../harness/aws/wire-environment';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** POWERTOOLS_SERVICE_NAME of each handler, as the construct sets it. */
export const ROLES = {
  starter: 'agent-workflow-starter',
  validator: 'agent-workflow-validator',
  reasoner: 'agent-workflow-reasoner',
  approvalRequest: 'agent-workflow-approvalrequest',
  approvalEndpoint: 'agent-workflow-approvalendpoint',
  approvalMonitor: 'agent-workflow-approvalmonitor',
  signingKeyRotation: 'agent-workflow-signingkeyrotation',
} as const;
export type Role = keyof typeof ROLES;

export interface AgentStack {
  readonly model: StackModel;
  /** The state machine definition, resolved. */
  readonly definition: Record<string, any>;
  /** The function of a role (throws when the stack has none). */
  fn(role: Role): StackFunction;
  /** The Parameters of a state (the Payload of a `lambda:invoke.waitForTaskToken` state). */
  task(stateName: string): Record<string, any>;
}

function findState(states: Record<string, any>, name: string): Record<string, any> | undefined {
  for (const [n, s] of Object.entries(states)) {
    if (n === name) return s;
    for (const nested of [...(s.Branches ?? []), s.Iterator, s.ItemProcessor].filter(Boolean)) {
      const found = findState(nested.States, name);
      if (found) return found;
    }
  }
  return undefined;
}

function agentStackOf(model: StackModel): AgentStack {
  const machines = model.ofType('AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  const definition = JSON.parse(model.resolve(machines[0][1].DefinitionString));
  const functions = model.functions();
  return {
    model,
    definition,
    fn(role) {
      const found = functions.filter((f) => f.environment.POWERTOOLS_SERVICE_NAME === ROLES[role]);
      if (found.length !== 1) throw new Error(`expected one ${role} function, found ${found.length}`);
      return found[0];
    },
    task(stateName) {
      const state = findState(definition.States, stateName);
      if (!state?.Parameters) throw new Error(`the definition has no task state '${stateName}' with Parameters`);
      return state.Resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken' ? state.Parameters.Payload : state.Parameters;
    },
  };
}

/** What a synthesized stack is made of (paths from the repository root). */
const SYNTH_INPUTS = [
  'src', 'assets/agent-workflow', 'examples/insurance-claims/app.ts', 'examples/shared', 'package-lock.json', 'test/wire/agent-workflow/agent-stack.ts',
];

function inputsHash(): string {
  const hash = crypto.createHash('sha256');
  const add = (file: string): void => {
    if (fs.statSync(file).isDirectory()) {
      for (const entry of fs.readdirSync(file).sort()) add(path.join(file, entry));
    } else {
      hash.update(`${path.relative(REPO_ROOT, file)}\0`).update(fs.readFileSync(file));
    }
  };
  for (const input of SYNTH_INPUTS) add(path.join(REPO_ROOT, input));
  // what else the app reads: the deploy target of the examples, context from the environment
  hash.update(JSON.stringify([process.env.CDK_DEPLOY_ACCOUNT, process.env.CDK_DEPLOY_REGION, process.env.CDK_CONTEXT_JSON]));
  return hash.digest('hex').slice(0, 20);
}

/** A stack synthesized by `synth` (into the folder it is given), or the same assembly kept from an earlier synthesis. */
async function synthesized(name: string, synth: (outdir: string) => Promise<StackModel>): Promise<StackModel> {
  const dir = path.join(os.tmpdir(), `wire-agent-${name}-${inputsHash()}`);
  const saved = path.join(dir, 'wire-model.json');
  if (!fs.existsSync(saved)) {
    const outdir = tempOutdir(`agent-${name}`);
    const model = await synth(outdir);
    fs.writeFileSync(path.join(outdir, 'wire-model.json'), JSON.stringify({ template: model.template, stackName: model.stackName }));
    try {
      fs.renameSync(outdir, dir);
    } catch {
      // another test file stored the same assembly first
      if (!fs.existsSync(saved)) throw new Error(`could not keep the assembly of ${name} in ${dir}`);
    }
  }
  const { template, stackName } = JSON.parse(fs.readFileSync(saved, 'utf8'));
  return new StackModel(template, { assemblyDir: dir, stackName });
}

/** The insurance-claims example, synthesized. */
export async function claimsStack(): Promise<AgentStack> {
  return agentStackOf(await synthesized('claims', async (outdir) => {
    // loaded only to synthesize (not when the assembly is kept)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createApp } = require('../../../examples/insurance-claims/app') as typeof import('../../../examples/insurance-claims/app');
    return modelOf(createApp({ outdir }));
  }));
}

/**
 * A photo grader of ours: the model is called by the reasoner function (ReasoningInvocation.LAMBDA,
 * JSON-schema output, the image as bytes), memory and a summarizer model, a trigger bucket without
 * versioning (only the ETag pins the validated object).
 */
export async function graderStack(): Promise<AgentStack> {
  return agentStackOf(await synthesized('grader', async (outdir) => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { App, Stack } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
    const s3 = require('aws-cdk-lib/aws-s3') as typeof import('aws-cdk-lib/aws-s3');
    const lib = require('../../../src') as typeof import('../../../src');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const app = new App({ outdir });
    const stack = new Stack(app, 'WireAgentGrader', { env: { account: '123456789012', region: 'us-east-1' } });
    new lib.StepFunctionsAgentWorkflow(stack, 'Grader', {
      workflowName: 'photo-grader',
      trigger: lib.AgentTrigger.manual(new s3.Bucket(stack, 'Inbox'), 'uploads/'),
      validation: lib.InputValidation.s3Object({ contentTypes: ['image/png', 'image/jpeg'] }),
      reasoning: lib.AgentReasoning.bedrockConverse({
        modelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
        invocation: lib.ReasoningInvocation.LAMBDA,
        structuredOutput: lib.StructuredOutput.JSON_SCHEMA,
        systemPrompt: 'You grade photos of products.',
        prompt: 'Grade {{key}} for seller {{metadata.actor_id}}.',
        outputSchema: {
          type: 'object',
          properties: { grade: { type: 'integer', minimum: 1, maximum: 5 }, note: { type: 'string' }, defects: { type: 'array', items: { type: 'string' } } },
          required: ['grade'],
          additionalProperties: false,
        },
      }),
      checkpoint: { summarizerModelId: 'amazon.nova-micro-v1:0', memoryItems: 2 },
    });
    return modelOfStack(stack);
  }));
}

function readPath(jsonPath: string, input: unknown, context: unknown): unknown {
  const fromContext = jsonPath.startsWith('$$.');
  const parts = jsonPath === '$' ? [] : jsonPath.slice(fromContext ? 3 : 2).split('.');
  let value: any = fromContext ? context : input;
  for (const part of parts) value = value?.[part];
  if (value === undefined) throw new Error(`materialize: ${jsonPath} is not in the state input or context`);
  return value;
}

/**
 * What Step Functions passes to a task: the Parameters with every `"name.$": "<path>"` replaced by
 * the value at that path of the state input (`$.`) or of the context object (`$$.`).
 */
export function materialize(parameters: unknown, input: unknown, context: unknown = {}): any {
  if (Array.isArray(parameters)) return parameters.map((p) => materialize(p, input, context));
  if (!parameters || typeof parameters !== 'object') return parameters;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parameters)) {
    if (k.endsWith('.$')) {
      if (typeof v !== 'string' || v.startsWith('States.')) throw new Error(`materialize: intrinsic functions are not supported (${k})`);
      out[k.slice(0, -2)] = readPath(v, input, context);
    } else {
      out[k] = materialize(v, input, context);
    }
  }
  return out;
}

/** One stack "deployed" on a fresh wire environment. */
export interface Deployed {
  readonly env: WireEnvironment;
  readonly offline: OfflineStack;
  /** A document client talking to dynalite directly (reads and seeding, outside the call log). */
  readonly ddb: DynamoDBDocumentClient;
}

export async function deploy(stack: AgentStack): Promise<Deployed> {
  const env = await WireEnvironment.start();
  const offline = new OfflineStack(env, stack.model);
  await offline.provision();
  return { env, offline, ddb: DynamoDBDocumentClient.from(env.dynamodb.client()) };
}

export async function undeploy(d: Deployed | undefined): Promise<void> {
  if (!d) return;
  await d.offline.close();
  await d.env.stop();
}

/** Forgets what the services saw so far (calls, messages, events); state stays. */
export function forgetCalls(d: Deployed): void {
  d.env.wire.calls.length = 0;
  d.env.sns.clearMessages();
  d.env.eventBridge.clearEvents();
}

/** The item at `key`, read back with a strongly consistent GetItem. */
export async function itemOf(d: Deployed, table: string, key: Record<string, unknown>): Promise<Record<string, any> | undefined> {
  return (await d.ddb.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
}

/** Every item of one partition. */
export async function partition(d: Deployed, table: string, name: string, value: string): Promise<Array<Record<string, any>>> {
  const res = await d.ddb.send(new QueryCommand({
    TableName: table, KeyConditionExpression: '#pk = :v', ExpressionAttributeNames: { '#pk': name }, ExpressionAttributeValues: { ':v': value },
  }));
  return res.Items ?? [];
}

/** The current value of a secret of the stack (as its function reads it). */
export function secretValue(d: Deployed, arn: string): string {
  const value = d.env.secretsManager.versionWithStage(arn, 'AWSCURRENT')?.secretString;
  if (value === undefined) throw new Error(`no secret ${arn}`);
  return value;
}

/** The current signing key of a secret of the stack: its value and its id (the VersionId), as the handlers read them. */
export function signingKeyOf(d: Deployed, arn: string): SigningKey {
  const version = d.env.secretsManager.versionWithStage(arn, 'AWSCURRENT');
  if (version?.secretString === undefined) throw new Error(`no secret ${arn}`);
  return { kid: version.versionId, secret: version.secretString };
}

/** The CloudWatch EMF documents a function printed. */
export function emf(logs: LogLine[]): Array<Record<string, any>> {
  return logs.filter((l) => l._aws !== undefined);
}

/** Log lines with a message. */
export function logged(logs: LogLine[], message: string): LogLine[] {
  return logs.filter((l) => l.message === message);
}

/** The first bytes of real JPEG / PNG files (what the magic-bytes check reads). */
export const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]), Buffer.alloc(200, 7)]);
export const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]),
  Buffer.alloc(200, 9),
]);

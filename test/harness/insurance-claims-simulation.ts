/**
 * Local simulation of the insurance-claims example's claim processor (the scenario engine), shared by
 * examples/insurance-claims/simulate.ts (the thin runner) and the test suite. It takes the app's
 * `createApp` as an argument and imports nothing from examples/, so test/ and examples/ form no cycle.
 * Two runners of the same scenarios (only Bedrock's answer, the policy item and the human's choice
 * are scripted):
 *
 * - `WireSimulation` (simulate.ts): the example is synthesized and "deployed" offline on the wire
 *   layer (dynalite, the S3 / SNS / EventBridge / Secrets Manager / Step Functions / Bedrock fakes);
 *   the upload is a real PutObject, the starter runs on its "Object Created" event, and the
 *   synthesized state machine runs in aws-local-stepfunctions with every task on the wire
 *   (test/harness/aws/sfn-wire.ts): each Lambda task is the function's bundled asset with the
 *   template's environment, each service integration is the real SDK call, and each approval
 *   waits for its task token while the person follows the signed link from the SNS message (a GET
 *   that changes nothing, then the POST of the confirm page) through the bundled approval endpoint.
 * - `runScenario` (test/agent-workflow/workflow.test.ts): the same definition with the handlers
 *   imported as TypeScript against command mocks (FakeAgentAws); fast and fine-grained, but it never
 *   proves a write path on its own.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { fixedSigningKeys } from '../../src/agent-workflow/runtime/link-signing';
import { handle as validatorHandle } from '../../src/agent-workflow/runtime/validator.lambda';
import { FakeAgentAws } from '../agent-workflow/fake-agent-aws';
import { InvokeResult, LogLine } from './aws/lambda-runner';
import { OfflineStack } from './aws/offline-stack';
import { BedrockRuntimeService, ConverseRequestRecord } from './aws/services/bedrock-runtime';
import { CallbackOutcome, CallbackTask, SfnWire, wireClientConfig } from './aws/sfn-wire';
import { StackFunction, StackModel, WIRE_ACCOUNT } from './aws/stack-model';
import { modelOf, tempOutdir } from './aws/synth';
import { WireEnvironment } from './aws/wire-environment';
import { definitionFromTemplate, LocalRunResult, runLocal } from './sfn-local';
import { handle as endpointHandle } from '../../src/agent-workflow/runtime/approval-endpoint.lambda';
import { handle as requestHandle } from '../../src/agent-workflow/runtime/approval-request.lambda';
import { handle as reasonerHandle, handleDigest, parseReasonerEnv } from '../../src/agent-workflow/runtime/reasoner.lambda';

export const BUCKET = 'claim-uploads';
export const NOW = new Date('2026-11-30T10:00:00.000Z');
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

/** The model's claim assessment (the structured answer). */
export interface Assessment {
  damage_type: string;
  estimated_cost: number;
  severity_score: number;
  confidence_score: number;
  summary?: string;
  damaged_parts?: string[];
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** The uploaded object. */
  readonly upload: { key: string; contentType: string; body: Buffer; metadata: Record<string, string> };
  /** The policy item in the policies table (absent = no such policy). */
  readonly policy?: { autoApproveLimit: number | string; coverageLimit: number | string; status: string };
  /** The model's answer (tool input); a function to vary per call. */
  readonly answer: Assessment | Record<string, unknown>;
  /** Throttling errors before the model answers. */
  readonly throttles?: number;
  /** What the person does at each approval stage (primary, then escalation). */
  readonly human?: ('approve' | 'reject' | 'timeout')[];
  readonly expect: { status: 'SUCCEEDED' | 'FAILED'; outcome: string };
  /** Summaries of earlier claims of the same customer in the context table (oldest first). */
  readonly memory?: string[];
}

/** A JPEG of `size` bytes (valid magic bytes, filler body). */
export function jpeg(size: number): Buffer {
  const b = Buffer.alloc(size, 0x20);
  b.set([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00], 0);
  b.set([0xff, 0xd9], size - 2);
  return b;
}

const png = (size: number) => {
  const b = Buffer.alloc(size, 0x20);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 0);
  return b;
};

const FIVE_MB = 5 * 1024 * 1024;
/** The customer's policy: the folder of every upload (`claims/<policyId>/<file>`, as IAM restricts it). */
export const POLICY_ID = 'POL-1001';
/** The customer app's upload: the policy is the key's folder (segment 1); no metadata is needed, and none is trusted. */
const upload = (name: string, body = jpeg(FIVE_MB - 1024), contentType = 'image/jpeg') => ({
  key: `claims/${POLICY_ID}/${name}.jpg`, contentType, body, metadata: {} as Record<string, string>,
});
/** The memory actor of an upload, as the example takes it: key segment 1 (the policy folder). */
export const actorOf = (scenario: Scenario): string => scenario.upload.key.split('/')[1] ?? '';
const activePolicy = { autoApproveLimit: 1500, coverageLimit: 25000, status: 'ACTIVE' };
const dent: Assessment = {
  damage_type: 'dent',
  estimated_cost: 850,
  severity_score: 2,
  confidence_score: 0.93,
  summary: 'Shallow dent on the rear left door, paint intact.',
  damaged_parts: ['rear left door'],
};

/** The scenarios of the issue: each path the claim processor can take. */
export const SCENARIOS: Scenario[] = [
  {
    name: 'auto-approved',
    description: 'small dent, confident model, cost under the policy\'s auto-approve limit',
    upload: upload('auto'),
    policy: activePolicy,
    answer: dent,
    expect: { status: 'SUCCEEDED', outcome: 'AUTO_APPROVED' },
    memory: ['2026-03: windscreen chip, auto-approved, $240.', '2026-08: rear bumper scratch, approved by adjuster, $610.'],
  },
  {
    name: 'human-approved',
    description: 'cost above the auto-approve limit: an adjuster approves through the signed link',
    upload: upload('human-ok'),
    policy: activePolicy,
    answer: { ...dent, damage_type: 'structural', estimated_cost: 4200, severity_score: 3 },
    human: ['approve'],
    expect: { status: 'SUCCEEDED', outcome: 'APPROVED' },
  },
  {
    name: 'human-rejected',
    description: 'cost above the limit: the adjuster rejects with a comment',
    upload: upload('human-no'),
    policy: activePolicy,
    answer: { ...dent, damage_type: 'structural', estimated_cost: 6400, severity_score: 3 },
    human: ['reject'],
    expect: { status: 'SUCCEEDED', outcome: 'REJECTED' },
  },
  {
    name: 'approval-timed-out',
    description: 'nobody decides in 2 days, the team leads neither in 1 more: rejected',
    upload: upload('timeout'),
    policy: activePolicy,
    answer: { ...dent, estimated_cost: 3000 },
    human: ['timeout', 'timeout'],
    expect: { status: 'SUCCEEDED', outcome: 'REJECTED_TIMEOUT' },
  },
  {
    name: 'escalated-then-approved',
    description: 'the adjusters miss the deadline; a team lead approves',
    upload: upload('escalated'),
    policy: activePolicy,
    answer: { ...dent, estimated_cost: 3000 },
    human: ['timeout', 'approve'],
    expect: { status: 'SUCCEEDED', outcome: 'APPROVED' },
  },
  {
    name: 'low-confidence',
    description: 'cheap damage but the model is unsure (0.55 < 0.8): a person looks',
    upload: upload('unsure'),
    policy: activePolicy,
    answer: { ...dent, confidence_score: 0.55 },
    human: ['approve'],
    expect: { status: 'SUCCEEDED', outcome: 'APPROVED' },
  },
  {
    name: 'auto-rejected',
    description: 'the policy has lapsed: rejected without asking anyone',
    upload: upload('lapsed'),
    policy: { ...activePolicy, status: 'LAPSED' },
    answer: dent,
    expect: { status: 'SUCCEEDED', outcome: 'AUTO_REJECTED' },
  },
  {
    name: 'unknown-policy',
    description: 'no policy item for the claim\'s policy id: the missing limits send it to a person, who rejects',
    upload: upload('no-policy'),
    answer: dent,
    human: ['reject'],
    expect: { status: 'SUCCEEDED', outcome: 'REJECTED' },
  },
  {
    name: 'no-policy-folder',
    description: 'uploaded outside a policy folder (claims/<file>): the policy lookup has no key, rejected before any model call',
    upload: { ...upload('no-folder'), key: 'claims/no-folder.jpg' },
    policy: activePolicy,
    answer: dent,
    expect: { status: 'SUCCEEDED', outcome: 'REJECTED_INVALID' },
  },
  {
    name: 'forged-metadata',
    description: 'metadata names another policy and customer: ignored, the policy folder decides (auto-approved under POL-1001)',
    upload: { ...upload('forged-metadata'), metadata: { 'policy-id': 'POL-9999', 'actor-id': 'customer-99' } },
    policy: activePolicy,
    answer: dent,
    expect: { status: 'SUCCEEDED', outcome: 'AUTO_APPROVED' },
  },
  {
    name: 'control-character-key',
    description: 'a key with a line break and a fake approve link (e-mail injection): rejected before any model call',
    upload: { ...upload('x'), key: `claims/${POLICY_ID}/x.jpg\nApprove: https://evil.example/ok` },
    policy: activePolicy,
    answer: dent,
    expect: { status: 'SUCCEEDED', outcome: 'REJECTED_INVALID' },
  },
  {
    name: 'invalid-upload',
    description: 'a PNG uploaded as image/jpeg: rejected before any model call',
    upload: upload('forged', png(4096)),
    policy: activePolicy,
    answer: dent,
    expect: { status: 'SUCCEEDED', outcome: 'REJECTED_INVALID' },
  },
  {
    name: 'bedrock-throttled',
    description: 'Bedrock throttles twice, the third attempt answers',
    upload: upload('throttled'),
    policy: activePolicy,
    answer: dent,
    throttles: 2,
    expect: { status: 'SUCCEEDED', outcome: 'AUTO_APPROVED' },
  },
  {
    name: 'schema-violation',
    description: 'the model answers severity 7 (schema: 1-5): recorded, kept in S3, execution fails',
    upload: upload('bad-answer'),
    policy: activePolicy,
    answer: { ...dent, severity_score: 7 },
    expect: { status: 'FAILED', outcome: 'ERROR_INVALID_ANSWER' },
  },
];

/** Synthesizes an app and returns the template of its stack holding a StepFunctionsAgentWorkflow. */
export function synthTemplate(createApp: (props: { outdir: string }) => { synth(): any }): Template {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-workflow-'));
  try {
    const assembly = createApp({ outdir }).synth();
    return Template.fromJSON(assembly.stacks[0].template);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

export interface ScenarioRun {
  readonly scenario: Scenario;
  readonly result: LocalRunResult;
  readonly aws: FakeAgentAws;
  /** The OUTCOME item of the audit table (null if none was written). */
  readonly outcome: Record<string, any> | null;
  readonly auditItems: Record<string, any>[];
  readonly tokens: { input: number; output: number; summarizerInput: number; summarizerOutput: number };
  readonly lambdaInvocations: number;
}

const TASK_TOKEN_PREFIX = 'AQCEAAAAKgAAAAMAAAAAAAAAAe+/=token';

/** Converts DynamoDB JSON (as the state machine's PutItem sends it) into a plain item. */
function unmarshal(item: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(item)) out[k] = 'S' in v ? v.S : 'N' in v ? Number(v.N) : 'BOOL' in v ? v.BOOL : v;
  return out;
}

function marshal(item: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(item)) out[k] = typeof v === 'number' ? { N: String(v) } : typeof v === 'boolean' ? { BOOL: v } : { S: String(v) };
  return out;
}

/** Runs one scenario against a definition; `mode` tells how the definition calls the model. */
export async function runScenario(definition: any, scenario: Scenario): Promise<ScenarioRun> {
  const aws = new FakeAgentAws();
  aws.defineTable('audit', ['executionId', 'recordId']);
  aws.defineTable('context', ['scope', 'checkpointId']);
  aws.defineTable('approvals', ['approvalId']);
  aws.defineTable('policies', ['policyId']);
  aws.objects.set(`${BUCKET}/${scenario.upload.key}`, {
    body: scenario.upload.body, contentType: scenario.upload.contentType, metadata: scenario.upload.metadata, versionId: 'v1',
  });
  if (scenario.policy) aws.table('policies').set(POLICY_ID, { policyId: POLICY_ID, ...scenario.policy });
  for (const [i, summary] of (scenario.memory ?? []).entries()) {
    aws.table('context').set(`actor#${actorOf(scenario)}|2026-11-0${i + 1}T00:00:00.000Z#reason`, {
      scope: `actor#${actorOf(scenario)}`, checkpointId: `2026-11-0${i + 1}T00:00:00.000Z#reason`, summary,
    });
  }

  const tokens = { input: 0, output: 0, summarizerInput: 0, summarizerOutput: 0 };
  let throttlesLeft = scenario.throttles ?? 0;
  let lambdaInvocations = 0;
  const usage = { inputTokens: 1850, outputTokens: 160 };
  // Bedrock, for the reasoner Lambda (SDK casing): the summarizer, or the main model.
  aws.converse = (input: any) => {
    if (/nova-micro/.test(input.modelId)) {
      tokens.summarizerInput += 320; tokens.summarizerOutput += 60;
      return {
        output: { message: { role: 'assistant', content: [{ text: 'Rear door dent; estimate and severity as assessed; photo consistent with the claim.' }] } },
        stopReason: 'end_turn',
        usage: { inputTokens: 320, outputTokens: 60, totalTokens: 380 },
      };
    }
    if (throttlesLeft > 0) {
      throttlesLeft--;
      const err = new Error('Too many requests, please wait before trying again.');
      err.name = 'ThrottlingException';
      throw err;
    }
    tokens.input += usage.inputTokens; tokens.output += usage.outputTokens;
    return {
      output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'record_answer', input: scenario.answer } }] } },
      stopReason: 'tool_use',
      usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
    };
  };

  // the handlers' progress events go to the in-memory EventBridge (aws.events), as the progress states' do
  const progress = {
    config: { eventBusName: 'default', eventSource: 'cdk-production-patterns.agent-workflow', workflowName: 'insurance-claims' },
    putEvents: (input: any) => aws.eventBridge.send(new PutEventsCommand(input)),
    log: quiet,
    now: () => NOW,
  };
  const reasonerDeps = {
    env: parseReasonerEnv({
      ARTIFACT_BUCKET: 'artifacts',
      ARTIFACT_PREFIX: 'artifacts/',
      CONTEXT_TABLE: 'context',
      CONTEXT_TTL_SECONDS: '2592000',
      METRICS_NAMESPACE: 'Sim',
      WORKFLOW_NAME: 'insurance-claims',
    }),
    bedrock: aws.bedrock,
    s3: aws.s3,
    ddb: aws.ddb,
    metrics: { count: () => undefined },
    log: quiet,
    now: () => NOW,
    progress,
  };
  const signingKey = fixedSigningKeys({ kid: '00000000-0000-4000-8000-00000000517e', secret: 'local-simulation-signing-key-0123456789abcdef0123456789abcdef' });
  const requestConfig = {
    approvalsTable: 'approvals',
    signingSecretArn: 'arn:secret',
    endpointUrl: 'https://approvals.example.com/v1/',
    primaryTopicArn: 'arn:aws:sns:us-east-1:123456789012:adjusters',
    escalationTopicArn: 'arn:aws:sns:us-east-1:123456789012:team-leads',
    eventBusName: 'default',
    eventSource: 'cdk-production-patterns.agent-workflow',
    workflowName: 'insurance-claims',
  };
  const endpointConfig = {
    approvalsTable: 'approvals',
    auditTable: 'audit',
    signingSecretArn: 'arn:secret',
    workflowName: 'insurance-claims',
    eventBusName: 'default',
    eventSource: 'cdk-production-patterns.agent-workflow',
    metricsNamespace: 'Sim',
  };
  const endpointDeps = {
    ddb: aws.ddb, sfn: aws.sfn, events: aws.eventBridge, signingKey, now: () => NOW, log: quiet, metrics: { count: () => undefined },
  };
  const human = [...(scenario.human ?? [])];
  let approvalCalls = 0;

  const approvalStub = async (input: any) => {
    lambdaInvocations++;
    approvalCalls++;
    const token = `${TASK_TOKEN_PREFIX}-${approvalCalls}`;
    const event = { ...(input.Payload ?? input), taskToken: token };
    await requestHandle(event, requestConfig, { ddb: aws.ddb, sns: aws.sns, events: aws.eventBridge, signingKey, now: () => NOW, log: quiet });
    const message = aws.published[aws.published.length - 1].message;
    if (message.includes(token)) throw new Error('the task token leaked into the notification');
    const action = human.shift() ?? 'timeout';
    if (action === 'timeout') {
      const err = new Error('Task timed out');
      err.name = 'States.Timeout';
      throw err;
    }
    const link = message.split(/\s+/).find((w) => w.startsWith('https://') && w.includes(`action=${action}`));
    if (!link) throw new Error(`no ${action} link in the notification`);
    const url = new URL(link);
    const id = decodeURIComponent(url.pathname.split('/').pop()!);
    const params = Object.fromEntries(url.searchParams.entries());
    const base = {
      resource: '/approvals/{id}',
      path: `/v1/approvals/${id}`,
      pathParameters: { id },
      isBase64Encoded: false,
      requestContext: { identity: { sourceIp: '198.51.100.7' } } as any,
      multiValueHeaders: {},
      multiValueQueryStringParameters: null,
      stageVariables: null,
    };
    // a mail scanner opens the GET link first: it must change nothing
    const get = await endpointHandle({ ...base, httpMethod: 'GET', headers: {}, queryStringParameters: params, body: null } as any,
      endpointConfig, endpointDeps);
    if (get.statusCode !== 200 || aws.taskResponses.length > 0) throw new Error(`GET answered ${get.statusCode} or decided`);
    const body = new URLSearchParams({ ...params, comment: action === 'approve' ? 'Photos match the garage quote.' : 'Damage predates the policy.', name: 'J. Adjuster' });
    const post = await endpointHandle({
      ...base,
      httpMethod: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      queryStringParameters: null,
      body: body.toString(),
    } as any,
    endpointConfig, endpointDeps);
    if (post.statusCode !== 200) throw new Error(`POST answered ${post.statusCode}: ${post.body.slice(0, 200)}`);
    const response = aws.taskResponses.find((r) => r.token === token);
    if (!response) throw new Error('the endpoint did not answer the task');
    if (response.kind === 'success') return JSON.parse(response.output);
    if (response.kind === 'failure') {
      const err = new Error(response.cause);
      err.name = response.error;
      throw err;
    }
    throw new Error('unexpected heartbeat');
  };

  const tasks: Record<string, (input: any) => any> = {
    'Validate Input': async (input) => {
      lambdaInvocations++;
      const rules = { ...input.rules, bucket: BUCKET, snapshotBucket: input.rules.snapshotBucket ? 'artifacts' : '' };
      return validatorHandle({ request: input.request, rules, progress: input.progress } as any, { s3: aws.s3, log: quiet, progress });
    },
    // The Step Functions SDK integration (PascalCase), when the definition uses it.
    'Reason': async (input) => {
      if (input.mode === 'invoke') {
        lambdaInvocations++;
        return reasonerHandle(input, reasonerDeps);
      }
      aws.converseCalls.push(input);
      if (throttlesLeft > 0) {
        throttlesLeft--;
        const err = new Error('Too many requests');
        err.name = 'BedrockRuntime.ThrottlingException';
        throw err;
      }
      tokens.input += usage.inputTokens; tokens.output += usage.outputTokens;
      return {
        StopReason: 'tool_use',
        Output: { Message: { Role: 'assistant', Content: [{ ToolUse: { ToolUseId: 't1', Name: 'record_answer', Input: scenario.answer } }] } },
        Usage: { InputTokens: usage.inputTokens, OutputTokens: usage.outputTokens, TotalTokens: usage.inputTokens + usage.outputTokens },
      };
    },
    'Checkpoint Answer': async (input) => {
      lambdaInvocations++;
      return reasonerHandle(input, reasonerDeps);
    },
    'Load Memory': (input) => {
      const scope = input.ExpressionAttributeValues[':scope'].S;
      const items = aws.items('context').filter((i) => i.scope === scope).sort((a, b) => (a.checkpointId < b.checkpointId ? 1 : -1))
        .slice(0, input.Limit).map((i) => ({ summary: { S: i.summary } }));
      return { Items: items, Count: items.length };
    },
    'Digest Tool Results': (input) => {
      lambdaInvocations++;
      return handleDigest(input, { progress });
    },
    'Tool policy': (input) => {
      const id = input.Key.policyId.S;
      const item = aws.table('policies').get(id);
      return item ? { Item: marshal(item) } : {};
    },
    'Request Approval': approvalStub,
    'Escalate Approval': approvalStub,
  };
  for (const name of collectTaskNames(definition)) {
    if (name.startsWith('Progress ')) {
      tasks[name] = (input) => {
        for (const e of input.Entries) aws.events.push({ source: e.Source, detailType: e.DetailType, detail: e.Detail });
        return { Entries: [{ EventId: 'e' }], FailedEntryCount: 0 };
      };
    }
    if (name.startsWith('Record ')) {
      tasks[name] = (input) => {
        aws.table('audit').set(`${input.Item.executionId.S}|${input.Item.recordId.S}`, unmarshal(input.Item));
        return {};
      };
    }
  }

  const result = await runLocal(definition, { bucket: BUCKET, key: scenario.upload.key, versionId: 'v1', actorId: null, sessionId: null }, {
    tasks,
    // each approval task gets its own token in the stub (as in Step Functions); the context needs one to render the payload
    context: { Task: { Token: TASK_TOKEN_PREFIX } },
  });
  const auditItems = aws.items('audit');
  return { scenario, result, aws, outcome: auditItems.find((i) => i.recordId === 'OUTCOME') ?? null, auditItems, tokens, lambdaInvocations };
}

function collectTaskNames(definition: any, into: string[] = []): string[] {
  for (const [name, state] of Object.entries<any>(definition.States ?? {})) {
    if (state.Type === 'Task') into.push(name);
    for (const b of state.Branches ?? []) collectTaskNames(b, into);
  }
  return into;
}

/** The definition of the workflow in a template. */
export function workflowDefinition(template: Template): any {
  return definitionFromTemplate(template);
}

/** Prices (us-east-1, on-demand, 2026) used by the cost model; sources in the example README. */
export const PRICES = {
  transitionPer1k: 0.025,
  novaProInputPer1k: 0.0008,
  novaProOutputPer1k: 0.0032,
  novaMicroInputPer1k: 0.000035,
  novaMicroOutputPer1k: 0.00014,
  lambdaRequest: 0.0000002,
  lambdaArmGbSecond: 0.0000133334,
  eventsPerMillion: 1.0,
  ddbWritePerMillion: 0.625,
};

/** What one execution used, as the cost model counts it. */
export interface ExecutionUsage {
  readonly transitions: number;
  readonly tokens: ScenarioRun['tokens'];
  readonly lambdaInvocations: number;
  /** Events put on EventBridge. */
  readonly events: number;
  /** DynamoDB write requests. */
  readonly ddbWrites: number;
}

/** Cost of one execution from what was measured (Lambda time assumed: 300 ms at 512 MB per invocation). */
export function costOf(u: ExecutionUsage): number {
  const t = u.tokens;
  const transitions = u.transitions * PRICES.transitionPer1k / 1000;
  const model = t.input / 1000 * PRICES.novaProInputPer1k + t.output / 1000 * PRICES.novaProOutputPer1k
    + t.summarizerInput / 1000 * PRICES.novaMicroInputPer1k + t.summarizerOutput / 1000 * PRICES.novaMicroOutputPer1k;
  const lambda = u.lambdaInvocations * (PRICES.lambdaRequest + 0.3 * 0.5 * PRICES.lambdaArmGbSecond);
  const events = u.events * PRICES.eventsPerMillion / 1e6;
  const writes = u.ddbWrites * PRICES.ddbWritePerMillion / 1e6;
  return transitions + model + lambda + events + writes;
}

/** Cost of one execution of either runner. */
export function costPerExecution(run: ScenarioRun | WireScenarioRun): number {
  if ('usage' in run) return costOf(run.usage);
  return costOf({
    transitions: run.result.transitions,
    tokens: run.tokens,
    lambdaInvocations: run.lambdaInvocations,
    events: run.aws.events.length,
    // in memory: each approval item is written about three times (PENDING, DECIDING, DECIDED)
    ddbWrites: run.auditItems.length + run.aws.items('context').length + run.aws.items('approvals').length * 3,
  });
}

/** The paths an execution of the claim processor takes, as issue 8 measures them. */
export const PATHS = [
  'automatic decision',
  'a person approves',
  'a person rejects, or escalation, or timeout',
  'invalid input',
  'invalid model answer',
] as const;
export type PathKind = (typeof PATHS)[number];

/**
 * Billed transitions per path before issue 8 (measured with the definition that had a progress state
 * per milestone, four Pass states per GetItem tool and Result/Done states: `examples/insurance-claims/simulate.ts` at commit 4311118).
 * Nothing else on these paths changed (the same events, Lambda invocations and writes), so the cost
 * before is the cost now plus the transitions saved.
 */
export const TRANSITIONS_BEFORE_ISSUE_8: Readonly<Record<PathKind, number>> = {
  'automatic decision': 23,
  'a person approves': 26,
  'a person rejects, or escalation, or timeout': 27,
  'invalid input': 6,
  'invalid model answer': 12,
};

/** The goal of issue 8: at most this many billed transitions per path. */
export const TRANSITION_GOALS: Readonly<Partial<Record<PathKind, number>>> = {
  'automatic decision': 15,
  'a person approves': 19,
  'a person rejects, or escalation, or timeout': 19,
};

/** The path of one run, from its audit outcome and the states it entered. */
export function pathKind(run: { outcome: Record<string, any> | null; result: LocalRunResult }): PathKind | undefined {
  const outcome = run.outcome?.outcome;
  if (outcome === 'AUTO_APPROVED' || outcome === 'AUTO_REJECTED') return 'automatic decision';
  if (outcome === 'REJECTED_INVALID') return 'invalid input';
  if (outcome === 'ERROR_INVALID_ANSWER') return 'invalid model answer';
  if (outcome === 'APPROVED' && !run.result.path.includes('Escalate Approval')) return 'a person approves';
  if (outcome === 'APPROVED' || outcome === 'REJECTED' || outcome === 'REJECTED_TIMEOUT') return 'a person rejects, or escalation, or timeout';
  return undefined;
}

/** One line per path: the scenarios on it, billed transitions and cost per 1,000 claims, now and before issue 8. */
export interface PathSummary {
  readonly path: PathKind;
  readonly scenarios: string[];
  /** Billed transitions (the most of the path's scenarios without retries). */
  readonly transitions: number;
  readonly transitionsBefore: number;
  /** Cost per 1,000 claims of the path's costliest scenario without retries, now and before. */
  readonly costPer1000: number;
  readonly costPer1000Before: number;
  /** The goal of issue 8 for the path, if it has one, and whether it is met. */
  readonly goal?: number;
  readonly meetsGoal: boolean;
}

/** The per-path summary of a set of runs (runs with retries are left out: their retries are billed on top). */
export function pathSummaries(runs: ReadonlyArray<ScenarioRun | WireScenarioRun>): PathSummary[] {
  const out: PathSummary[] = [];
  for (const kind of PATHS) {
    const on = runs.filter((r) => pathKind(r) === kind && Object.keys(r.result.retries).length === 0);
    if (on.length === 0) continue;
    const transitions = Math.max(...on.map((r) => r.result.transitions));
    const costPer1000 = Math.max(...on.map((r) => costPerExecution(r))) * 1000;
    const transitionsBefore = TRANSITIONS_BEFORE_ISSUE_8[kind];
    const goal = TRANSITION_GOALS[kind];
    out.push({
      path: kind,
      scenarios: on.map((r) => r.scenario.name),
      transitions,
      transitionsBefore,
      costPer1000,
      costPer1000Before: costPer1000 + (transitionsBefore - transitions) * PRICES.transitionPer1k,
      goal,
      meetsGoal: goal === undefined || transitions <= goal,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The scenarios on the wire layer

/** One scenario run on the wire layer. */
export interface WireScenarioRun {
  readonly scenario: Scenario;
  readonly result: LocalRunResult;
  readonly executionArn: string;
  /** The OUTCOME item of the audit table (null if none was written), read back from DynamoDB. */
  readonly outcome: Record<string, any> | null;
  readonly auditItems: Record<string, any>[];
  readonly tokens: ScenarioRun['tokens'];
  readonly usage: ExecutionUsage;
  /** The functions invoked (logical id, short), in order of first use. */
  readonly functions: string[];
  /** AWS calls on the wire during the scenario, by signing name. */
  readonly wireCalls: Record<string, number>;
  /** Task errors (caught by the definition or not) and ERROR log lines of the bundled handlers. */
  readonly taskErrors: string[];
  /** What the simulation found wrong on the way (a GET that changed something, a leaked token...). */
  readonly problems: string[];
}

/** Token usage the scripted model answers report (a ~1 MP photo plus the prompt, as Nova Pro reports it). */
const USAGE = { inputTokens: 1850, outputTokens: 160 };
const SUMMARY_USAGE = { inputTokens: 320, outputTokens: 60 };
const SUMMARY = 'Rear door dent; estimate and severity as assessed; photo consistent with the claim.';
const WRITE_ACTIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
/** Calls that change something (a GET of an approval link must make none). */
const MUTATING = new Set([...WRITE_ACTIONS, 'PutObject', 'CopyObject', 'DeleteObject', 'Publish', 'PutEvents', 'SendTaskSuccess', 'SendTaskFailure', 'SendTaskHeartbeat', 'StartExecution']);
const PERSON = { ip: '198.51.100.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Simulation/1.0', name: 'J. Adjuster' };

/** True when an EventBridge pattern (exact values, `prefix` filters) matches an event. */
function matchesPattern(pattern: any, event: any): boolean {
  return Object.entries<any>(pattern).every(([k, want]) => {
    const got = event?.[k];
    if (!Array.isArray(want)) return matchesPattern(want, got);
    return want.some((w) => (w !== null && typeof w === 'object' && 'prefix' in w ? typeof got === 'string' && got.startsWith(w.prefix) : got === w));
  });
}

/** A one-line excerpt. */
function cut(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** The text of an HTML page (title and paragraphs), for a message. */
function pageText(body: string): string {
  return unescapeHtml(body.replace(/<(style|script)[\s\S]*?<\/\1>/g, ' ').replace(/<[^>]+>/g, ' '));
}

function unescapeHtml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&#39;|&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** An API Gateway REST proxy event for a request to `url` (`https://<api>.execute-api.<region>.amazonaws.com/<stage>/approvals/<id>?...`). */
function apiGatewayEvent(url: URL, method: 'GET' | 'POST', body: string | null): Record<string, unknown> {
  const [, stage, ...rest] = url.pathname.split('/');
  const id = decodeURIComponent(rest[rest.length - 1]);
  const query = url.search ? Object.fromEntries(url.searchParams.entries()) : null;
  const headers: Record<string, string> = {
    'Host': url.host,
    'User-Agent': PERSON.userAgent,
    'Accept': 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'X-Forwarded-For': PERSON.ip,
    'X-Forwarded-Proto': 'https',
    'X-Forwarded-Port': '443',
    ...(method === 'POST' ? { 'Content-Type': 'application/x-www-form-urlencoded', 'Origin': `https://${url.host}` } : {}),
  };
  const apiId = url.host.split('.')[0];
  return {
    resource: '/approvals/{id}',
    path: `/${rest.join('/')}`,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query,
    multiValueQueryStringParameters: query ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])) : null,
    pathParameters: { id },
    stageVariables: null,
    requestContext: {
      resourceId: crypto.createHash('sha256').update('/approvals/{id}').digest('hex').slice(0, 6),
      resourcePath: '/approvals/{id}',
      httpMethod: method,
      requestId: crypto.randomUUID(),
      extendedRequestId: crypto.randomBytes(8).toString('base64'),
      requestTimeEpoch: Date.now(),
      path: url.pathname,
      accountId: WIRE_ACCOUNT,
      protocol: 'HTTP/1.1',
      stage,
      domainPrefix: apiId,
      domainName: url.host,
      apiId,
      identity: {
        sourceIp: PERSON.ip,
        userAgent: PERSON.userAgent,
        ...Object.fromEntries(['accountId', 'apiKey', 'apiKeyId', 'caller', 'cognitoAuthenticationProvider', 'cognitoAuthenticationType', 'cognitoIdentityId',
          'cognitoIdentityPoolId', 'principalOrgId', 'user', 'userArn'].map((k) => [k, null])),
      },
      authorizer: null,
    },
    body,
    isBase64Encoded: false,
  };
}

/**
 * The example deployed offline on the wire layer, ready to run scenarios one after another (warm
 * functions, as Lambda reuses execution environments). `start()`, `run()` each scenario, `stop()`.
 */
export class WireSimulation {
  /** Synthesizes the app, starts the local services and provisions the stack's resources in them. */
  public static async start(createApp: (props: { outdir: string }) => App): Promise<WireSimulation> {
    const outdir = tempOutdir('insurance-claims');
    const model = modelOf(createApp({ outdir }));
    const env = await WireEnvironment.start();
    const sim = new WireSimulation(env, model, outdir);
    await sim.stack.provision();
    return sim;
  }

  public readonly stack: OfflineStack;
  public readonly sfn: SfnWire;
  /** The state machine definition as deployed (physical names resolved). */
  public readonly definition: any;
  private readonly ddb: DynamoDBDocumentClient;
  private readonly s3: S3Client;
  private readonly fns: { starter: StackFunction; endpoint: StackFunction; request: StackFunction; reasoner: StackFunction };
  private readonly names: { uploads: string; policies: string; audit: string; context: string; approvals: string; triggerQueueArn: string };
  private readonly triggerPattern: any;
  private current?: { scenario: Scenario; human: ('approve' | 'reject' | 'timeout')[]; problems: string[]; endpointCalls: InvokeResult[] };

  private constructor(public readonly env: WireEnvironment, public readonly model: StackModel, private readonly outdir: string) {
    this.stack = new OfflineStack(env, model);
    this.sfn = new SfnWire(env, model, { lambdaFor: (fn) => this.stack.lambda(fn), onCallback: (task) => this.person(task) });
    this.definition = this.sfn.definition();
    const fn = (pattern: RegExp) => {
      const found = this.sfn.functions().find((f) => pattern.test(f.logicalId));
      if (!found) throw new Error(`insurance-claims: no function matching ${pattern}`);
      return found;
    };
    this.fns = {
      starter: fn(/StarterFunction/), endpoint: fn(/ApprovalEndpointFunction/), request: fn(/ApprovalRequestFunction/), reasoner: fn(/ReasonerFunction/),
    };
    const [[policiesId]] = model.ofType('AWS::DynamoDB::Table').filter(([id]) => id.startsWith('Policies'));
    const [[ruleId, rule]] = model.ofType('AWS::Events::Rule').filter(([, p]) => p.EventPattern?.source?.includes('aws.s3'));
    const queueId = rule.Targets[0].Arn['Fn::GetAtt'][0];
    this.triggerPattern = model.resolve(model.resources[ruleId].Properties!.EventPattern);
    this.names = {
      uploads: String(model.resolve(model.template.Outputs.UploadBucket.Value)),
      policies: model.ref(policiesId),
      audit: this.fns.endpoint.environment.AUDIT_TABLE,
      approvals: this.fns.endpoint.environment.APPROVALS_TABLE,
      context: this.fns.reasoner.environment.CONTEXT_TABLE,
      triggerQueueArn: model.getAtt(queueId, 'Arn'),
    };
    // the test's own view of the data (straight to dynalite: not in the wire call log)
    this.ddb = DynamoDBDocumentClient.from(env.dynamodb.client(), { marshallOptions: { removeUndefinedValues: true } });
    this.s3 = new S3Client({ ...wireClientConfig(env, model.region), forcePathStyle: true });
  }

  /** Runs one scenario: seed, upload, start, execute, read back what was recorded. */
  public async run(scenario: Scenario): Promise<WireScenarioRun> {
    const env = this.env;
    const problems: string[] = [];
    this.current = { scenario, human: [...(scenario.human ?? [])], problems, endpointCalls: [] };
    const tokens = { input: 0, output: 0, summarizerInput: 0, summarizerOutput: 0 };
    await this.seed(scenario);
    this.scriptModel(scenario, tokens);
    const mark = { calls: env.wire.calls.length, events: env.eventBridge.events().length, tasks: this.sfn.calls.length };

    // the customer's upload, and what S3 → EventBridge → SQS hand to the starter
    const { executionArn, name, input } = await this.upload(scenario);
    const result = await this.sfn.execute(this.definition, input, { executionArn, name });

    const audit = await this.ddb.send(new QueryCommand({
      TableName: this.names.audit, KeyConditionExpression: 'executionId = :e', ExpressionAttributeValues: { ':e': executionArn }, ConsistentRead: true,
    }));
    const auditItems = (audit.Items ?? []) as Record<string, any>[];
    // the error of a failed execution, kept whole as JSON (States.JsonToString: see sfn-local.ts for the interpreter's quirk)
    for (const item of auditItems.filter((i) => typeof i.cause === 'string')) {
      try {
        JSON.parse(item.cause);
      } catch {
        problems.push(`the audit record ${item.recordId} has a cause that is not valid JSON: ${cut(item.cause)}`);
      }
    }
    const calls = env.wire.calls.slice(mark.calls);
    const wireCalls: Record<string, number> = {};
    for (const c of calls) wireCalls[c.service] = (wireCalls[c.service] ?? 0) + 1;
    const tasks = this.sfn.calls.slice(mark.tasks);
    const taskErrors: string[] = [];
    /** ERROR lines of an invocation; one that succeeded anyway hid a failure from its caller: a problem. */
    const logErrors = (fnName: string, logs: readonly LogLine[] | undefined, failed: boolean) => {
      for (const l of logs ?? []) {
        if (l.level !== 'ERROR') continue;
        const line = `${fnName}: logged ERROR "${l.message}"${l.error ? ` ${cut(JSON.stringify(l.error))}` : ''}`;
        taskErrors.push(line);
        if (!failed) problems.push(`${line}, yet answered success`);
      }
    };
    for (const t of tasks) {
      if (t.error) taskErrors.push(`${t.stateName}${t.functionName ? ` (${this.short(t.functionName)})` : ''}: ${t.error.name}: ${cut(this.causeText(t.error.cause))}`);
      // a callback task's function may have succeeded while the task failed (rejected, timed out)
      if (t.functionName) logErrors(`${t.stateName} (${this.short(t.functionName)})`, t.logs, !!t.error && !/waitForTaskToken/.test(t.resource));
    }
    for (const c of this.current.endpointCalls) {
      if (c.error) taskErrors.push(`approval endpoint: ${c.error.errorType}: ${c.error.errorMessage}`);
      logErrors('approval endpoint', c.logs, !!c.error || (c.result?.statusCode ?? 500) >= 500);
    }
    const usage: ExecutionUsage = {
      transitions: result.transitions,
      tokens,
      // the starter, every Lambda task, and every request to the approval endpoint
      lambdaInvocations: 1 + tasks.filter((t) => t.functionName).length + this.current.endpointCalls.length,
      events: env.eventBridge.events().length - mark.events,
      ddbWrites: calls.filter((c) => c.service === 'dynamodb' && WRITE_ACTIONS.has(c.action) && !c.error).length,
    };
    const functions = [...new Set([
      this.short(this.fns.starter.functionName),
      ...tasks.filter((t) => t.functionName).map((t) => this.short(t.functionName!)),
      ...(this.current.endpointCalls.length > 0 ? [this.short(this.fns.endpoint.functionName)] : []),
    ])];
    this.current = undefined;
    return {
      scenario, result, executionArn, outcome: auditItems.find((i) => i.recordId === 'OUTCOME') ?? null, auditItems, tokens, usage, functions, wireCalls, taskErrors, problems,
    };
  }

  public async stop(): Promise<void> {
    this.s3.destroy();
    this.ddb.destroy();
    await this.sfn.close();
    await this.stack.close();
    await this.env.stop();
    fs.rmSync(this.outdir, { recursive: true, force: true });
  }

  // --- scripted data ---------------------------------------------------------------------------

  /** The policy item and the customer's earlier summaries, as this scenario has them. */
  private async seed(scenario: Scenario): Promise<void> {
    if (scenario.policy) {
      await this.ddb.send(new PutCommand({ TableName: this.names.policies, Item: { policyId: POLICY_ID, ...scenario.policy } }));
    } else {
      await this.ddb.send(new DeleteCommand({ TableName: this.names.policies, Key: { policyId: POLICY_ID } }));
    }
    const scope = `actor#${actorOf(scenario) || POLICY_ID}`;
    const old = await this.ddb.send(new QueryCommand({ TableName: this.names.context, KeyConditionExpression: '#s = :s', ExpressionAttributeNames: { '#s': 'scope' }, ExpressionAttributeValues: { ':s': scope } }));
    for (const item of old.Items ?? []) {
      await this.ddb.send(new DeleteCommand({ TableName: this.names.context, Key: { scope: item.scope, checkpointId: item.checkpointId } }));
    }
    for (const [i, summary] of (scenario.memory ?? []).entries()) {
      await this.ddb.send(new PutCommand({ TableName: this.names.context, Item: { scope, checkpointId: `2026-11-0${i + 1}T00:00:00.000Z#reason`, summary } }));
    }
  }

  /** Bedrock's answers: the scripted assessment (after `throttles` ThrottlingExceptions) and the summarizer's summary. */
  private scriptModel(scenario: Scenario, tokens: ScenarioRun['tokens']): void {
    let throttles = scenario.throttles ?? 0;
    this.env.bedrockRuntime.reset();
    this.env.bedrockRuntime.respondWith((req: ConverseRequestRecord) => {
      if (/nova-micro/.test(req.modelId)) {
        tokens.summarizerInput += SUMMARY_USAGE.inputTokens;
        tokens.summarizerOutput += SUMMARY_USAGE.outputTokens;
        return BedrockRuntimeService.textAnswer(SUMMARY, SUMMARY_USAGE);
      }
      // Bedrock reads an image given as an S3 location itself: it must be there
      for (const message of req.body.messages ?? []) {
        for (const block of message.content ?? []) {
          const uri: string | undefined = block.image?.source?.s3Location?.uri;
          const m = uri ? /^s3:\/\/([^/]+)\/(.+)$/.exec(uri) : null;
          if (uri && (!m || !this.env.s3.hasBucket(m[1]) || !this.env.s3.getObject(m[1], m[2]))) {
            return BedrockRuntimeService.error('ValidationException', `The provided S3 location ${uri} could not be read.`);
          }
        }
      }
      if (throttles > 0) {
        throttles--;
        return BedrockRuntimeService.error('ThrottlingException', 'Too many requests, please wait before trying again.');
      }
      tokens.input += USAGE.inputTokens;
      tokens.output += USAGE.outputTokens;
      return BedrockRuntimeService.toolUseAnswer(req.body.toolConfig?.toolChoice?.tool?.name ?? 'record_answer', scenario.answer, USAGE);
    });
  }

  // --- the trigger -----------------------------------------------------------------------------

  /** PutObject, then the "Object Created" event through the rule and the queue to the bundled starter; returns the execution it started. */
  private async upload(scenario: Scenario): Promise<{ executionArn: string; name: string; input: unknown }> {
    const bucket = this.names.uploads;
    const { key, body, contentType, metadata } = scenario.upload;
    const put = await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, Metadata: metadata }));
    const stored = this.env.s3.getObject(bucket, key, put.VersionId)!;
    const now = new Date();
    const event = {
      'version': '0',
      'id': crypto.randomUUID(),
      'detail-type': 'Object Created',
      'source': 'aws.s3',
      'account': WIRE_ACCOUNT,
      'time': now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'region': this.model.region,
      'resources': [`arn:aws:s3:::${bucket}`],
      'detail': {
        'version': '0',
        'bucket': { name: bucket },
        'object': {
          'key': key.split('/').map((s) => encodeURIComponent(s).replace(/%20/g, '+')).join('/'),
          'size': stored.body.length,
          'etag': stored.etag.replace(/"/g, ''),
          'version-id': stored.versionId,
          'sequencer': now.getTime().toString(16).toUpperCase().padStart(18, '0'),
        },
        'request-id': crypto.randomBytes(8).toString('hex').toUpperCase(),
        'requester': WIRE_ACCOUNT,
        'source-ip-address': PERSON.ip,
        'reason': 'PutObject',
      },
    };
    if (!matchesPattern(this.triggerPattern, event)) throw new Error(`the trigger rule's pattern does not match the upload of ${key}`);
    const messageBody = JSON.stringify(event);
    const sqsEvent = {
      Records: [{
        messageId: crypto.randomUUID(),
        receiptHandle: `AQEB${crypto.randomBytes(48).toString('base64')}`,
        body: messageBody,
        attributes: {
          ApproximateReceiveCount: '1', SentTimestamp: String(now.getTime()), SenderId: 'AIDAIENQZJOLO23YVJ4VO', ApproximateFirstReceiveTimestamp: String(now.getTime()),
        },
        messageAttributes: {},
        md5OfBody: crypto.createHash('md5').update(messageBody).digest('hex'),
        eventSource: 'aws:sqs',
        eventSourceARN: this.names.triggerQueueArn,
        awsRegion: this.model.region,
      }],
    };
    const before = new Set(this.env.stepFunctions.executions.map((e) => e.executionArn));
    const out = await this.stack.lambda(this.fns.starter).invoke(sqsEvent);
    const starterErrors: string[] = [];
    if (out.error) starterErrors.push(`starter: ${out.error.errorType}: ${out.error.errorMessage}`);
    if ((out.result?.batchItemFailures ?? []).length > 0) starterErrors.push(`starter: batch item failures ${JSON.stringify(out.result.batchItemFailures)}`);
    for (const l of out.logs) if (l.level === 'ERROR') starterErrors.push(`starter: logged ERROR "${l.message}"`);
    this.current?.problems.push(...starterErrors);
    const started = this.env.stepFunctions.executions.filter((e) => !before.has(e.executionArn));
    if (started.length !== 1) throw new Error(`the starter started ${started.length} executions for ${key}: ${starterErrors.join('; ') || 'no error reported'}`);
    return { executionArn: started[0].executionArn, name: started[0].name, input: JSON.parse(started[0].input) };
  }

  // --- the person ------------------------------------------------------------------------------

  /**
   * An approval task waits: the person reads the e-mail the approval request published, opens the
   * link (GET: the confirm page; nothing may change), and presses the button (POST of the form to
   * the same URL); or does nothing until the task times out.
   */
  private async person(task: CallbackTask): Promise<CallbackOutcome> {
    const cur = this.current;
    if (!cur) throw new Error('an approval task outside a scenario');
    const fail = (problem: string): never => {
      cur.problems.push(`${task.stateName}: ${problem}`);
      const err = new Error(problem);
      err.name = 'SimulationCheckFailed';
      throw err;
    };
    const stage = task.input?.Payload?.stage;
    const topic = stage === 'escalation' ? this.fns.request.environment.ESCALATION_TOPIC_ARN : this.fns.request.environment.PRIMARY_TOPIC_ARN;
    const mails = this.env.sns.published(topic).filter((m) => m.message.includes(`Execution: ${task.executionArn}`));
    if (mails.length !== 1) fail(`expected 1 notification on ${topic.split(':').pop()} for this execution, found ${mails.length}`);
    const message = mails[0].message;
    if (message.includes(task.token)) fail('the task token leaked into the notification');
    const action = cur.human.shift() ?? 'timeout';
    if (action === 'timeout') return 'timeout';

    const link = message.split(/\s+/).find((w) => w.startsWith('https://') && w.includes(`action=${action}`));
    if (!link) return fail(`no ${action} link in the notification`);
    const url = new URL(link);
    if (!url.href.startsWith(this.fns.request.environment.ENDPOINT_URL)) fail(`the link ${url.origin}${url.pathname} is not under the approval API ${this.fns.request.environment.ENDPOINT_URL}`);
    const endpoint = this.stack.lambda(this.fns.endpoint);

    // a mail scanner or the person opens the link: the confirm page, nothing decided
    const callsBefore = this.env.wire.calls.length;
    const get = await endpoint.invoke(apiGatewayEvent(url, 'GET', null));
    cur.endpointCalls.push(get);
    const changed = this.env.wire.calls.slice(callsBefore).filter((c) => MUTATING.has(c.action)).map((c) => `${c.service}:${c.action}`);
    if (get.error || get.result?.statusCode !== 200) fail(`GET answered ${get.result?.statusCode ?? get.error?.errorType}: ${cut(pageText(String(get.result?.body ?? get.error?.errorMessage)))}`);
    if (changed.length > 0 || this.env.stepFunctions.task(task.token).status !== 'OPEN') fail(`the GET changed something: ${changed.join(', ') || 'the task was answered'}`);

    // the confirm page's form, posted to the page's own URL
    const page = String(get.result.body);
    const hidden = Object.fromEntries([...page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], unescapeHtml(m[2])]));
    if (!page.includes('<form method="post"') || hidden.action !== action) fail(`the confirm page has no ${action} form`);
    const form = new URLSearchParams({
      ...hidden,
      comment: action === 'approve' ? 'Photos match the garage quote.' : 'Damage predates the policy.',
      name: PERSON.name,
    });
    const post = await endpoint.invoke(apiGatewayEvent(url, 'POST', form.toString()));
    cur.endpointCalls.push(post);
    if (post.error || post.result?.statusCode !== 200) fail(`POST answered ${post.result?.statusCode ?? post.error?.errorType}: ${cut(pageText(String(post.result?.body ?? post.error?.errorMessage)), 300)}`);
    // the approval, as recorded: decided, and for the token this task was given
    const approvalId = decodeURIComponent(url.pathname.split('/').pop()!);
    const item = (await this.ddb.send(new GetCommand({ TableName: this.names.approvals, Key: { approvalId }, ConsistentRead: true }))).Item;
    if (item?.status !== 'DECIDED' || item.taskToken !== task.token) {
      fail(`the approval ${approvalId} is ${item ? `${item.status}${item.taskToken === task.token ? '' : ' for another task token'}` : 'missing'} after the POST`);
    }
    return 'answered';
  }

  private short(functionName: string): string {
    const f = this.sfn.functions().find((x) => x.functionName === functionName);
    return f ? f.logicalId.replace(/^Claims/, '').replace(/Function[0-9A-F]{8}$/, '') : functionName;
  }

  private causeText(cause: string): string {
    try {
      const parsed = JSON.parse(cause);
      return String(parsed.errorMessage ?? cause);
    } catch {
      return cause;
    }
  }
}

/**
 * Local simulation of the claim processor: the synthesized state machine runs in
 * aws-local-stepfunctions; the bundled handlers (validator, reasoner/checkpoint, approval request,
 * approval endpoint) run for real against an in-memory AWS (S3, DynamoDB, SNS, EventBridge, Step
 * Functions task responses); only Bedrock answers, the policy table's contents and the human's
 * choice are scripted per scenario. Shared by simulate.ts and the test suite.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import { handle as endpointHandle } from '../../src/agent-workflow/runtime/approval-endpoint.lambda';
import { handle as requestHandle } from '../../src/agent-workflow/runtime/approval-request.lambda';
import { digestToolResults, handle as reasonerHandle, parseReasonerEnv } from '../../src/agent-workflow/runtime/reasoner.lambda';
import { handle as validatorHandle } from '../../src/agent-workflow/runtime/validator.lambda';
import { FakeAgentAws } from '../../test/agent-workflow/fake-agent-aws';
import { definitionFromTemplate, LocalRunResult, runLocal } from '../../test/harness/sfn-local';

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
const upload = (name: string, body = jpeg(FIVE_MB - 1024), contentType = 'image/jpeg') => ({
  key: `claims/${name}.jpg`, contentType, body, metadata: { 'policy-id': 'POL-1001', 'actor-id': 'customer-42' },
});
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
    name: 'missing-metadata',
    description: 'uploaded without the policy-id metadata the prompt and the policy lookup need',
    upload: { ...upload('no-metadata'), metadata: {} },
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
  if (scenario.policy) aws.table('policies').set('POL-1001', { policyId: 'POL-1001', ...scenario.policy });
  for (const [i, summary] of (scenario.memory ?? []).entries()) {
    aws.table('context').set(`actor#customer-42|2026-11-0${i + 1}T00:00:00.000Z#reason`, {
      scope: 'actor#customer-42', checkpointId: `2026-11-0${i + 1}T00:00:00.000Z#reason`, summary,
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
  };
  const signingKey = async () => 'local-simulation-signing-key-0123456789abcdef0123456789abcdef';
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
      return validatorHandle({ request: input.request, rules }, { s3: aws.s3, log: quiet });
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
      return digestToolResults(input);
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

/** Cost of one execution from what the simulation measured (Lambda time assumed: 300 ms at 512 MB per invocation). */
export function costPerExecution(run: ScenarioRun): number {
  const t = run.tokens;
  const transitions = run.result.transitions * PRICES.transitionPer1k / 1000;
  const model = t.input / 1000 * PRICES.novaProInputPer1k + t.output / 1000 * PRICES.novaProOutputPer1k
    + t.summarizerInput / 1000 * PRICES.novaMicroInputPer1k + t.summarizerOutput / 1000 * PRICES.novaMicroOutputPer1k;
  const lambda = run.lambdaInvocations * (PRICES.lambdaRequest + 0.3 * 0.5 * PRICES.lambdaArmGbSecond);
  const events = run.aws.events.length * PRICES.eventsPerMillion / 1e6;
  const writes = (run.auditItems.length + run.aws.items('context').length + run.aws.items('approvals').length * 3) * PRICES.ddbWritePerMillion / 1e6;
  return transitions + model + lambda + events + writes;
}

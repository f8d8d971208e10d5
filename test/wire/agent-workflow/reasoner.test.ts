/**
 * The reasoner at the wire, in both of its modes, as its own bundled SDK talks to the services:
 * - checkpoint (the insurance-claims example: Step Functions called Converse, the "Checkpoint
 *   Answer" task stores, validates and summarizes the answer);
 * - invoke (the grader stack of agent-stack.ts, ReasoningInvocation.LAMBDA: the function reads
 *   memory from the context table, the image bytes from S3, calls Converse over HTTP/2 against the
 *   Bedrock fake).
 * Both stacks are provisioned in one wire environment. Events are the task parameters of the
 * synthesized definitions, filled as Step Functions fills them.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { AgentStack, claimsStack, deploy, Deployed, emf, forgetCalls, graderStack, itemOf, JPEG, logged, materialize, partition, PNG, undeploy } from './agent-stack';
import { SUMMARIZER_SYSTEM_PROMPT } from '../../../src/agent-workflow/runtime/answer';
import { LocalLambda } from '../../harness/aws/lambda-runner';
import { OfflineStack } from '../../harness/aws/offline-stack';
import { BedrockRuntimeService } from '../../harness/aws/services/bedrock-runtime';

// Synthesizes a stack and starts the local services in beforeAll; runs bundled handlers as child processes.
jest.setTimeout(60_000);

let claims: AgentStack;
let grader: AgentStack;
let d: Deployed;
let checkpoint: LocalLambda;
let reasoner: LocalLambda;
let validator: LocalLambda;

beforeAll(async () => {
  claims = await claimsStack();
  grader = await graderStack();
  d = await deploy(claims);
  const second = new OfflineStack(d.env, grader.model);
  await second.provision();
  checkpoint = d.env.lambda(claims.fn('reasoner'));
  reasoner = d.env.lambda(grader.fn('reasoner'));
  validator = d.env.lambda(grader.fn('validator'));
});
afterAll(() => undeploy(d));
beforeEach(() => {
  forgetCalls(d);
  d.env.bedrockRuntime.reset();
});

const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:InsuranceClaims-08AA855B:claim-7-0123456789abcdef';
const nowS = () => Math.floor(Date.now() / 1000);
const artifactsOf = (stack: AgentStack) => stack.fn('reasoner').environment.ARTIFACT_BUCKET;
const contextOf = (stack: AgentStack) => stack.fn('reasoner').environment.CONTEXT_TABLE;
const errorsOf = (rules: Array<{ ErrorEquals: string[] }>): string[] => rules.flatMap((r) => r.ErrorEquals);
const retriedBy = (stack: AgentStack, state: string): string[] => errorsOf(stack.definition.States[state].Retry);
const caughtBy = (stack: AgentStack, state: string): string[] => errorsOf(stack.definition.States[state].Catch);
const metric = (logs: Array<Record<string, any>>, name: string) => emf(logs).filter((doc) => doc[name] !== undefined);

describe('checkpoint mode (the insurance-claims example: Step Functions called Converse)', () => {
  const validation = {
    valid: true,
    reason: '',
    bucket: 'insuranceclaims-claimuploads',
    key: 'claims/2026/claim-7.jpg',
    versionId: 'v7aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    size: JPEG.length,
    contentType: 'image/jpeg',
    etag: '"e"',
    actorId: 'cust-42',
    sessionId: '',
    memoryScope: 'actor#cust-42',
    analysisBucket: 'insuranceclaims-claimsartifactbucket',
    analysisKey: 'inputs/0123/claim-7.jpg',
    metadata: { policy_id: 'P-100', actor_id: 'cust-42' },
  };
  /** What the "Reason" state's ResultSelector leaves in $.reasoning (the SDK integration answers PascalCase). */
  const converseResult = (input: unknown, stopReason = 'tool_use') => ({
    stopReason,
    content: [{ ToolUse: { ToolUseId: 'tooluse_1', Name: 'record_answer', Input: input } }],
    usage: { InputTokens: 1520, OutputTokens: 85, TotalTokens: 1605 },
  });
  const event = (answer: unknown, executionId = EXECUTION) =>
    materialize(claims.task('Checkpoint Answer'), { validation, reasoning: converseResult(answer) }, { Execution: { Id: executionId } });
  const ANSWER = { damage_type: 'dent', estimated_cost: 2400, severity_score: 3, confidence_score: 0.91, summary: 'Dent in the rear door.', damaged_parts: ['rear door'] };

  test('a valid answer: artifact in S3, summary by the summarizer model (Converse over HTTP/2), checkpoint item, token metrics, a small result', async () => {
    d.env.bedrockRuntime.reply(BedrockRuntimeService.textAnswer('A dent in the rear door, repair about 2400 USD.', { inputTokens: 120, outputTokens: 14 }));
    const before = nowS();
    const out = await checkpoint.invoke(event(ANSWER));
    expect(out.error).toBeUndefined();
    const artifactKey = `artifacts/${EXECUTION.replace(/:/g, '_')}/reason/answer.json`;
    expect(out.result).toEqual({
      valid: true,
      fields: { damage_type: 'dent', estimated_cost: 2400, severity_score: 3, confidence_score: 0.91, summary: 'Dent in the rear door.' },
      artifactKey,
      summary: 'A dent in the rear door, repair about 2400 USD.',
      checkpointId: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z#reason$/),
      modelId: 'us.amazon.nova-pro-v1:0',
      promptHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      outputDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      usage: { inputTokens: 1520, outputTokens: 85 },
    });
    const artifact = JSON.parse(d.env.s3.getObject(artifactsOf(claims), artifactKey)!.body.toString('utf8'));
    expect(artifact).toMatchObject({ answer: ANSWER, valid: true, errors: [], stopReason: 'tool_use', executionId: EXECUTION, step: 'reason', outputDigest: out.result.outputDigest });
    expect(d.env.s3.getObject(artifactsOf(claims), artifactKey)!.contentType).toBe('application/json');

    const [summarizer] = d.env.bedrockRuntime.requests;
    expect(d.env.bedrockRuntime.requests).toHaveLength(1);
    expect(summarizer.modelId).toBe('us.amazon.nova-micro-v1:0');
    expect(summarizer.body.system).toEqual([{ text: SUMMARIZER_SYSTEM_PROMPT }]);
    expect(summarizer.body.messages[0].content[0].text).toContain(JSON.stringify(ANSWER));
    expect(summarizer.body.inferenceConfig).toEqual({ maxTokens: 256, temperature: 0 });

    const item = await itemOf(d, contextOf(claims), { scope: 'actor#cust-42', checkpointId: out.result.checkpointId });
    expect(item).toEqual({
      scope: 'actor#cust-42',
      checkpointId: out.result.checkpointId,
      executionId: EXECUTION,
      step: 'reason',
      summary: out.result.summary,
      artifactKey,
      outputDigest: out.result.outputDigest,
      modelId: 'us.amazon.nova-pro-v1:0',
      ttl: expect.any(Number),
    });
    expect(item!.ttl - before).toBeGreaterThanOrEqual(Number(claims.fn('reasoner').environment.CONTEXT_TTL_SECONDS));
    const tokens = metric(out.logs, 'InputTokens');
    expect(tokens.map((doc) => [doc.ModelId, doc.InputTokens, doc.OutputTokens])).toEqual([['us.amazon.nova-pro-v1:0', 1520, 85], ['us.amazon.nova-micro-v1:0', 120, 14]]);
    expect(tokens[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Workflow', 'ModelId']]);
    expect(logged(out.logs, 'reasoning step done')[0]).toMatchObject({ level: 'INFO', artifactKey, checkpointId: out.result.checkpointId });
    // then the 'reasoning' progress event (the state machine has no "Progress Reasoned" state)
    expect(d.env.wire.calls.map((c) => `${c.service}:${c.action}`)).toEqual(['s3:PutObject', 'bedrock:Converse', 'dynamodb:PutItem', 'events:PutEvents']);
    const env = claims.fn('reasoner').environment;
    const [progress] = d.env.eventBridge.events(env.EVENT_BUS_NAME);
    expect(d.env.eventBridge.events()).toHaveLength(1);
    expect(progress).toMatchObject({ source: env.EVENT_SOURCE, detailType: 'Agent Workflow Progress' });
    expect(progress.detail).toEqual({ workflow: 'insurance-claims', executionId: EXECUTION, step: 'reasoning', status: 'DONE', percent: 50, at: expect.any(String) });
    expect(Math.abs(Date.parse(progress.detail.at as string) - Date.now())).toBeLessThan(60_000);
  });

  test('an answer that breaks the schema is stored first, then AgentSchemaViolation (caught by the state machine), no checkpoint', async () => {
    const executionId = `${EXECUTION}-bad`;
    const out = await checkpoint.invoke(event({ damage_type: 'scratch', estimated_cost: -5, severity_score: 9 }, executionId));
    expect(out.error?.errorType).toBe('AgentSchemaViolation');
    expect(caughtBy(claims, 'Checkpoint Answer')).toContain('AgentSchemaViolation');
    const artifactKey = `artifacts/${executionId.replace(/:/g, '_')}/reason/answer.json`;
    expect(out.error?.errorMessage).toContain(`Stored at s3://${artifactsOf(claims)}/${artifactKey}`);
    const artifact = JSON.parse(d.env.s3.getObject(artifactsOf(claims), artifactKey)!.body.toString('utf8'));
    expect(artifact.valid).toBe(false);
    expect(artifact.errors.length).toBeGreaterThanOrEqual(2);
    expect(await partition(d, contextOf(claims), 'scope', `execution#${executionId}`)).toEqual([]);
    expect(d.env.wire.calls.map((c) => `${c.service}:${c.action}`)).toEqual(['s3:PutObject']);
    expect(metric(out.logs, 'SchemaViolations')[0]).toMatchObject({ SchemaViolations: 1, ModelId: 'us.amazon.nova-pro-v1:0' });
  });

  test('a throttled summarizer: the deterministic summary is used, the throttle logged with its cause and counted', async () => {
    d.env.bedrockRuntime.reply(BedrockRuntimeService.error('ThrottlingException', 'Too many requests, please wait before trying again.'));
    const out = await checkpoint.invoke(event(ANSWER, `${EXECUTION}-throttled`));
    expect(out.result.summary).toBe('damage_type=dent; estimated_cost=2400; severity_score=3; confidence_score=0.91; summary=Dent in the rear door.');
    expect(d.env.bedrockRuntime.requests).toHaveLength(1);
    expect(logged(out.logs, 'Bedrock Converse failed with a retryable error')[0]).toMatchObject({
      level: 'WARN', modelId: 'us.amazon.nova-micro-v1:0', error: 'ThrottlingException', errorMessage: 'Too many requests, please wait before trying again.',
    });
    expect(logged(out.logs, 'summarizer failed; using the deterministic summary')).toHaveLength(1);
    expect(metric(out.logs, 'ModelThrottles')[0]).toMatchObject({ ModelThrottles: 1, ModelId: 'us.amazon.nova-micro-v1:0' });
  });

  test('a failed artifact write fails the step with its cause (nothing checkpointed); a failed checkpoint write too, after the artifact', async () => {
    d.env.wire.fail({ service: 's3', action: 'PutObject', code: 'AccessDenied', message: 'Access Denied', status: 403 });
    const noArtifact = await checkpoint.invoke(event(ANSWER, `${EXECUTION}-s3`));
    expect(noArtifact.error).toMatchObject({ errorType: 'AccessDenied', errorMessage: 'Access Denied' });
    expect(logged(noArtifact.logs, 'reasoning step failed')[0].error).toEqual({ name: 'AccessDenied', message: 'Access Denied' });
    expect(d.env.wire.calls.map((c) => `${c.service}:${c.action}`)).toEqual(['s3:PutObject']);

    forgetCalls(d);
    d.env.bedrockRuntime.reply(BedrockRuntimeService.textAnswer('Summary.'));
    d.env.wire.fail({ service: 'dynamodb', action: 'PutItem', code: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'Requested resource not found' });
    const noCheckpoint = await checkpoint.invoke(event(ANSWER, `${EXECUTION}-ddb`));
    expect(noCheckpoint.error).toMatchObject({ errorType: 'ResourceNotFoundException', errorMessage: 'Requested resource not found' });
    expect(d.env.s3.getObject(artifactsOf(claims), `artifacts/${`${EXECUTION}-ddb`.replace(/:/g, '_')}/reason/answer.json`)).toBeDefined();
  });

  test('digest mode: the GetItem result projected (typed, null-safe), its digest, and the "tools" progress event', async () => {
    // what the "Tool policy" branch leaves in $.tools.policy: the GetItem answer as the integration gives it
    const meta = { SdkHttpMetadata: { HttpStatusCode: 200, HttpHeaders: {} }, SdkResponseMetadata: { RequestId: 'r-1' } };
    const tools = { policy: { Item: { autoApproveLimit: { N: '1000' }, coverageLimit: { S: '50000' }, status: { S: 'ACTIVE' } }, ...meta } };
    const out = await checkpoint.invoke(materialize(claims.task('Digest Tool Results'), { tools }, { Execution: { Id: EXECUTION } }));
    expect(out.error).toBeUndefined();
    const projected = { policy: { autoApproveLimit: 1000, coverageLimit: null, status: 'ACTIVE' } };
    expect(out.result).toEqual({
      tools: projected,
      toolsDigest: { value: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: Buffer.byteLength(JSON.stringify(projected)) },
    });
    // no such item: every field present, null
    const none = await checkpoint.invoke(materialize(claims.task('Digest Tool Results'), { tools: { policy: meta } }, { Execution: { Id: EXECUTION } }));
    expect(none.result.tools).toEqual({ policy: { autoApproveLimit: null, coverageLimit: null, status: null } });
    expect(d.env.wire.calls.map((c) => `${c.service}:${c.action}`)).toEqual(['events:PutEvents', 'events:PutEvents']);
    const env = claims.fn('reasoner').environment;
    expect(d.env.eventBridge.events(env.EVENT_BUS_NAME).map((e) => e.detail)).toEqual(Array(2).fill({
      workflow: 'insurance-claims', executionId: EXECUTION, step: 'tools', status: 'DONE', percent: 65, at: expect.any(String),
    }));
  });

  test('a progress event EventBridge refuses is logged as an error; the checkpoint answers all the same', async () => {
    d.env.bedrockRuntime.reply(BedrockRuntimeService.textAnswer('Summary.'));
    d.env.wire.fail({ service: 'events', action: 'PutEvents', code: 'AccessDeniedException', message: 'not authorized to put events', status: 400 });
    const out = await checkpoint.invoke(event(ANSWER, `${EXECUTION}-no-events`));
    expect(out.error).toBeUndefined();
    expect(out.result.valid).toBe(true);
    expect(logged(out.logs, 'progress events could not be sent')[0]).toMatchObject({
      level: 'ERROR', executionId: `${EXECUTION}-no-events`, steps: ['reasoning'], error: 'AccessDeniedException',
    });
    expect(d.env.eventBridge.events()).toEqual([]);
  });
});

describe('invoke mode (ReasoningInvocation.LAMBDA: the function calls Converse)', () => {
  const inbox = () => grader.task('Validate Input').rules.bucket;
  let seq = 0;
  /** Uploads a photo and runs the stack's validator on it: the validation the "Reason" task receives. */
  async function validated(body: Buffer, contentType = 'image/png'): Promise<Record<string, any>> {
    const key = `uploads/photo-${++seq}.png`;
    d.env.s3.putObject(inbox(), key, body, { contentType, metadata: { 'actor-id': 'seller-9' } });
    const out = await validator.invoke(materialize(grader.task('Validate Input'), { bucket: inbox(), key, versionId: null, actorId: null, sessionId: null },
      { Execution: { Id: `arn:aws:states:us-east-1:123456789012:execution:Grader:${key.replace(/\W/g, '-')}`, StartTime: new Date().toISOString() } }));
    expect(out.result.valid).toBe(true);
    return out.result;
  }
  const reasonEvent = (validation: Record<string, any>, executionId: string) =>
    materialize(grader.task('Reason'), { validation }, { Execution: { Id: executionId } });

  test('memory from the context table, the image bytes from S3, Converse with json_schema output; artifact, summary, checkpoint', async () => {
    const scope = 'actor#seller-9';
    for (const [i, summary] of ['oldest: grade 2', 'older: grade 3', 'newest: grade 5'].entries()) {
      await d.ddb.send(new PutCommand({ TableName: contextOf(grader), Item: { scope, checkpointId: `2026-11-0${i + 1}T00:00:00.000Z#reason`, summary } }));
    }
    const validation = await validated(PNG);
    expect(validation.memoryScope).toBe(scope);
    forgetCalls(d);
    d.env.bedrockRuntime.reply(
      BedrockRuntimeService.textAnswer(JSON.stringify({ grade: 4, note: 'sharp, well lit', defects: ['dust'] }), { inputTokens: 900, outputTokens: 30 }),
      BedrockRuntimeService.textAnswer('Grade 4 of 5: sharp, well lit, some dust.'),
    );
    const executionId = 'arn:aws:states:us-east-1:123456789012:execution:Grader:photo-1';
    const out = await reasoner.invoke(reasonEvent(validation, executionId));
    expect(out.error).toBeUndefined();
    expect(out.result).toMatchObject({ valid: true, fields: { grade: 4, note: 'sharp, well lit' }, summary: 'Grade 4 of 5: sharp, well lit, some dust.', usage: { inputTokens: 900, outputTokens: 30 } });

    const [request, summarizer] = d.env.bedrockRuntime.requests;
    expect(request.modelId).toBe('anthropic.claude-3-5-sonnet-20240620-v1:0');
    expect(request.body.system).toEqual([{ text: 'You grade photos of products.' }]);
    const [memory, image, prompt] = request.body.messages[0].content;
    expect(memory.text).toMatch(/1\. newest: grade 5\n2\. older: grade 3$/);
    expect(image.image.format).toBe('png');
    expect(Buffer.from(image.image.source.bytes, 'base64').equals(PNG)).toBe(true);
    expect(prompt).toEqual({ text: `Grade ${validation.key} for seller seller-9.` });
    expect(JSON.parse(request.body.outputConfig.textFormat.structure.jsonSchema.schema)).toEqual(grader.task('Reason').config.outputSchema);
    expect(request.body.inferenceConfig).toEqual({ maxTokens: 2000 });
    expect(summarizer.modelId).toBe('amazon.nova-micro-v1:0');
    expect(d.env.wire.callsOf('dynamodb', 'Query')[0].input).toMatchObject({ Limit: 2, ScanIndexForward: false });
    expect(d.env.wire.calls.map((c) => `${c.service}:${c.action}`))
      .toEqual(['dynamodb:Query', 's3:GetObject', 'bedrock:Converse', 's3:PutObject', 'bedrock:Converse', 'dynamodb:PutItem', 'events:PutEvents']);
    expect(d.env.eventBridge.events().map((e) => e.detail)).toEqual([expect.objectContaining({ workflow: 'photo-grader', executionId, step: 'reasoning', percent: 50 })]);

    const artifact = JSON.parse(d.env.s3.getObject(artifactsOf(grader), out.result.artifactKey)!.body.toString('utf8'));
    expect(artifact).toMatchObject({ answer: { grade: 4, note: 'sharp, well lit', defects: ['dust'] }, valid: true, stopReason: 'end_turn' });
    const checkpoints = await partition(d, contextOf(grader), 'scope', scope);
    expect(checkpoints.map((c) => c.summary)).toEqual(['oldest: grade 2', 'older: grade 3', 'newest: grade 5', 'Grade 4 of 5: sharp, well lit, some dust.']);
  });

  test('Bedrock throttling: one attempt, rethrown as ThrottlingException (which the "Reason" state retries), nothing written, counted', async () => {
    const validation = await validated(PNG);
    forgetCalls(d);
    d.env.bedrockRuntime.reply(BedrockRuntimeService.error('ThrottlingException', 'Too many tokens, please wait before trying again.'));
    const out = await reasoner.invoke(reasonEvent(validation, 'arn:aws:states:us-east-1:123456789012:execution:Grader:photo-throttled'));
    expect(out.error?.errorType).toBe('ThrottlingException');
    expect(out.error?.errorMessage).toBe('Bedrock Converse (anthropic.claude-3-5-sonnet-20240620-v1:0): ThrottlingException: Too many tokens, please wait before trying again.');
    expect(retriedBy(grader, 'Reason')).toContain('ThrottlingException');
    expect(d.env.bedrockRuntime.requests).toHaveLength(1);
    expect(d.env.wire.calls.filter((c) => ['PutObject', 'PutItem'].includes(c.action))).toEqual([]);
    expect(metric(out.logs, 'ModelThrottles')[0]).toMatchObject({ ModelThrottles: 1, Workflow: 'photo-grader' });
    expect(logged(out.logs, 'Bedrock Converse failed with a retryable error')[0]).toMatchObject({ errorMessage: 'Too many tokens, please wait before trying again.' });
  });

  test('an overwrite after validation (no versioning) never reaches the model: the read is If-Match the validated ETag and fails with 412', async () => {
    const validation = await validated(PNG);
    expect(validation.versionId).toBeNull();
    d.env.s3.putObject(inbox(), validation.key, Buffer.concat([PNG.subarray(0, 16), Buffer.from('not the photo that was validated')]), { contentType: 'image/png' });
    forgetCalls(d);
    const out = await reasoner.invoke(reasonEvent(validation, 'arn:aws:states:us-east-1:123456789012:execution:Grader:photo-replaced'));
    expect(out.error?.errorType).toBe('PreconditionFailed');
    expect(d.env.wire.calls.map((c) => `${c.service}:${c.action}${c.error ? `:${c.error}` : ''}`)).toEqual(['dynamodb:Query', 's3:GetObject:PreconditionFailed']);
    expect(d.env.bedrockRuntime.requests).toEqual([]);
  });

  test('an image over 3.75 MB is AttachmentTooLarge before any read; an image that cannot be read fails with the S3 error', async () => {
    const big = await validated(Buffer.concat([PNG, Buffer.alloc(4 * 1024 * 1024)]));
    forgetCalls(d);
    const tooLarge = await reasoner.invoke(reasonEvent(big, 'arn:aws:states:us-east-1:123456789012:execution:Grader:photo-big'));
    expect(tooLarge.error?.errorType).toBe('AttachmentTooLarge');
    expect(d.env.wire.calls.map((c) => c.action)).toEqual(['Query']);

    const validation = await validated(PNG);
    forgetCalls(d);
    d.env.wire.fail({ service: 's3', action: 'GetObject', code: 'AccessDenied', message: 'Access Denied', status: 403 });
    const denied = await reasoner.invoke(reasonEvent(validation, 'arn:aws:states:us-east-1:123456789012:execution:Grader:photo-denied'));
    expect(denied.error).toMatchObject({ errorType: 'AccessDenied', errorMessage: 'Access Denied' });
    expect(d.env.bedrockRuntime.requests).toEqual([]);
  });
});

import { BedrockRuntimeClient, ConverseCommand, ConverseCommandOutput, ThrottlingException, ValidationException } from '@aws-sdk/client-bedrock-runtime';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ReasonEvent, ReasoningConfig, SCHEMA_VIOLATION_ERROR, ValidationResult } from '../../src/agent-workflow/runtime/contracts';
import {
  handle, MAX_IMAGE_BYTES, parseReasonerEnv, powertoolsMetrics, ReasonerDeps, ReasonerEnv,
} from '../../src/agent-workflow/runtime/reasoner.lambda';

const bedrockMock = mockClient(BedrockRuntimeClient);
const s3Mock = mockClient(S3Client);
const ddbMock = mockClient(DynamoDBDocumentClient);

const CLAIM_SCHEMA = {
  type: 'object',
  properties: {
    damage_type: { type: 'string' },
    estimated_cost: { type: 'number', minimum: 0 },
    severity_score: { type: 'integer', minimum: 1, maximum: 5 },
    confidence_score: { type: 'number', minimum: 0, maximum: 1 },
    findings: { type: 'array', items: { type: 'object', properties: { part: { type: 'string' }, note: { type: 'string' } } } },
  },
  required: ['damage_type', 'estimated_cost', 'severity_score', 'confidence_score'],
  additionalProperties: false,
};
const GOOD = { damage_type: 'dent', estimated_cost: 1200, severity_score: 2, confidence_score: 0.92 };

const ENV: ReasonerEnv = {
  artifactBucket: 'agent-artifacts',
  artifactPrefix: 'runs/',
  contextTable: 'agent-context',
  contextTtlSeconds: 86_400,
  metricsNamespace: 'Acme/Agent',
  workflowName: 'claims',
};
const NOW = new Date('2026-11-20T10:00:00.000Z');
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:claims:run-1';
const ARTIFACT_KEY = 'runs/arn_aws_states_eu-west-1_123456789012_execution_claims_run-1/assess/answer.json';

const VALIDATION: ValidationResult = {
  valid: true,
  reason: '',
  bucket: 'claims-inbox',
  key: 'uploads/claim-42/photo.jpg',
  versionId: 'v1',
  size: 200_000,
  contentType: 'image/jpeg',
  etag: '"abc"',
  actorId: '',
  sessionId: '',
  memoryScope: '',
  analysisBucket: '',
  analysisKey: '',
  metadata: { policy_number: 'PN-991' },
};

function config(over: Partial<ReasoningConfig> = {}): ReasoningConfig {
  return {
    modelId: 'us.amazon.nova-pro-v1:0',
    systemPrompt: 'You assess car damage.',
    prompt: 'Assess {{key}} for policy {{metadata.policy_number}}.',
    outputSchema: CLAIM_SCHEMA,
    structuredOutput: 'json_schema',
    attachment: 's3_location',
    maxTokens: 2048,
    temperature: 0,
    summarizerModelId: '',
    memoryItems: 0,
    toolName: 'record_assessment',
    ...over,
  };
}

function event(over: Partial<ReasonEvent> = {}, cfg: Partial<ReasoningConfig> = {}): ReasonEvent {
  return { mode: 'invoke', executionId: EXECUTION, step: 'assess', validation: VALIDATION, config: config(cfg), ...over };
}

function converseAnswer(text: string, stopReason = 'end_turn', inputTokens = 1500, outputTokens = 120): ConverseCommandOutput {
  return {
    output: { message: { role: 'assistant', content: [{ text }] } },
    stopReason: stopReason as ConverseCommandOutput['stopReason'],
    usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
    metrics: { latencyMs: 900 },
    $metadata: {},
  };
}

function makeDeps() {
  const counts: Array<[string, number, string]> = [];
  const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
  const deps: ReasonerDeps = {
    env: ENV,
    bedrock: new BedrockRuntimeClient({ region: 'eu-west-1' }),
    s3: new S3Client({ region: 'eu-west-1' }),
    ddb: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })),
    metrics: { count: (name, value, modelId) => counts.push([name, value, modelId]) },
    log: { info: () => undefined, warn: (m, e) => warnings.push([m, e]), error: () => undefined },
    now: () => NOW,
  };
  return { deps, counts, warnings };
}

function artifactBody(): any {
  const calls = s3Mock.commandCalls(PutObjectCommand);
  expect(calls).toHaveLength(1);
  return JSON.parse(String(calls[0].args[0].input.Body));
}

beforeEach(() => {
  bedrockMock.reset();
  s3Mock.reset();
  ddbMock.reset();
  s3Mock.on(PutObjectCommand).resolves({});
  ddbMock.on(PutCommand).resolves({});
});

describe('invoke mode', () => {
  test('happy path: Converse request, S3 artifact, checkpoint with TTL, a small scalar-only result', async () => {
    // A ~100 KB answer: the scalar fields plus a big nested array that must stay in S3.
    const findings = Array.from({ length: 1000 }, (_, i) => ({ part: `part-${i}`, note: 'scratch along the panel '.repeat(4) }));
    const answer = { ...GOOD, findings };
    const answerText = JSON.stringify(answer);
    expect(answerText.length).toBeGreaterThan(100_000);
    bedrockMock.on(ConverseCommand).resolves(converseAnswer(answerText));
    const { deps, counts } = makeDeps();

    const result = await handle(event(), deps);

    expect(bedrockMock).toHaveReceivedCommandTimes(ConverseCommand, 1);
    expect(bedrockMock).toHaveReceivedCommandWith(ConverseCommand, {
      modelId: 'us.amazon.nova-pro-v1:0',
      system: [{ text: 'You assess car damage.' }],
      messages: [{
        role: 'user',
        content: [
          { image: { format: 'jpeg', source: { s3Location: { uri: 's3://claims-inbox/uploads/claim-42/photo.jpg' } } } },
          { text: 'Assess uploads/claim-42/photo.jpg for policy PN-991.' },
        ],
      }],
      inferenceConfig: { maxTokens: 2048, temperature: 0 },
      outputConfig: { textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: JSON.stringify(CLAIM_SCHEMA), name: 'record_assessment' } } } },
    });
    expect(ddbMock).toHaveReceivedCommandTimes(QueryCommand, 0); // memoryItems 0

    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: 'agent-artifacts', Key: ARTIFACT_KEY, ContentType: 'application/json' });
    expect(s3Mock.commandCalls(PutObjectCommand)[0].args[0].input.ServerSideEncryption).toBeUndefined();
    const artifact = artifactBody();
    expect(artifact).toEqual(expect.objectContaining({
      answer,
      stopReason: 'end_turn',
      usage: { inputTokens: 1500, outputTokens: 120 },
      modelId: 'us.amazon.nova-pro-v1:0',
      promptHash: result.promptHash,
      valid: true,
      errors: [],
    }));

    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(ddbMock).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'agent-context',
      Item: {
        scope: `execution#${EXECUTION}`,
        checkpointId: '2026-11-20T10:00:00.000Z#assess',
        executionId: EXECUTION,
        step: 'assess',
        summary: 'damage_type=dent; estimated_cost=1200; severity_score=2; confidence_score=0.92',
        artifactKey: ARTIFACT_KEY,
        outputDigest: result.outputDigest,
        modelId: 'us.amazon.nova-pro-v1:0',
        ttl: Math.floor(NOW.getTime() / 1000) + 86_400,
      },
    });

    expect(result).toEqual({
      valid: true,
      fields: GOOD,
      artifactKey: ARTIFACT_KEY,
      summary: 'damage_type=dent; estimated_cost=1200; severity_score=2; confidence_score=0.92',
      checkpointId: '2026-11-20T10:00:00.000Z#assess',
      modelId: 'us.amazon.nova-pro-v1:0',
      promptHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      outputDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      usage: { inputTokens: 1500, outputTokens: 120 },
    });
    expect(Object.values(result.fields).every((v) => v === null || typeof v !== 'object')).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(2048);
    expect(counts).toEqual([
      ['InputTokens', 1500, 'us.amazon.nova-pro-v1:0'],
      ['OutputTokens', 120, 'us.amazon.nova-pro-v1:0'],
    ]);
  });

  test('a schema violation stores the artifact, then throws AgentSchemaViolation naming the errors and the key', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseAnswer(JSON.stringify({ ...GOOD, severity_score: 7 })));
    const { deps, counts } = makeDeps();

    const err = await handle(event(), deps).then(() => undefined, (e: Error) => e);

    expect(err).toBeInstanceOf(Error);
    expect(err!.name).toBe(SCHEMA_VIOLATION_ERROR);
    expect(err!.message).toContain('$.severity_score: must be <= 5, got 7');
    expect(err!.message).toContain(`s3://agent-artifacts/${ARTIFACT_KEY}`);
    const artifact = artifactBody();
    expect(artifact.valid).toBe(false);
    expect(artifact.errors).toEqual(['$.severity_score: must be <= 5, got 7']);
    expect(artifact.answer).toEqual({ ...GOOD, severity_score: 7 });
    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 0);
    expect(counts).toContainEqual(['SchemaViolations', 1, 'us.amazon.nova-pro-v1:0']);
  });

  test('an answer cut off at max_tokens is a schema violation keeping the raw text', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseAnswer('{"damage_type": "dent", "estimated_co', 'max_tokens'));
    const { deps } = makeDeps();
    await expect(handle(event(), deps)).rejects.toMatchObject({
      name: SCHEMA_VIOLATION_ERROR,
      message: expect.stringContaining('the answer was cut off at maxTokens (2048)'),
    });
    const artifact = artifactBody();
    expect(artifact).toEqual(expect.objectContaining({ rawText: '{"damage_type": "dent", "estimated_co', stopReason: 'max_tokens', valid: false }));
    expect(artifact.answer).toBeUndefined();
  });

  test('ThrottlingException is rethrown with its name and counted; nothing is stored', async () => {
    bedrockMock.on(ConverseCommand).rejects(new ThrottlingException({ message: 'Too many requests', $metadata: {} }));
    const { deps, counts } = makeDeps();
    const err = await handle(event(), deps).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err!.name).toBe('ThrottlingException');
    expect(err!.message).toContain('Too many requests');
    expect(counts).toEqual([['ModelThrottles', 1, 'us.amazon.nova-pro-v1:0']]);
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 0);
    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 0);
  });

  test('a non-retryable Bedrock error keeps its own name and is not counted as a throttle', async () => {
    bedrockMock.on(ConverseCommand).rejects(new ValidationException({ message: 'bad model id', $metadata: {} }));
    const { deps, counts } = makeDeps();
    await expect(handle(event(), deps)).rejects.toMatchObject({ name: 'ValidationException' });
    expect(counts).toEqual([]);
  });

  test('the summarizer model writes the summary; its failure falls back to the deterministic summary', async () => {
    bedrockMock.on(ConverseCommand, { modelId: 'us.amazon.nova-pro-v1:0' }).resolves(converseAnswer(JSON.stringify(GOOD)));
    bedrockMock.on(ConverseCommand, { modelId: 'amazon.nova-micro-v1:0' }).resolves(converseAnswer('A rear dent, cost 1200, severity 2.', 'end_turn', 80, 12));
    const ok = makeDeps();
    const res = await handle(event({}, { summarizerModelId: 'amazon.nova-micro-v1:0' }), ok.deps);
    expect(res.summary).toBe('A rear dent, cost 1200, severity 2.');
    expect(bedrockMock).toHaveReceivedCommandTimes(ConverseCommand, 2);
    expect(bedrockMock.commandCalls(ConverseCommand)[1].args[0].input.messages![0].content![0].text).toContain(JSON.stringify(GOOD));
    expect(ok.counts).toContainEqual(['InputTokens', 80, 'amazon.nova-micro-v1:0']);

    bedrockMock.reset();
    ddbMock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
    ddbMock.on(PutCommand).resolves({});
    bedrockMock.on(ConverseCommand, { modelId: 'us.amazon.nova-pro-v1:0' }).resolves(converseAnswer(JSON.stringify(GOOD)));
    bedrockMock.on(ConverseCommand, { modelId: 'amazon.nova-micro-v1:0' }).rejects(new ThrottlingException({ message: 'slow down', $metadata: {} }));
    const failing = makeDeps();
    const res2 = await handle(event({}, { summarizerModelId: 'amazon.nova-micro-v1:0' }), failing.deps);
    expect(res2.summary).toBe('damage_type=dent; estimated_cost=1200; severity_score=2; confidence_score=0.92');
    expect(failing.warnings.map(([m]) => m)).toContain('summarizer failed; using the deterministic summary');
    expect(ddbMock).toHaveReceivedCommandWith(PutCommand, { Item: expect.objectContaining({ summary: res2.summary }) });
  });

  test('with a memory scope, prior summaries (newest first) are read and put in the prompt; the checkpoint uses the scope', async () => {
    ddbMock.on(QueryCommand).resolves({ Items: [{ summary: 'claim 41: scratch, cost 300' }, { summary: 'claim 40: broken mirror' }] });
    bedrockMock.on(ConverseCommand).resolves(converseAnswer(JSON.stringify(GOOD)));
    const { deps } = makeDeps();
    await handle(event({ validation: { ...VALIDATION, memoryScope: 'actor#cust-7' } }, { memoryItems: 3, attachment: 'none' }), deps);

    expect(ddbMock).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'agent-context',
      KeyConditionExpression: '#scope = :scope',
      ExpressionAttributeNames: expect.objectContaining({ '#scope': 'scope' }),
      ExpressionAttributeValues: { ':scope': 'actor#cust-7' },
      ScanIndexForward: false,
      Limit: 3,
    });
    const content = bedrockMock.commandCalls(ConverseCommand)[0].args[0].input.messages![0].content!;
    expect(content).toHaveLength(2);
    expect(content[0].text).toContain('1. claim 41: scratch, cost 300\n2. claim 40: broken mirror');
    expect(content[1].text).toBe('Assess uploads/claim-42/photo.jpg for policy PN-991.');
    expect(ddbMock).toHaveReceivedCommandWith(PutCommand, { Item: expect.objectContaining({ scope: 'actor#cust-7' }) });
  });

  test('memory is not read without a scope', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseAnswer(JSON.stringify(GOOD)));
    const { deps } = makeDeps();
    await handle(event({}, { memoryItems: 3 }), deps);
    expect(ddbMock).toHaveReceivedCommandTimes(QueryCommand, 0);
  });

  test('bytes mode reads the validated object version and sends its bytes', async () => {
    const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    s3Mock.on(GetObjectCommand).resolves({ ContentLength: bytes.length, Body: { transformToByteArray: async () => bytes } as any });
    bedrockMock.on(ConverseCommand).resolves(converseAnswer(JSON.stringify(GOOD)));
    const { deps } = makeDeps();
    await handle(event({}, { attachment: 'bytes' }), deps);
    expect(s3Mock).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: 'claims-inbox', Key: 'uploads/claim-42/photo.jpg', VersionId: 'v1' });
    expect(bedrockMock.commandCalls(ConverseCommand)[0].args[0].input.messages![0].content![0]).toEqual({ image: { format: 'jpeg', source: { bytes } } });
  });

  test('bytes mode refuses an object over 3.75 MB before calling the model', async () => {
    const destroy = jest.fn();
    const body = { transformToByteArray: async () => new Uint8Array(), destroy };
    s3Mock.on(GetObjectCommand).resolves({ ContentLength: MAX_IMAGE_BYTES + 1, Body: body as any });
    const { deps } = makeDeps();
    // The object grew after validation (or a manual start lied about it): the S3 answer decides.
    await expect(handle(event({}, { attachment: 'bytes' }), deps)).rejects.toMatchObject({
      name: 'AttachmentTooLarge',
      message: expect.stringContaining(`is ${MAX_IMAGE_BYTES + 1} bytes`),
    });
    expect(destroy).toHaveBeenCalled();
    expect(bedrockMock).toHaveReceivedCommandTimes(ConverseCommand, 0);

    s3Mock.resetHistory();
    await expect(handle(event({ validation: { ...VALIDATION, size: 5 * 1024 * 1024 } }, { attachment: 'bytes' }), deps))
      .rejects.toMatchObject({ name: 'AttachmentTooLarge' });
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 0);
    expect(MAX_IMAGE_BYTES).toBe(3_932_160);
  });
});

describe('checkpoint mode', () => {
  test('the answer comes from the PascalCase Step Functions result; no model call', async () => {
    const { deps, counts } = makeDeps();
    const result = await handle(event({
      mode: 'checkpoint',
      raw: {
        stopReason: 'tool_use',
        content: [
          { Text: 'Recording the assessment.' },
          { ToolUse: { ToolUseId: 'tooluse_1', Name: 'record_assessment', Type: 'tool_use', Input: GOOD } },
        ],
        usage: { InputTokens: 2100, OutputTokens: 95 },
      },
    }, { structuredOutput: 'tool_use' }), deps);

    expect(bedrockMock).toHaveReceivedCommandTimes(ConverseCommand, 0);
    expect(result.fields).toEqual(GOOD);
    expect(result.usage).toEqual({ inputTokens: 2100, outputTokens: 95 });
    expect(artifactBody()).toEqual(expect.objectContaining({ answer: GOOD, stopReason: 'tool_use', valid: true }));
    expect(counts).toEqual([['InputTokens', 2100, 'us.amazon.nova-pro-v1:0'], ['OutputTokens', 95, 'us.amazon.nova-pro-v1:0']]);
    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 1);
  });

  test('a checkpoint without the tool call is a schema violation', async () => {
    const { deps } = makeDeps();
    await expect(handle(event({
      mode: 'checkpoint',
      raw: { stopReason: 'end_turn', content: [{ Text: 'No damage visible.' }], usage: { InputTokens: 1, OutputTokens: 1 } },
    }, { structuredOutput: 'tool_use' }), deps)).rejects.toMatchObject({
      name: SCHEMA_VIOLATION_ERROR,
      message: expect.stringContaining("the model did not call the tool 'record_assessment'"),
    });
    expect(artifactBody().rawText).toBe('No damage visible.');
  });
});

describe('progress events (when the payload asks: the reasoner replaces the "Progress Reasoned" state)', () => {
  function withProgress(answer: () => Promise<any> = async () => ({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }], $metadata: {} })) {
    const made = makeDeps();
    const calls: any[] = [];
    const errors: any[] = [];
    const deps: ReasonerDeps = {
      ...made.deps,
      progress: {
        config: { eventBusName: 'default', eventSource: 'cdk-production-patterns.agent-workflow', workflowName: 'claims' },
        putEvents: async (input) => {
          calls.push(input);
          return answer();
        },
        log: { error: (message, extra) => errors.push([message, extra]) },
        now: () => NOW,
      },
    };
    return { deps, calls, errors };
  }
  const REASONED = { workflow: 'claims', executionId: EXECUTION, step: 'reasoning', status: 'DONE', percent: 50, at: NOW.toISOString() };
  const steps = (calls: any[]) => calls.flatMap((c) => c.Entries.map((e: any) => JSON.parse(e.Detail)));

  test('invoke mode: "reasoning DONE 50" once the answer is checked and checkpointed', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseAnswer(JSON.stringify(GOOD)));
    const { deps, calls } = withProgress();
    await handle({ ...event(), progress: { executionId: EXECUTION } }, deps);
    expect(steps(calls)).toEqual([REASONED]);
    expect(calls[0].Entries[0]).toEqual(expect.objectContaining({ EventBusName: 'default', Source: 'cdk-production-patterns.agent-workflow', DetailType: 'Agent Workflow Progress' }));
  });

  test('checkpoint mode: the same event after the checkpoint', async () => {
    const { deps, calls } = withProgress();
    await handle({
      ...event({ mode: 'checkpoint', raw: { stopReason: 'tool_use', content: [{ ToolUse: { ToolUseId: 't', Name: 'record_assessment', Input: GOOD } }], usage: { InputTokens: 1, OutputTokens: 1 } } },
        { structuredOutput: 'tool_use' }),
      progress: { executionId: EXECUTION },
    }, deps);
    expect(steps(calls)).toEqual([REASONED]);
  });

  test('no event for an answer outside the schema (the failure ending reports it), nor without `progress`', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseAnswer(JSON.stringify({ ...GOOD, severity_score: 9 })));
    const { deps, calls } = withProgress();
    await expect(handle({ ...event(), progress: { executionId: EXECUTION } }, deps)).rejects.toMatchObject({ name: SCHEMA_VIOLATION_ERROR });
    bedrockMock.on(ConverseCommand).resolves(converseAnswer(JSON.stringify(GOOD)));
    await handle(event(), deps);
    expect(calls).toEqual([]);
  });

  test('best effort: a rejected entry is logged as a structured error; the result is answered', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseAnswer(JSON.stringify(GOOD)));
    const { deps, errors } = withProgress(async () => ({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }], $metadata: {} }));
    const result = await handle({ ...event(), progress: { executionId: EXECUTION } }, deps);
    expect(result.valid).toBe(true);
    expect(errors).toEqual([['a progress event was not accepted', { executionId: EXECUTION, step: 'reasoning', errorCode: 'InternalFailure', errorMessage: 'boom' }]]);
  });
});

describe('input checks', () => {
  const noCalls = () => {
    expect(bedrockMock.calls()).toHaveLength(0);
    expect(s3Mock.calls()).toHaveLength(0);
    expect(ddbMock.calls()).toHaveLength(0);
  };

  test.each([
    ['not an object', 'hello', 'event must be an object'],
    ['unknown mode', { ...event(), mode: 'stream' }, 'event.mode must be one of invoke, checkpoint'],
    ['missing config', { ...event(), config: undefined }, 'event.config must be an object'],
    ['bad maxTokens', event({}, { maxTokens: 0 }), 'event.config.maxTokens must be a positive integer'],
    ['unsupported schema', event({}, { outputSchema: { type: 'object', properties: { a: { oneOf: [] } } } }), "unsupported keyword 'oneOf'"],
    ['bad tool name', event({}, { toolName: 'record assessment' }), 'event.config.toolName must match'],
    ['invalid input', event({ validation: { ...VALIDATION, valid: false } }), 'event.validation.valid must be true'],
    ['checkpoint without raw', event({ mode: 'checkpoint' }), 'event.raw must be an object'],
    ['empty step', event({ step: '' }), 'event.step must not be empty'],
  ])('%s is rejected before any AWS call', async (_name, ev, message) => {
    const { deps } = makeDeps();
    await expect(handle(ev, deps)).rejects.toThrow(message);
    noCalls();
  });

  test('environment variables are checked and named', () => {
    const env = {
      ARTIFACT_BUCKET: 'b', ARTIFACT_PREFIX: '', CONTEXT_TABLE: 't', CONTEXT_TTL_SECONDS: '3600', METRICS_NAMESPACE: 'N', WORKFLOW_NAME: 'w',
    };
    expect(parseReasonerEnv(env)).toEqual({
      artifactBucket: 'b', artifactPrefix: '', contextTable: 't', contextTtlSeconds: 3600, metricsNamespace: 'N', workflowName: 'w',
    });
    expect(() => parseReasonerEnv({ ...env, ARTIFACT_BUCKET: undefined })).toThrow('environment variable ARTIFACT_BUCKET is required');
    expect(() => parseReasonerEnv({ ...env, ARTIFACT_PREFIX: undefined })).toThrow('ARTIFACT_PREFIX');
    expect(() => parseReasonerEnv({ ...env, CONTEXT_TTL_SECONDS: '1.5' })).toThrow('environment variable CONTEXT_TTL_SECONDS must be a positive integer');
    expect(() => parseReasonerEnv({ ...env, WORKFLOW_NAME: '' })).toThrow('WORKFLOW_NAME');
  });
});

describe('metrics', () => {
  test('Powertools EMF output has exactly the dimensions Workflow and ModelId, one document per model', () => {
    const lines: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const m = powertoolsMetrics('Acme/Agent', 'claims');
      m.count('InputTokens', 100, 'model-a');
      m.count('OutputTokens', 10, 'model-a');
      m.count('InputTokens', 7, 'model-b');
      m.flush();
    } finally {
      spy.mockRestore();
    }
    const docs = lines.map((l) => JSON.parse(l));
    expect(docs).toHaveLength(2);
    expect(docs[0]._aws.CloudWatchMetrics[0]).toEqual(expect.objectContaining({
      Namespace: 'Acme/Agent',
      Dimensions: [['Workflow', 'ModelId']],
    }));
    expect(docs[0]).toEqual(expect.objectContaining({ Workflow: 'claims', ModelId: 'model-a', InputTokens: 100, OutputTokens: 10 }));
    expect(docs[0].service).toBeUndefined();
    expect(docs[1]).toEqual(expect.objectContaining({ ModelId: 'model-b', InputTokens: 7 }));
    expect(docs[1].OutputTokens).toBeUndefined();
  });
});

import { createHash } from 'node:crypto';
import {
  buildConverseRequest, buildSummaryRequest, canonicalJson, cutSummary, deterministicSummary, extractAnswer, imageFormatFor,
  projectFields, promptHash, renderPrompt, sha256Digest, summaryText,
} from '../../src/agent-workflow/runtime/answer';
import { ReasoningConfig, ValidationResult } from '../../src/agent-workflow/runtime/contracts';

const CLAIM_SCHEMA = {
  type: 'object',
  description: 'Assessment of the car damage',
  properties: {
    damage_type: { type: 'string' },
    estimated_cost: { type: 'number', minimum: 0 },
    severity_score: { type: 'integer', minimum: 1, maximum: 5 },
    confidence_score: { type: 'number', minimum: 0, maximum: 1 },
    parts: { type: 'array', items: { type: 'string' } },
    details: { type: 'object', properties: {} },
    note: { type: ['string', 'null'] },
  },
  required: ['damage_type', 'estimated_cost', 'severity_score', 'confidence_score'],
};

const VALIDATION: ValidationResult = {
  valid: true,
  reason: '',
  bucket: 'claims-inbox',
  key: 'uploads/claim-42/photo.jpg',
  versionId: 'v1',
  size: 123_456,
  contentType: 'image/jpeg',
  etag: '"abc"',
  actorId: 'cust-7',
  sessionId: '',
  memoryScope: 'actor#cust-7',
  analysisBucket: '',
  analysisKey: '',
  metadata: { policy_number: 'PN-991', claim_id: '42' },
};

function config(over: Partial<ReasoningConfig> = {}): ReasoningConfig {
  return {
    modelId: 'us.amazon.nova-pro-v1:0',
    systemPrompt: 'You assess car damage for insurance claims.',
    prompt: 'Assess the damage in {{key}} (policy {{metadata.policy_number}}).',
    outputSchema: CLAIM_SCHEMA,
    structuredOutput: 'json_schema',
    attachment: 's3_location',
    maxTokens: 1024,
    temperature: 0,
    summarizerModelId: '',
    memoryItems: 0,
    toolName: 'record_assessment',
    ...over,
  };
}

describe('renderPrompt', () => {
  test('replaces the known placeholders and blanks the unknown ones', () => {
    expect(renderPrompt('{{bucket}}/{{key}} [{{contentType}}] policy={{metadata.policy_number}} x={{metadata.nope}} y={{ other }} {{ key }}', VALIDATION))
      .toBe('claims-inbox/uploads/claim-42/photo.jpg [image/jpeg] policy=PN-991 x= y= uploads/claim-42/photo.jpg');
  });

  test('text without placeholders is unchanged', () => {
    expect(renderPrompt('Plain {text} with {single} braces', VALIDATION)).toBe('Plain {text} with {single} braces');
  });
});

describe('hashes', () => {
  test('canonical JSON sorts keys at every level and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  test('promptHash is sha256 of the canonical JSON and ignores key order', () => {
    const expected = 'sha256:' + createHash('sha256').update('{"prompt":"p","schema":{"a":1,"b":2},"system":"s"}').digest('hex');
    expect(promptHash('s', 'p', { b: 2, a: 1 })).toBe(expected);
    expect(promptHash('s', 'p', { a: 1, b: 2 })).toBe(expected);
    expect(promptHash('s', 'p2', { a: 1, b: 2 })).not.toBe(expected);
    expect(sha256Digest({ x: 1 })).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('extractAnswer', () => {
  const answer = { damage_type: 'dent', estimated_cost: 900, severity_score: 2, confidence_score: 0.8 };

  test('json_schema mode parses the first text block (SDK camelCase)', () => {
    expect(extractAnswer([{ reasoningContent: {} }, { text: JSON.stringify(answer) }, { text: 'ignored' }], 'json_schema', 'x'))
      .toEqual({ ok: true, value: answer });
  });

  test('json_schema mode parses the first text block (Step Functions PascalCase)', () => {
    expect(extractAnswer([{ Text: JSON.stringify(answer) }], 'json_schema', 'x')).toEqual({ ok: true, value: answer });
  });

  test('a ```json fence is tolerated, with or without prose around it', () => {
    expect(extractAnswer([{ text: '```json\n' + JSON.stringify(answer) + '\n```' }], 'json_schema', 'x')).toEqual({ ok: true, value: answer });
    expect(extractAnswer([{ Text: 'Here it is:\n```json\n' + JSON.stringify(answer) + '\n```\nDone.' }], 'json_schema', 'x'))
      .toEqual({ ok: true, value: answer });
  });

  test('unparsable or missing text is an error that keeps the raw text', () => {
    const bad = extractAnswer([{ text: '{"damage_type": "dent", "estimated' }], 'json_schema', 'x');
    expect(bad).toEqual({ ok: false, rawText: '{"damage_type": "dent", "estimated', error: expect.stringMatching(/^the model answer is not valid JSON/) });
    expect(extractAnswer([], 'json_schema', 'x')).toEqual({ ok: false, rawText: '', error: 'the model answer has no text block' });
  });

  test('tool_use mode takes the input of the named tool (SDK camelCase)', () => {
    const content = [
      { text: 'Let me record it.' },
      { toolUse: { toolUseId: 't0', name: 'other_tool', input: { a: 1 } } },
      { toolUse: { toolUseId: 't1', name: 'record_assessment', input: answer } },
    ];
    expect(extractAnswer(content, 'tool_use', 'record_assessment')).toEqual({ ok: true, value: answer });
  });

  test('tool_use mode takes the input of the named tool (Step Functions PascalCase; inner keys unchanged)', () => {
    const content = [{ ToolUse: { ToolUseId: 't1', Name: 'record_assessment', Type: 'tool_use', Input: answer } }];
    expect(extractAnswer(content, 'tool_use', 'record_assessment')).toEqual({ ok: true, value: answer });
    const asString = [{ ToolUse: { Name: 'record_assessment', Input: JSON.stringify(answer) } }];
    expect(extractAnswer(asString, 'tool_use', 'record_assessment')).toEqual({ ok: true, value: answer });
  });

  test('tool_use mode without the tool call is an error naming the tool', () => {
    expect(extractAnswer([{ text: 'I cannot see an image.' }], 'tool_use', 'record_assessment'))
      .toEqual({ ok: false, rawText: 'I cannot see an image.', error: "the model did not call the tool 'record_assessment' (it answered with text)" });
    expect(extractAnswer([{ ToolUse: { Name: 'lookup', Input: {} } }], 'tool_use', 'record_assessment'))
      .toEqual({ ok: false, rawText: '', error: "the model called 'lookup' instead of the tool 'record_assessment'" });
  });
});

describe('projectFields and summaries', () => {
  test('only top-level scalars, in schema order; nested omitted; missing scalars null; strings cut to 256', () => {
    const fields = projectFields({
      confidence_score: 0.9,
      damage_type: 'x'.repeat(1000),
      estimated_cost: 1500,
      severity_score: 3,
      parts: ['bumper'],
      details: { a: 1 },
      undeclared: 'zzz',
    }, CLAIM_SCHEMA);
    expect(fields).toEqual({ damage_type: 'x'.repeat(256), estimated_cost: 1500, severity_score: 3, confidence_score: 0.9, note: null });
    expect(Object.keys(fields)).toEqual(['damage_type', 'estimated_cost', 'severity_score', 'confidence_score', 'note']);
  });

  test('deterministic summary lists the fields and stays within 500 chars', () => {
    expect(deterministicSummary({ damage_type: 'dent', estimated_cost: 900, note: null, ok: true }))
      .toBe('damage_type=dent; estimated_cost=900; note=null; ok=true');
    const long = deterministicSummary(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field_${i}`, 'y'.repeat(100)])));
    expect(long.length).toBeLessThanOrEqual(500);
    expect(long.endsWith('…')).toBe(true);
    expect(deterministicSummary({})).toBe('(no scalar fields)');
    expect(cutSummary('  a \n b  ')).toBe('a b');
  });
});

describe('buildConverseRequest', () => {
  test('tool_use with strictToolUse asks for strict schema enforcement; without it, no strict flag', () => {
    const strict = buildConverseRequest({ ...config(), structuredOutput: 'tool_use', strictToolUse: true }, VALIDATION, []);
    expect(strict.toolConfig!.tools![0]).toEqual({ toolSpec: expect.objectContaining({ strict: true }) });
    const plain = buildConverseRequest({ ...config(), structuredOutput: 'tool_use' }, VALIDATION, []);
    expect((plain.toolConfig!.tools![0] as any).toolSpec).not.toHaveProperty('strict');
  });

  test('s3_location reads the snapshot of the validated version when the validator made one', () => {
    const req = buildConverseRequest(config(), { ...VALIDATION, analysisBucket: 'artifacts', analysisKey: 'inputs/0123/photo.jpg' }, []);
    expect(req.messages![0].content).toContainEqual({ image: { format: 'jpeg', source: { s3Location: { uri: 's3://artifacts/inputs/0123/photo.jpg' } } } });
  });

  test('s3_location + json_schema: image by S3 URI, outputConfig with the schema as a string', () => {
    const req = buildConverseRequest(config(), VALIDATION, []);
    expect(req).toEqual({
      modelId: 'us.amazon.nova-pro-v1:0',
      system: [{ text: 'You assess car damage for insurance claims.' }],
      messages: [{
        role: 'user',
        content: [
          { image: { format: 'jpeg', source: { s3Location: { uri: 's3://claims-inbox/uploads/claim-42/photo.jpg' } } } },
          { text: 'Assess the damage in uploads/claim-42/photo.jpg (policy PN-991).' },
        ],
      }],
      inferenceConfig: { maxTokens: 1024, temperature: 0 },
      outputConfig: {
        textFormat: {
          type: 'json_schema',
          structure: { jsonSchema: { schema: JSON.stringify(CLAIM_SCHEMA), name: 'record_assessment' } },
        },
      },
    });
    expect(req.toolConfig).toBeUndefined();
  });

  test('bytes + tool_use: image bytes, forced tool with the schema object; temperature -1 omitted', () => {
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    const req = buildConverseRequest(config({ attachment: 'bytes', structuredOutput: 'tool_use', temperature: -1 }),
      { ...VALIDATION, contentType: 'image/png' }, [], bytes);
    expect(req.messages![0].content![0]).toEqual({ image: { format: 'png', source: { bytes } } });
    expect(req.inferenceConfig).toEqual({ maxTokens: 1024 });
    expect(req.toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'record_assessment', description: 'Assessment of the car damage', inputSchema: { json: CLAIM_SCHEMA } } }],
      toolChoice: { tool: { name: 'record_assessment' } },
    });
    expect(req.outputConfig).toBeUndefined();
  });

  test('attachment none: only text; memory summaries come first as context', () => {
    const req = buildConverseRequest(config({ attachment: 'none', systemPrompt: '' }), VALIDATION, ['older claim: dent, 900', 'first claim: scratch']);
    expect(req.system).toBeUndefined();
    const content = req.messages![0].content!;
    expect(content).toHaveLength(2);
    expect(content[0].text).toContain('1. older claim: dent, 900\n2. first claim: scratch');
    expect(content[1]).toEqual({ text: 'Assess the damage in uploads/claim-42/photo.jpg (policy PN-991).' });
  });

  test('image formats come from the content type; others are refused', () => {
    expect(imageFormatFor('image/webp')).toBe('webp');
    expect(imageFormatFor('IMAGE/GIF')).toBe('gif');
    expect(imageFormatFor('image/jpg')).toBe('jpeg');
    expect(imageFormatFor('application/pdf')).toBeUndefined();
    expect(() => buildConverseRequest(config(), { ...VALIDATION, contentType: 'application/pdf' }, []))
      .toThrow("content type 'application/pdf' is not an image format Converse accepts");
    expect(() => buildConverseRequest(config({ attachment: 'bytes' }), VALIDATION, [])).toThrow('the image bytes are missing');
  });

  test('summary request asks for <= 80 words and bounds the input', () => {
    const req = buildSummaryRequest('amazon.nova-micro-v1:0', { items: 'z'.repeat(50_000) });
    expect(req.modelId).toBe('amazon.nova-micro-v1:0');
    const text = req.messages![0].content![0].text!;
    expect(text).toContain('at most 80 words');
    expect(text.length).toBeLessThan(21_000);
    expect(summaryText([{ text: '  A dent on the rear bumper.\n' }])).toBe('A dent on the rear bumper.');
    expect(summaryText([{ Text: 'x'.repeat(900) }])).toHaveLength(500);
    expect(summaryText([])).toBe('');
  });
});

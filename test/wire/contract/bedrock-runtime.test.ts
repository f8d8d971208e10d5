/**
 * Contract of the Bedrock Runtime fake: Converse requests built by the real SDK (over its default
 * HTTP/2 handler) parse, scripted answers deserialize into what the reasoner reads (toolUse input,
 * text, stopReason, usage), and every error reaches the caller under the exception name and class
 * the reasoner switches on.
 */
import {
  AccessDeniedException, BedrockRuntimeClient, ConverseCommand, ConverseCommandInput, ModelNotReadyException,
  ModelTimeoutException, ServiceUnavailableException, ThrottlingException, ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import { CONTRACT_CREDENTIALS, failureOf } from './kit';
import { BedrockRuntimeService, CONVERSE_ERROR_STATUS } from '../../harness/aws/services/bedrock-runtime';
import { WireServer } from '../../harness/aws/wire-server';

const wire = new WireServer();
const bedrock = new BedrockRuntimeService();
const credentials = CONTRACT_CREDENTIALS;
let client: BedrockRuntimeClient;

beforeAll(async () => {
  wire.register(bedrock);
  await wire.start();
  // One attempt, as the reasoner builds its client (the state machine owns retries); default handler (HTTP/2)
  client = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: wire.url, credentials, maxAttempts: 1 });
});
beforeEach(() => bedrock.reset());
afterAll(async () => {
  client.destroy();
  await wire.stop();
});

const failure = failureOf;

const PROFILE = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0';
const schema = { type: 'object', properties: { label: { type: 'string' }, score: { type: 'number' } }, required: ['label'] };

function toolUseRequest(image?: Uint8Array): ConverseCommandInput {
  return {
    modelId: PROFILE,
    system: [{ text: 'You classify documents.' }],
    messages: [{
      role: 'user',
      content: [
        ...(image ? [{ image: { format: 'png' as const, source: { bytes: image } } }] : []),
        { text: 'Classify this.' },
      ],
    }],
    inferenceConfig: { maxTokens: 512, temperature: 0.2 },
    toolConfig: {
      tools: [{ toolSpec: { name: 'record_answer', description: 'Record the structured answer.', inputSchema: { json: schema as never } } }],
      toolChoice: { tool: { name: 'record_answer' } },
    },
  };
}

test('Converse with a tool: the request parses (model id from the encoded path, image bytes, tool config); the toolUse answer deserializes', async () => {
  bedrock.reply(BedrockRuntimeService.toolUseAnswer('record_answer', { label: 'invoice', score: 0.93, nested: { a: [1, 2] } }, { inputTokens: 321, outputTokens: 45 }));
  const image = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 255]);
  const res = await client.send(new ConverseCommand(toolUseRequest(image)));

  // the client's default handler is HTTP/2: the server core took the connection as cleartext HTTP/2
  expect((client.config.requestHandler as object).constructor.name).toBe('NodeHttp2Handler');
  expect(res.stopReason).toBe('tool_use');
  expect(res.usage).toEqual({ inputTokens: 321, outputTokens: 45, totalTokens: 366 });
  expect(res.metrics?.latencyMs).toBe(42);
  const block = res.output?.message?.content?.[0];
  expect(block?.toolUse).toEqual({ toolUseId: 'tooluse_record_answer_1', name: 'record_answer', input: { label: 'invoice', score: 0.93, nested: { a: [1, 2] } } });

  expect(bedrock.requests).toHaveLength(1);
  const { modelId, body } = bedrock.requests[0];
  expect(modelId).toBe(PROFILE);
  expect(body.system).toEqual([{ text: 'You classify documents.' }]);
  expect(body.inferenceConfig).toEqual({ maxTokens: 512, temperature: 0.2 });
  expect(body.toolConfig.toolChoice).toEqual({ tool: { name: 'record_answer' } });
  expect(body.toolConfig.tools[0].toolSpec.inputSchema.json).toEqual(schema);
  expect(Buffer.from(body.messages[0].content[0].image.source.bytes, 'base64')).toEqual(Buffer.from(image));
  expect(body.messages[0].content[1]).toEqual({ text: 'Classify this.' });
  expect(wire.callsOf('bedrock', 'Converse').pop()?.input).toMatchObject({ modelId: PROFILE, messages: body.messages });
});

test('Converse with outputConfig (json_schema): the request carries it; a text answer deserializes; a responder answers from the request', async () => {
  bedrock.respondWith((req) => BedrockRuntimeService.textAnswer(
    JSON.stringify({ model: req.modelId, n: req.body.messages.length }), { inputTokens: 7, outputTokens: 3 },
  ));
  const res = await client.send(new ConverseCommand({
    modelId: 'amazon.nova-pro-v1:0',
    messages: [{ role: 'user', content: [{ text: 'hello' }] }],
    outputConfig: { textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: JSON.stringify(schema), name: 'record_answer' } } } },
  }));
  expect(res.stopReason).toBe('end_turn');
  expect(res.output?.message?.content?.[0].text).toBe('{"model":"amazon.nova-pro-v1:0","n":1}');
  expect(res.usage?.totalTokens).toBe(10);
  expect(bedrock.requests[0].body.outputConfig).toEqual({
    textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: JSON.stringify(schema), name: 'record_answer' } } },
  });
  // the queue goes first, then the responder
  bedrock.reply(BedrockRuntimeService.textAnswer('queued', undefined, 'max_tokens'));
  const queued = await client.send(new ConverseCommand({ modelId: 'm', messages: [{ role: 'user', content: [{ text: 'x' }] }] }));
  expect([queued.output?.message?.content?.[0].text, queued.stopReason]).toEqual(['queued', 'max_tokens']);
  const after = await client.send(new ConverseCommand({ modelId: 'm', messages: [{ role: 'user', content: [{ text: 'x' }] }] }));
  expect(after.output?.message?.content?.[0].text).toBe('{"model":"m","n":1}');
});

test.each([
  ['ThrottlingException', 429, ThrottlingException],
  ['ModelNotReadyException', 429, ModelNotReadyException],
  ['ValidationException', 400, ValidationException],
  ['AccessDeniedException', 403, AccessDeniedException],
  ['ServiceUnavailableException', 503, ServiceUnavailableException],
  ['ModelTimeoutException', 408, ModelTimeoutException],
] as const)('a scripted %s reaches the caller with status %d and its class', async (code, status, cls) => {
  expect(CONVERSE_ERROR_STATUS[code]).toBe(status);
  bedrock.reply(BedrockRuntimeService.error(code, `scripted ${code}`));
  const err = await failure(client.send(new ConverseCommand(toolUseRequest())));
  expect(err).toMatchObject({ name: code, status });
  expect(err.error).toBeInstanceOf(cls);
  expect((err.error as Error).message).toBe(`scripted ${code}`);
  expect(bedrock.requests).toHaveLength(1);
});

test('an unscripted call fails loudly (InternalServerException 500); a malformed request is a ValidationException', async () => {
  const err = await failure(client.send(new ConverseCommand(toolUseRequest())));
  expect(err).toMatchObject({ name: 'InternalServerException', status: 500 });
  expect((err.error as Error).message).toContain('no scripted answer');
  const noMessages = await failure(client.send(new ConverseCommand({ modelId: 'm' })));
  expect(noMessages.error).toBeInstanceOf(ValidationException);
});

test('fault injection: a throttle is retried by a default client; with one attempt it reaches the caller', async () => {
  const retrying = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: wire.url, credentials });
  bedrock.reply(BedrockRuntimeService.textAnswer('after the throttle'));
  wire.fail({ service: 'bedrock', action: 'Converse', code: 'ThrottlingException', status: 429, message: 'Too many requests' });
  const res = await retrying.send(new ConverseCommand(toolUseRequest()));
  expect(res.output?.message?.content?.[0].text).toBe('after the throttle');
  expect(res.$metadata.attempts).toBe(2);
  expect(wire.callsOf('bedrock', 'Converse').slice(-2).map((c) => c.error)).toEqual(['ThrottlingException', undefined]);
  retrying.destroy();

  wire.fail({ service: 'bedrock', action: 'Converse', code: 'ServiceUnavailableException', status: 503 });
  const err = await failure(client.send(new ConverseCommand(toolUseRequest())));
  expect(err).toMatchObject({ name: 'ServiceUnavailableException', status: 503 });
  expect(err.error).toBeInstanceOf(ServiceUnavailableException);
  expect(bedrock.requests).toHaveLength(1); // the injected fault answered before the fake
});

/**
 * Bedrock Runtime on the wire (REST-JSON: `POST /model/{modelId}/converse`, the model id
 * percent-encoded in the path). Converse answers are scripted: a queue of answers (or errors), then a
 * responder function; every request is recorded with its parsed body. Errors carry the HTTP status and
 * `x-amzn-ErrorType` the service uses, so the SDK names them as handlers see them in AWS
 * (ThrottlingException 429, ModelNotReadyException 429, ValidationException 400, AccessDeniedException
 * 403, ResourceNotFoundException 404, ModelTimeoutException 408, ModelErrorException 424,
 * InternalServerException 500, ServiceUnavailableException 503).
 * The SDK's default handler for this client is HTTP/2 (NodeHttp2Handler); the server core accepts
 * cleartext HTTP/2 for it.
 */
import { AwsError, requestId, WireRequest, WireResponse } from '../protocols';
import { ServiceModule } from '../wire-server';

/** The status each Converse error has (from the service model). */
export const CONVERSE_ERROR_STATUS: Readonly<Record<string, number>> = {
  AccessDeniedException: 403,
  InternalServerException: 500,
  ModelErrorException: 424,
  ModelNotReadyException: 429,
  ModelTimeoutException: 408,
  ResourceNotFoundException: 404,
  ServiceUnavailableException: 503,
  ThrottlingException: 429,
  ValidationException: 400,
  ServiceQuotaExceededException: 400,
};

/** One Converse request as the fake received it. */
export interface ConverseRequestRecord {
  /** The model id (or inference profile / ARN), decoded from the path. */
  readonly modelId: string;
  /** The request body, parsed (messages, system, inferenceConfig, toolConfig, outputConfig...). */
  readonly body: any;
}

/** A Converse answer body as the service sends it (camelCase JSON). */
export interface ConverseAnswer {
  /** `{ message: { role: 'assistant', content: [...] } }` */
  readonly output: { readonly message: { readonly role: string; readonly content: readonly unknown[] } };
  /** end_turn, tool_use, max_tokens, stop_sequence, guardrail_intervened, content_filtered... */
  readonly stopReason: string;
  /** Token counts. */
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number; readonly totalTokens: number };
  /** Latency. */
  readonly metrics: { readonly latencyMs: number };
  /** Any other member the service answers (additionalModelResponseFields, trace...). */
  readonly [member: string]: unknown;
}

/** A scripted error: the SDK throws an exception of this name. */
export interface ConverseError {
  /** The error code (`ThrottlingException`...). */
  readonly error: string;
  /** @default - the code */
  readonly message?: string;
  /** @default - the status in CONVERSE_ERROR_STATUS, else 400 */
  readonly status?: number;
}

/** One scripted reply: an answer, an error, or a function of the request. */
export type ConverseReply = ConverseAnswer | ConverseError | ((request: ConverseRequestRecord) => ConverseAnswer | ConverseError);

/** Token usage of a scripted answer. */
export interface ScriptedUsage {
  /** @default 10 */
  readonly inputTokens?: number;
  /** @default 20 */
  readonly outputTokens?: number;
}

function isError(reply: ConverseAnswer | ConverseError): reply is ConverseError {
  return typeof (reply as ConverseError).error === 'string';
}

function usageOf(usage: ScriptedUsage = {}): ConverseAnswer['usage'] {
  const inputTokens = usage.inputTokens ?? 10;
  const outputTokens = usage.outputTokens ?? 20;
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}

/** Bedrock Runtime Converse, scripted. See the file comment. */
export class BedrockRuntimeService implements ServiceModule {
  /** An answer whose content is one text block (`stopReason` end_turn unless given). */
  public static textAnswer(text: string, usage?: ScriptedUsage, stopReason = 'end_turn'): ConverseAnswer {
    return { output: { message: { role: 'assistant', content: [{ text }] } }, stopReason, usage: usageOf(usage), metrics: { latencyMs: 42 } };
  }

  /** An answer that calls a tool with `input` (`stopReason` tool_use). */
  public static toolUseAnswer(toolName: string, input: unknown, usage?: ScriptedUsage): ConverseAnswer {
    return {
      output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: `tooluse_${toolName}_1`, name: toolName, input } }] } },
      stopReason: 'tool_use',
      usage: usageOf(usage),
      metrics: { latencyMs: 42 },
    };
  }

  /** A scripted error (the status from CONVERSE_ERROR_STATUS unless given). */
  public static error(code: string, message?: string, status?: number): ConverseError {
    return { error: code, message, status };
  }

  public readonly signingNames = ['bedrock'];
  public readonly endpointEnvNames = ['BEDROCK_RUNTIME'];
  public readonly protocol = 'rest-json' as const;
  /** Every Converse request, in order. */
  public readonly requests: ConverseRequestRecord[] = [];
  private readonly queue: ConverseReply[] = [];
  private responder?: (request: ConverseRequestRecord) => ConverseAnswer | ConverseError;

  /** Queues replies, used once each in order (before the responder). */
  public reply(...replies: ConverseReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  /** Answers every request the queue does not (undefined: none; an unscripted call fails). */
  public respondWith(responder: ((request: ConverseRequestRecord) => ConverseAnswer | ConverseError) | undefined): this {
    this.responder = responder;
    return this;
  }

  /** Replies still queued. */
  public get pending(): number {
    return this.queue.length;
  }

  /** Forgets the requests, the queue and the responder. */
  public reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
    this.responder = undefined;
  }

  // --- the wire --------------------------------------------------------------------------------

  public action(req: WireRequest): string {
    const m = /^\/model\/([^/]+)\/([a-z-]+)$/.exec(req.path);
    if (!m) return 'Unknown';
    return ({ 'converse': 'Converse', 'converse-stream': 'ConverseStream', 'invoke': 'InvokeModel', 'invoke-with-response-stream': 'InvokeModelWithResponseStream' } as
      Record<string, string>)[m[2]] ?? 'Unknown';
  }

  public decode(req: WireRequest): unknown {
    const modelId = this.modelId(req);
    try {
      return { modelId, ...this.body(req) };
    } catch {
      return { modelId, unparsed: req.body.toString('utf8') };
    }
  }

  public handle(req: WireRequest, action: string): WireResponse {
    if (action !== 'Converse') throw new AwsError('UnknownOperationException', `BedrockRuntimeService: ${action} (${req.method} ${req.path}) is not implemented`, 404);
    if (req.method !== 'POST') throw new AwsError('UnknownOperationException', `BedrockRuntimeService: ${req.method} ${req.path}`, 405);
    let body: any;
    try {
      body = this.body(req);
    } catch {
      throw new AwsError('ValidationException', 'Malformed input request, please reformat your input and try again.', 400);
    }
    const record: ConverseRequestRecord = { modelId: this.modelId(req), body };
    this.requests.push(record);
    if (!Array.isArray(body.messages) && body.promptVariables === undefined) {
      throw new AwsError('ValidationException', 'The model returned the following errors: messages: field required', 400);
    }
    const next = this.queue.shift();
    let reply: ConverseAnswer | ConverseError;
    if (next !== undefined) {
      reply = typeof next === 'function' ? next(record) : next;
    } else if (this.responder) {
      reply = this.responder(record);
    } else {
      throw new AwsError('InternalServerException', `BedrockRuntimeService: no scripted answer for Converse request #${this.requests.length} (model ${record.modelId})`, 500);
    }
    if (isError(reply)) throw new AwsError(reply.error, reply.message ?? reply.error, reply.status ?? CONVERSE_ERROR_STATUS[reply.error] ?? 400);
    return {
      status: 200,
      headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId() },
      body: JSON.stringify(reply),
    };
  }

  private modelId(req: WireRequest): string {
    const m = /^\/model\/([^/]+)\//.exec(req.path);
    if (!m) return '';
    try {
      return decodeURIComponent(m[1]);
    } catch {
      return m[1];
    }
  }

  private body(req: WireRequest): any {
    const text = req.body.toString('utf8');
    return text ? JSON.parse(text) : {};
  }
}

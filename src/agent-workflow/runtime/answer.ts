/**
 * Pure logic of the reasoner: prompt rendering, hashes, the Converse request, finding the
 * structured answer in a Converse message (SDK camelCase or Step Functions PascalCase), the
 * projection of the answer onto small state fields and the deterministic summary.
 * Runtime dependency: node:crypto only (the SDK import is type-only).
 */
import { createHash } from 'node:crypto';
import type { ContentBlock, ConverseCommandInput, ImageFormat, Message } from '@aws-sdk/client-bedrock-runtime';
import type { ReasoningConfig, Scalar, StructuredOutputMode, ValidationResult } from './contracts';

/** Strings in projected fields are cut to this many characters. */
export const MAX_FIELD_STRING_CHARS = 256;
/** Checkpoint summaries are cut to this many characters. */
export const MAX_SUMMARY_CHARS = 500;
/** The summarizer sees at most this much of the answer JSON. */
export const MAX_SUMMARIZER_INPUT_CHARS = 20_000;

// ---------------------------------------------------------------------------------------------
// Prompt and hashes

/**
 * Replaces `{{key}}`, `{{bucket}}`, `{{contentType}}` and `{{metadata.<name>}}` from the validation
 * result; any other placeholder becomes ''.
 */
export function renderPrompt(template: string, validation: ValidationResult): string {
  return template.replace(/\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g, (_m, name: string) => {
    if (name === 'key') return validation.key;
    if (name === 'bucket') return validation.bucket;
    if (name === 'contentType') return validation.contentType;
    if (name.startsWith('metadata.')) {
      const v = validation.metadata?.[name.slice('metadata.'.length)];
      return typeof v === 'string' ? v : '';
    }
    return '';
  });
}

/** JSON with object keys sorted at every level (undefined members dropped, as JSON.stringify does). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortKeys(v)));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** `sha256:<hex>` of the canonical JSON of a value. */
export function sha256Digest(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex')}`;
}

/** `sha256:<hex>` of system prompt + rendered prompt + schema (canonical JSON). */
export function promptHash(system: string, prompt: string, schema: unknown): string {
  return sha256Digest({ system, prompt, schema });
}

// ---------------------------------------------------------------------------------------------
// Answer extraction

export type ExtractResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: string; readonly rawText: string };

interface NormalizedBlock {
  readonly text?: string;
  readonly toolUse?: { readonly name: string; readonly input: unknown };
}

function normalizeBlock(block: unknown): NormalizedBlock {
  if (typeof block !== 'object' || block === null) return {};
  const b = block as Record<string, unknown>;
  const text = typeof b.text === 'string' ? b.text : typeof b.Text === 'string' ? b.Text : undefined;
  const tu = (b.toolUse ?? b.ToolUse) as Record<string, unknown> | undefined;
  if (typeof tu === 'object' && tu !== null) {
    const name = tu.name ?? tu.Name;
    const input = 'input' in tu ? tu.input : tu.Input;
    return { text, toolUse: { name: typeof name === 'string' ? name : '', input } };
  }
  return { text };
}

/** Removes a Markdown code fence around the whole text, or takes the first fenced block. */
export function stripFence(text: string): string {
  const t = text.trim();
  const whole = /^```[A-Za-z0-9_-]*[ \t]*\r?\n?([\s\S]*?)\r?\n?```$/.exec(t);
  if (whole) return whole[1].trim();
  const inner = /```(?:json)?[ \t]*\r?\n([\s\S]*?)\r?\n```/i.exec(t);
  return inner ? inner[1].trim() : t;
}

/**
 * Finds the structured answer in a Converse message content (either casing).
 * json_schema: the first text block parsed as JSON (a ```json fence is tolerated).
 * tool_use: the input of the first call of the tool `toolName`.
 */
export function extractAnswer(content: unknown, mode: StructuredOutputMode, toolName: string): ExtractResult {
  const blocks = (Array.isArray(content) ? content : []).map(normalizeBlock);
  const rawText = blocks.filter((b) => b.text !== undefined).map((b) => b.text).join('\n');
  if (mode === 'tool_use') {
    const call = blocks.find((b) => b.toolUse?.name === toolName)?.toolUse;
    if (!call) {
      const called = blocks.filter((b) => b.toolUse).map((b) => b.toolUse!.name);
      return {
        ok: false,
        rawText,
        error: called.length > 0
          ? `the model called ${called.map((n) => `'${n}'`).join(', ')} instead of the tool '${toolName}'`
          : `the model did not call the tool '${toolName}'${rawText ? ' (it answered with text)' : ''}`,
      };
    }
    let input = call.input;
    if (typeof input === 'string') {
      try {
        input = JSON.parse(input);
      } catch (err) {
        return { ok: false, rawText: call.input as string, error: `the tool input is not valid JSON: ${(err as Error).message}` };
      }
    }
    if (input === undefined) return { ok: false, rawText, error: `the call of the tool '${toolName}' has no input` };
    return { ok: true, value: input };
  }
  const first = blocks.find((b) => b.text !== undefined);
  if (!first) return { ok: false, rawText, error: 'the model answer has no text block' };
  const body = stripFence(first.text!);
  if (body === '') return { ok: false, rawText, error: 'the model answer is empty' };
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (err) {
    return { ok: false, rawText, error: `the model answer is not valid JSON: ${(err as Error).message}` };
  }
}

// ---------------------------------------------------------------------------------------------
// Projection and summary

function cutChars(s: string, max: number): string {
  if (s.length <= max) return s; // fast path: UTF-16 length >= code points
  const cps = Array.from(s.slice(0, max * 2));
  return cps.length <= max ? cps.join('') : cps.slice(0, max).join('');
}

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function declaresOnlyNested(propSchema: unknown): boolean {
  if (typeof propSchema !== 'object' || propSchema === null) return false;
  const t = (propSchema as Record<string, unknown>).type;
  const types = Array.isArray(t) ? t : t === undefined ? [] : [t];
  return types.length > 0 && types.every((x) => x === 'object' || x === 'array');
}

/**
 * Top-level scalar properties of the answer, in schema order: every declared property whose type
 * can be scalar is present (null when the answer lacks it or holds a nested value there); strings
 * are cut to 256 chars; properties declared as object/array and undeclared properties are omitted.
 */
export function projectFields(value: unknown, schema: Record<string, unknown>): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  const props = typeof schema.properties === 'object' && schema.properties !== null ? schema.properties as Record<string, unknown> : {};
  const answer = typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {};
  for (const [name, propSchema] of Object.entries(props)) {
    if (declaresOnlyNested(propSchema)) continue;
    const v = Object.prototype.hasOwnProperty.call(answer, name) ? answer[name] : null;
    if (!isScalar(v)) {
      out[name] = null;
    } else {
      out[name] = typeof v === 'string' ? cutChars(v, MAX_FIELD_STRING_CHARS) : v;
    }
  }
  return out;
}

/** `name=value; name=value` of the fields, at most 500 chars. */
export function deterministicSummary(fields: Record<string, Scalar>): string {
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? cutChars(v, 120) : JSON.stringify(v)}`);
  const s = parts.length ? parts.join('; ') : '(no scalar fields)';
  return cutSummary(s);
}

/** Trims and cuts a summary to MAX_SUMMARY_CHARS (with an ellipsis when cut). */
export function cutSummary(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  const cps = Array.from(t);
  return cps.length <= MAX_SUMMARY_CHARS ? t : `${cps.slice(0, MAX_SUMMARY_CHARS - 1).join('')}…`;
}

// ---------------------------------------------------------------------------------------------
// Converse requests

const IMAGE_FORMATS: Record<string, ImageFormat> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/pjpeg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/** Converse image format for a Content-Type (parameters like `; charset` ignored), or undefined. */
export function imageFormatFor(contentType: string): ImageFormat | undefined {
  return IMAGE_FORMATS[contentType.split(';')[0].trim().toLowerCase()];
}

/** Text block listing prior checkpoint summaries (newest first). */
export function memoryContextText(summaries: readonly string[]): string {
  const lines = summaries.map((s, i) => `${i + 1}. ${cutSummary(s)}`);
  return `Context: summaries of earlier results for the same subject (newest first). Use them as background only.\n${lines.join('\n')}`;
}

/**
 * The Converse input of a reasoning step. Content of the user message: the memory context (when
 * summaries are given), the image (attachment s3_location or bytes), then the rendered prompt.
 */
export function buildConverseRequest(
  config: ReasoningConfig, validation: ValidationResult, memorySummaries: readonly string[], imageBytes?: Uint8Array,
): ConverseCommandInput {
  const content: ContentBlock[] = [];
  if (memorySummaries.length > 0) content.push({ text: memoryContextText(memorySummaries) });
  if (config.attachment !== 'none') {
    const format = imageFormatFor(validation.contentType);
    if (!format) {
      throw new Error(`attachment '${config.attachment}': content type '${validation.contentType}' is not an image format Converse accepts (png, jpeg, gif, webp)`);
    }
    if (config.attachment === 's3_location') {
      // the snapshot of the validated version when there is one (an S3 location names no version)
      const [bucket, key] = validation.analysisKey ? [validation.analysisBucket, validation.analysisKey] : [validation.bucket, validation.key];
      content.push({ image: { format, source: { s3Location: { uri: `s3://${bucket}/${key}` } } } });
    } else {
      if (!imageBytes) throw new Error("attachment 'bytes': the image bytes are missing");
      content.push({ image: { format, source: { bytes: imageBytes } } });
    }
  }
  content.push({ text: renderPrompt(config.prompt, validation) });

  const messages: Message[] = [{ role: 'user', content }];
  const request: ConverseCommandInput = {
    modelId: config.modelId,
    messages,
    inferenceConfig: {
      maxTokens: config.maxTokens,
      ...(config.temperature === -1 ? {} : { temperature: config.temperature }),
    },
  };
  const withSystem: ConverseCommandInput = config.systemPrompt ? { ...request, system: [{ text: config.systemPrompt }] } : request;
  if (config.structuredOutput === 'json_schema') {
    return {
      ...withSystem,
      outputConfig: {
        textFormat: {
          type: 'json_schema',
          structure: { jsonSchema: { schema: JSON.stringify(config.outputSchema), name: config.toolName } },
        },
      },
    };
  }
  const description = typeof config.outputSchema.description === 'string' && config.outputSchema.description
    ? config.outputSchema.description
    : 'Record the structured answer.';
  return {
    ...withSystem,
    toolConfig: {
      tools: [{
        toolSpec: {
          name: config.toolName, description, inputSchema: { json: config.outputSchema as never }, ...(config.strictToolUse ? { strict: true } : {}),
        },
      }],
      toolChoice: { tool: { name: config.toolName } },
    },
  };
}

export const SUMMARIZER_SYSTEM_PROMPT = 'You write short, factual summaries of structured data. Do not speculate or add information.';

/** The Converse input asking the summarizer model for a <= 80-word factual summary of the answer. */
export function buildSummaryRequest(modelId: string, answer: unknown): ConverseCommandInput {
  let json = JSON.stringify(answer);
  if (json.length > MAX_SUMMARIZER_INPUT_CHARS) json = `${json.slice(0, MAX_SUMMARIZER_INPUT_CHARS)} …(truncated)`;
  return {
    modelId,
    system: [{ text: SUMMARIZER_SYSTEM_PROMPT }],
    messages: [{
      role: 'user',
      content: [{ text: `Summarize this JSON answer in at most 80 words, factually, as plain text (no lists, no Markdown).\n\n${json}` }],
    }],
    inferenceConfig: { maxTokens: 256, temperature: 0 },
  };
}

/** Text of a summarizer answer (either casing), trimmed and cut; '' when there is none. */
export function summaryText(content: unknown): string {
  const text = (Array.isArray(content) ? content : []).map(normalizeBlock).map((b) => b.text ?? '').join(' ');
  return text.trim() === '' ? '' : cutSummary(text);
}

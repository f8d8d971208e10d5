/**
 * A faithful, dependency-free implementation of Amazon EventBridge event-pattern matching, with a
 * Pipes mode (what EventBridge Pipes filters accept) and an SNS filter-policy mode (payload-based
 * filtering on the message body).
 *
 * Sources (AWS documentation, as read for this module):
 * - "Content filtering in Amazon EventBridge event patterns" (every operator and its examples)
 * - "Comparison operators for use in event patterns in Amazon EventBridge" (the table with the
 *   "Pipe support" column: anything-but combined with prefix, suffix, equals-ignore-case or wildcard
 *   is not supported by Pipes)
 * - "Event filtering in Amazon EventBridge Pipes" (SQS bodies and Kinesis/MQ/MSK base64 payloads
 *   are filtered as JSON; a `Filter.Pattern` is at most 4096 characters, "Filter - Amazon EventBridge
 *   Pipes" API reference)
 * - "Filter policy constraints in Amazon SNS" (5 keys, only parent keys counted in a nested policy;
 *   150 combinations, a nested array counting its values times its depth; numbers within ±10^9;
 *   256 KB policy size) and "String value matching" (SNS: anything-but combines with prefix only)
 *
 * Where the pages are silent (empty arrays and objects, "$or" with fewer than two branches, reserved
 * words inside "$or", CIDR bounds), the rules follow aws/event-ruler's JsonRuleCompiler, the open-source
 * engine behind EventBridge patterns.
 *
 * The module is pure: no AWS SDK, no aws-cdk-lib. It runs in a CDK app at synth, in a Lambda handler
 * and in users' unit tests alike.
 */

/** Which service's rules a pattern is checked (and matched) against. */
export enum PatternMode {
  /** An EventBridge event bus rule: every documented operator. */
  EVENTBRIDGE = 'eventbridge',
  /**
   * An EventBridge Pipes filter: as an event bus, minus anything-but combined with prefix, suffix,
   * equals-ignore-case or wildcard; SQS `body` and base64 `data` payloads are matched as JSON.
   */
  PIPES = 'pipes',
  /** An SNS subscription filter policy on the message body (`FilterPolicyScope: MessageBody`). */
  SNS = 'sns',
}

type Json = any;
type ModeName = 'eventbridge' | 'pipes' | 'sns';

const DOC_CONTENT = '"Content filtering in Amazon EventBridge event patterns"';
const DOC_PIPES = '"Comparison operators for use in event patterns in Amazon EventBridge" (Pipe support: No)';
const DOC_SNS = '"Filter policy constraints in Amazon SNS"';

/** Characters of one Pipes `Filter.Pattern` ("Filter - Amazon EventBridge Pipes" API reference). */
export const PIPES_MAX_PATTERN_LENGTH = 4096;
/** Filters of one Pipes `FilterCriteria` ("FilterCriteria - Amazon EventBridge Pipes" API reference). */
export const PIPES_MAX_FILTERS = 5;
/** Keys of one SNS filter policy ("Filter policy constraints in Amazon SNS"). */
export const SNS_MAX_KEYS = 5;
/** Combinations of values of one SNS filter policy ("Filter policy constraints in Amazon SNS"). */
export const SNS_MAX_COMBINATIONS = 150;
/** Bound of numeric values in SNS filter policies: -10^9..10^9 ("Filter policy constraints in Amazon SNS"). */
export const SNS_NUMERIC_BOUND = 1e9;
/** Size of one SNS filter policy, 256 KB ("Filter policy constraints in Amazon SNS"). */
export const SNS_MAX_POLICY_BYTES = 256 * 1024;

const OPERATORS = ['prefix', 'suffix', 'anything-but', 'numeric', 'exists', 'cidr', 'equals-ignore-case', 'wildcard'];
const NUMERIC_OPS = ['=', '<', '<=', '>', '>='];
/** Field names that event-ruler (the engine behind EventBridge patterns) refuses inside "$or". */
const RESERVED_IN_OR = [...OPERATORS, ...NUMERIC_OPS, 'exactly', 'regex', 'not-wildcard', 'not-equals-ignore-case',
  'date-after', 'date-on-or-after', 'date-before', 'date-on-or-before', 'in-date-range', 'ip-address-in-range', 'ip-address-not-in-range'];

// ---------------------------------------------------------------------------------------------
// Public functional API (TypeScript). jsii ignores free functions; `EventPatternMatcher` below is
// the jsii-visible face of the same logic.
// ---------------------------------------------------------------------------------------------

/**
 * Whether `event` matches the EventBridge event `pattern`.
 *
 * Every field of the pattern must match (AND); a field matches when any value of its array matches
 * (OR); a field that is an array in the event matches when any of its elements does.
 *
 * @param pattern the event pattern, as a JSON object
 * @param event the event (for Pipes: the source record, e.g. a DynamoDB stream record)
 * @param options `mode: 'pipes'` also decodes SQS `body` and base64 `data` payloads as Pipes does and
 *   rejects operators Pipes do not support
 * @throws Error when the pattern is invalid in the given mode (the problems are listed)
 */
export function matchesEventPattern(pattern: object, event: unknown, options: { mode?: 'eventbridge' | 'pipes' } = {}): boolean {
  const mode: ModeName = options.mode ?? 'eventbridge';
  assertEventPattern(pattern, mode);
  const subject = mode === 'pipes' ? decodePipesPayload(event) : event;
  return matchObject(pattern as Record<string, Json>, subject);
}

/**
 * Whether an SNS message body matches a payload-based filter policy (`FilterPolicyScope: MessageBody`).
 *
 * @param policy the filter policy, as a JSON object
 * @param messageBody the message body: a JSON string (as published) or the parsed object
 * @param options only `scope: 'MessageBody'` is modelled (attribute-based filtering is not)
 * @throws Error when the policy is invalid for SNS (the problems are listed)
 */
export function matchesFilterPolicy(policy: object, messageBody: unknown, options: { scope?: 'MessageBody' } = {}): boolean {
  if (options.scope !== undefined && options.scope !== 'MessageBody') {
    throw new Error(`matchesFilterPolicy: only scope 'MessageBody' is supported, got '${String(options.scope)}'`);
  }
  assertEventPattern(policy, 'sns');
  // Payload-based filtering assumes the body is a well-formed JSON object ("Amazon SNS message filtering"):
  // any other body matches no policy.
  const body = typeof messageBody === 'string' ? tryParseJson(messageBody) : messageBody;
  if (!isPlainObject(body)) return false;
  return matchObject(policy as Record<string, Json>, body);
}

/**
 * The problems of a pattern (empty when valid), each naming the field path and the operator.
 *
 * @param pattern the candidate pattern (any JSON value)
 * @param mode `eventbridge` (an event bus rule), `pipes` (a Pipes filter) or `sns` (an SNS filter
 *   policy on the message body)
 */
export function validateEventPattern(pattern: unknown, mode: 'eventbridge' | 'pipes' | 'sns' | PatternMode): string[] {
  const m = mode as ModeName;
  if (!['eventbridge', 'pipes', 'sns'].includes(m)) {
    return [`(root): unknown mode '${String(mode)}' (eventbridge, pipes or sns)`];
  }
  const problems: string[] = [];
  if (!isPlainObject(pattern)) {
    const what = kindOf(pattern);
    const label = m === 'sns' ? 'filter policy' : 'event pattern';
    return [`(root): the ${label} must be a JSON object, got ${what}`];
  }
  validateObject(pattern, '', m, problems);
  let text: string | undefined;
  try {
    text = JSON.stringify(pattern);
  } catch {
    problems.push('(root): the pattern is not serialisable as JSON');
  }
  if (text !== undefined) {
    if (m === 'pipes' && text.length > PIPES_MAX_PATTERN_LENGTH) {
      problems.push(`(root): the pattern is ${text.length} characters of JSON; a Pipes filter pattern holds at most `
        + `${PIPES_MAX_PATTERN_LENGTH} ("Filter - Amazon EventBridge Pipes"): split it into several filters`);
    }
    if (m === 'sns' && Buffer.byteLength(text, 'utf8') > SNS_MAX_POLICY_BYTES) {
      problems.push(`(root): the filter policy exceeds the 256 KB limit (${DOC_SNS})`);
    }
  }
  if (m === 'sns' && problems.length === 0) {
    // "For a nested policy, only parent keys are counted."
    const keys = Object.keys(pattern).length;
    if (keys > SNS_MAX_KEYS) {
      problems.push(`(root): the filter policy has ${keys} top-level keys; SNS allows at most ${SNS_MAX_KEYS} `
        + `(limit "number of keys", ${DOC_SNS}): nest related keys under one parent`);
    }
    const combinations = countCombinations(pattern);
    if (combinations > SNS_MAX_COMBINATIONS) {
      problems.push(`(root): the filter policy has ${combinations} combinations of values; SNS allows at most `
        + `${SNS_MAX_COMBINATIONS} (limit "filter policy complexity", ${DOC_SNS})`);
    }
  }
  return problems;
}

/**
 * Throws an Error listing every problem of the pattern, or returns when it is valid.
 *
 * @param pattern the candidate pattern
 * @param mode `eventbridge`, `pipes` or `sns`
 * @param context a prefix for the message, e.g. the construct path and prop name
 */
export function assertEventPattern(pattern: unknown, mode: 'eventbridge' | 'pipes' | 'sns' | PatternMode, context?: string): void {
  const problems = validateEventPattern(pattern, mode);
  if (problems.length > 0) {
    const head = context ? `${context}: ` : '';
    const what = mode === 'sns' ? 'SNS filter policy' : mode === 'pipes' ? 'EventBridge Pipes filter pattern' : 'EventBridge event pattern';
    throw new Error(`${head}invalid ${what}:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * jsii-friendly entry points to the event-pattern matcher (every language the library is published in).
 *
 * The TypeScript functions `matchesEventPattern`, `matchesFilterPolicy`, `validateEventPattern` and
 * `assertEventPattern` are the same logic.
 */
export class EventPatternMatcher {
  /**
   * Whether an event matches an event pattern.
   *
   * @param pattern the event pattern
   * @param input the event, or for Pipes the source record (any JSON value)
   * @param mode EVENTBRIDGE (the default) or PIPES; SNS matches a filter policy against a message body
   */
  public static matches(pattern: { [key: string]: any }, input: any, mode?: PatternMode): boolean {
    const m = mode ?? PatternMode.EVENTBRIDGE;
    if (m === PatternMode.SNS) return matchesFilterPolicy(pattern, input);
    return matchesEventPattern(pattern, input, { mode: m === PatternMode.PIPES ? 'pipes' : 'eventbridge' });
  }

  /**
   * Whether an SNS message body matches a payload-based filter policy.
   *
   * @param policy the filter policy
   * @param messageBody the message body, as a JSON string or parsed
   */
  public static matchesFilterPolicy(policy: { [key: string]: any }, messageBody: any): boolean {
    return matchesFilterPolicy(policy, messageBody);
  }

  /**
   * The problems of a pattern (empty when valid), each naming the field path and the operator.
   *
   * @param pattern the candidate pattern (any JSON value)
   * @param mode the service whose rules apply
   */
  public static validate(pattern: any, mode: PatternMode): string[] {
    return validateEventPattern(pattern, mode);
  }

  /**
   * Throws an Error listing the problems of a pattern, if any.
   *
   * @param pattern the candidate pattern (any JSON value)
   * @param mode the service whose rules apply
   */
  public static assertValid(pattern: any, mode: PatternMode): void {
    assertEventPattern(pattern, mode);
  }

  private constructor() {}
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function where(path: string): string {
  return path || '(root)';
}

function validateObject(obj: Record<string, Json>, path: string, mode: ModeName, problems: string[], inOr = false): void {
  const keys = Object.keys(obj);
  if (keys.length === 0) {
    problems.push(`${where(path)}: an empty object matches nothing useful; give at least one field`);
  }
  for (const key of keys) {
    const value = obj[key];
    const p = join(path, key);
    if (inOr && RESERVED_IN_OR.includes(key)) {
      problems.push(`${p}: "${key}" is a reserved word and cannot be a field name inside "$or"`);
      continue;
    }
    if (key === '$or') {
      validateOr(value, path, mode, problems);
    } else if (Array.isArray(value)) {
      validateLeaf(value, p, mode, problems);
    } else if (isPlainObject(value)) {
      validateObject(value, p, mode, problems, inOr);
    } else {
      problems.push(`${p}: a leaf must be an array of values or operators (e.g. ${JSON.stringify(key)}: [${JSON.stringify(value)}]), `
        + `got ${kindOf(value)}`);
    }
  }
}

function validateOr(value: Json, path: string, mode: ModeName, problems: string[]): void {
  const p = join(path, '$or');
  if (!Array.isArray(value) || value.length < 2 || !value.every(isPlainObject)) {
    problems.push(`${p}: "$or" takes an array of at least two pattern objects (${DOC_CONTENT})`);
    return;
  }
  value.forEach((branch: Record<string, Json>) => validateObject(branch, path, mode, problems, true));
}

function validateLeaf(values: Json[], path: string, mode: ModeName, problems: string[]): void {
  if (values.length === 0) {
    problems.push(`${path}: an empty array matches no event; list at least one value or operator`);
  }
  for (const v of values) {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) problems.push(`${path}: ${v} is not a JSON number`);
      else if (mode === 'sns') checkSnsNumber(v, path, 'exact value', problems);
      continue;
    }
    if (Array.isArray(v)) {
      problems.push(`${path}: nested arrays are not allowed in a pattern leaf`);
      continue;
    }
    if (!isPlainObject(v)) {
      problems.push(`${path}: ${kindOf(v)} is not a JSON value`);
      continue;
    }
    const ops = Object.keys(v);
    if (ops.length !== 1) {
      problems.push(`${path}: an operator object has exactly one operator, got ${ops.length === 0 ? 'none' : ops.join(', ')}`);
      continue;
    }
    validateOperator(ops[0], v[ops[0]], path, mode, problems);
  }
}

function validateOperator(op: string, operand: Json, path: string, mode: ModeName, problems: string[]): void {
  const at = `${path}: "${op}"`;
  switch (op) {
    case 'prefix':
    case 'suffix':
      if (typeof operand === 'string') return;
      if (isPlainObject(operand) && Object.keys(operand).length === 1 && typeof operand['equals-ignore-case'] === 'string') {
        if (mode === 'sns') {
          problems.push(`${at} with "equals-ignore-case" is not supported in SNS filter policies (${DOC_SNS}); `
            + `use "${op}" with a string`);
        }
        return;
      }
      problems.push(`${at} takes a string or {"equals-ignore-case": string}, got ${kindOf(operand)}`);
      return;
    case 'equals-ignore-case':
      if (typeof operand !== 'string') problems.push(`${at} takes a string, got ${kindOf(operand)}`);
      return;
    case 'wildcard':
      if (mode === 'sns') {
        problems.push(`${at} is not supported in SNS filter policies (${DOC_SNS}); use "prefix" or "suffix"`);
        return;
      }
      validateWildcard(operand, at, problems);
      return;
    case 'exists':
      if (typeof operand !== 'boolean') problems.push(`${at} takes true or false, got ${kindOf(operand)}`);
      return;
    case 'cidr':
      if (typeof operand !== 'string' || parseCidr(operand) === undefined) {
        problems.push(`${at} takes an IPv4 or IPv6 CIDR block such as "10.0.0.0/24" or "2001:db8::/32", got ${JSON.stringify(operand)}`);
      }
      return;
    case 'numeric':
      validateNumeric(operand, at, path, mode, problems);
      return;
    case 'anything-but':
      validateAnythingBut(operand, at, path, mode, problems);
      return;
    default:
      problems.push(`${at} is not an operator (known: ${OPERATORS.join(', ')}; "$or" goes beside fields, not in a leaf)`);
  }
}

function validateWildcard(operand: Json, at: string, problems: string[]): void {
  if (typeof operand !== 'string') {
    problems.push(`${at} takes a string, got ${kindOf(operand)}`);
    return;
  }
  if (/(^|[^\\])\*\*/.test(operand)) {
    problems.push(`${at}: consecutive wildcard characters ("**") are not allowed (${DOC_CONTENT})`);
  }
}

function validateNumeric(operand: Json, at: string, path: string, mode: ModeName, problems: string[]): void {
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) {
    const got = Array.isArray(operand) ? `${operand.length} elements` : kindOf(operand);
    problems.push(`${at} takes [op, number] or [lower-op, number, upper-op, number] with op one of ${NUMERIC_OPS.join(' ')}, got ${got}`);
    return;
  }
  let ok = true;
  for (let i = 0; i < operand.length; i += 2) {
    if (!NUMERIC_OPS.includes(operand[i])) {
      problems.push(`${at}: ${JSON.stringify(operand[i])} is not a comparison (${NUMERIC_OPS.join(' ')})`);
      ok = false;
    }
    const n = operand[i + 1];
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      problems.push(`${at}: ${JSON.stringify(n)} after ${JSON.stringify(operand[i])} is not a number`);
      ok = false;
    } else if (mode === 'sns') {
      checkSnsNumber(n, path, '"numeric"', problems);
    }
  }
  if (!ok || operand.length === 2) return;
  const [lowOp, low, highOp, high] = operand;
  if (!(lowOp === '>' || lowOp === '>=') || !(highOp === '<' || highOp === '<=')) {
    problems.push(`${at}: a range is [">" or ">=", lower, "<" or "<=", upper], got ${JSON.stringify(operand)}`);
  } else if (low >= high) {
    problems.push(`${at}: the range is empty (lower ${low} is not below upper ${high})`);
  }
}

function validateAnythingBut(operand: Json, at: string, path: string, mode: ModeName, problems: string[]): void {
  if (typeof operand === 'string') return;
  if (typeof operand === 'number') {
    if (mode === 'sns') checkSnsNumber(operand, path, '"anything-but"', problems);
    return;
  }
  if (Array.isArray(operand)) {
    const allStrings = operand.every((x) => typeof x === 'string');
    const allNumbers = operand.every((x) => typeof x === 'number' && Number.isFinite(x));
    // SNS accepts any simple values in the list; EventBridge only all strings or all numbers.
    const snsOk = mode === 'sns' && operand.every((x) => x === null || ['string', 'number', 'boolean'].includes(typeof x));
    if (operand.length === 0 || !(allStrings || allNumbers || snsOk)) {
      problems.push(`${at} takes a non-empty list of only strings or only numbers (${DOC_CONTENT})`);
    }
    return;
  }
  if (isPlainObject(operand)) {
    const inner = Object.keys(operand);
    if (inner.length !== 1) {
      problems.push(`${at} takes one of prefix, suffix, equals-ignore-case or wildcard, got ${inner.join(', ') || 'none'}`);
      return;
    }
    const [op] = inner;
    const v = operand[op];
    const strings = typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'));
    switch (op) {
      case 'prefix':
      case 'suffix':
        if (typeof v !== 'string') problems.push(`${at} with "${op}" takes a string, got ${kindOf(v)}`);
        else if (v === '') problems.push(`${at} with "${op}": an empty ${op} is not allowed`);
        break;
      case 'equals-ignore-case':
        if (!strings) problems.push(`${at} with "${op}" takes a string or a list of strings, got ${kindOf(v)}`);
        break;
      case 'wildcard':
        if (!strings) problems.push(`${at} with "${op}" takes a string or a list of strings, got ${kindOf(v)}`);
        else for (const w of ([] as string[]).concat(v)) validateWildcard(w, `${at} with "wildcard"`, problems);
        break;
      default:
        problems.push(`${at} with "${op}": "${op}" cannot be combined with anything-but (only prefix, suffix, `
          + 'equals-ignore-case or wildcard)');
        return;
    }
    if (mode === 'pipes') {
      problems.push(`${at} with "${op}" is not supported by EventBridge Pipes (${DOC_PIPES}); `
        + 'filter on the values you want instead, or apply this condition in the enrichment or the consumer filter');
    }
    if (mode === 'sns' && op !== 'prefix') {
      problems.push(`${at} with "${op}" is not supported in SNS filter policies ("String value matching"); `
        + 'only "prefix" combines with anything-but there');
    }
    return;
  }
  problems.push(`${at} takes a string, a number, a list of them, or {prefix|suffix|equals-ignore-case|wildcard: ...}, got ${kindOf(operand)}`);
}

function checkSnsNumber(n: number, path: string, op: string, problems: string[]): void {
  if (n < -SNS_NUMERIC_BOUND || n > SNS_NUMERIC_BOUND) {
    problems.push(`${path}: ${op} value ${n} is outside -1000000000..1000000000 (limit "numeric matching", ${DOC_SNS})`);
  }
}

/**
 * SNS "total combination" ("Filter policy constraints in Amazon SNS"): multiply the number of values of each
 * array; a nested key's array counts its number of values times its nesting depth (the page's example: four
 * values three levels deep and three values two levels deep make 3 x 4 x 2 x 3 = 72); `$or` branches add up.
 */
function countCombinations(obj: Record<string, Json>, depth = 1): number {
  let product = 1;
  for (const [key, value] of Object.entries(obj)) {
    if (key === '$or' && Array.isArray(value)) {
      product *= value.reduce((sum: number, b: Json) => sum + (isPlainObject(b) ? countCombinations(b, depth) : 0), 0);
    } else if (Array.isArray(value)) {
      product *= Math.max(1, value.length) * depth;
    } else if (isPlainObject(value)) {
      product *= countCombinations(value, depth + 1);
    }
  }
  return product;
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

function matchObject(pattern: Record<string, Json>, node: Json): boolean {
  for (const [key, spec] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!(spec as Record<string, Json>[]).some((branch) => matchObject(branch, node))) return false;
      continue;
    }
    const values = lookup(node, key);
    if (Array.isArray(spec)) {
      if (!matchLeaf(spec, values.filter((v) => !isPlainObject(v)))) return false;
    } else {
      const objects = values.filter(isPlainObject);
      // Without any object at this key, only a sub-pattern made of "exists": false can match.
      const ok = objects.length > 0 ? objects.some((o) => matchObject(spec, o)) : matchObject(spec, undefined);
      if (!ok) return false;
    }
  }
  return true;
}

/** The values at `key` in `node`, arrays (also nested ones, and arrays of objects) flattened. */
function lookup(node: Json, key: string): Json[] {
  const out: Json[] = [];
  const visit = (n: Json): void => {
    if (Array.isArray(n)) n.forEach(visit);
    else if (isPlainObject(n) && Object.prototype.hasOwnProperty.call(n, key)) flatten(n[key], out);
  };
  visit(node);
  return out;
}

function flatten(v: Json, out: Json[]): void {
  if (Array.isArray(v)) v.forEach((x) => flatten(x, out));
  else out.push(v);
}

function matchLeaf(spec: Json[], values: Json[]): boolean {
  return spec.some((m) => {
    if (isPlainObject(m)) {
      const [op] = Object.keys(m);
      if (op === 'exists') return m.exists === (values.length > 0);
      return values.some((v) => matchOperator(op, m[op], v));
    }
    return values.some((v) => v === m || (typeof m === 'string' && typeof v === 'string' && sameIp(m, v)));
  });
}

function matchOperator(op: string, operand: Json, v: Json): boolean {
  switch (op) {
    case 'prefix':
      return typeof v === 'string' && affix(operand, v, (s, a) => s.startsWith(a));
    case 'suffix':
      return typeof v === 'string' && affix(operand, v, (s, a) => s.endsWith(a));
    case 'equals-ignore-case':
      return typeof v === 'string' && v.toLowerCase() === String(operand).toLowerCase();
    case 'wildcard':
      return typeof v === 'string' && wildcardRegExp(operand).test(v);
    case 'numeric':
      return typeof v === 'number' && numericMatches(operand, v);
    case 'cidr':
      return typeof v === 'string' && cidrContains(operand, v);
    case 'anything-but':
      return anythingBut(operand, v);
    default:
      return false;
  }
}

function affix(operand: Json, v: string, test: (s: string, a: string) => boolean): boolean {
  if (typeof operand === 'string') return test(v, operand);
  return test(v.toLowerCase(), String(operand['equals-ignore-case']).toLowerCase());
}

function anythingBut(operand: Json, v: Json): boolean {
  if (isPlainObject(operand)) {
    if (typeof v !== 'string') return false;
    const [op] = Object.keys(operand);
    const list: string[] = ([] as string[]).concat(operand[op]);
    switch (op) {
      case 'prefix': return !v.startsWith(list[0]);
      case 'suffix': return !v.endsWith(list[0]);
      case 'equals-ignore-case': return !list.some((x) => x.toLowerCase() === v.toLowerCase());
      case 'wildcard': return !list.some((w) => wildcardRegExp(w).test(v));
      default: return false;
    }
  }
  const excluded: Json[] = Array.isArray(operand) ? operand : [operand];
  return !excluded.some((x) => x === v);
}

function numericMatches(operand: Json[], v: number): boolean {
  for (let i = 0; i < operand.length; i += 2) {
    const n = operand[i + 1] as number;
    switch (operand[i]) {
      case '=': if (!(v === n)) return false; break;
      case '<': if (!(v < n)) return false; break;
      case '<=': if (!(v <= n)) return false; break;
      case '>': if (!(v > n)) return false; break;
      case '>=': if (!(v >= n)) return false; break;
      default: return false;
    }
  }
  return true;
}

const wildcardCache = new Map<string, RegExp>();

/** `*` matches any run of characters (also none); `\*` is a literal star and `\\` a literal backslash. */
function wildcardRegExp(pattern: string): RegExp {
  let re = wildcardCache.get(pattern);
  if (re) return re;
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && (pattern[i + 1] === '*' || pattern[i + 1] === '\\')) {
      src += `\\${pattern[++i]}`;
    } else if (c === '*') {
      src += '.*';
    } else {
      src += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  re = new RegExp(`^${src}$`, 's');
  wildcardCache.set(pattern, re);
  return re;
}

// ---------------------------------------------------------------------------------------------
// Pipes payload decoding
// ---------------------------------------------------------------------------------------------

/**
 * As "Event filtering in Amazon EventBridge Pipes" describes: an SQS record's `body` that is valid JSON
 * is filtered as JSON, and the base64 `data` of Kinesis, MQ and MSK records is decoded and, when it is
 * JSON, filtered as JSON. Anything else is left as it is.
 */
function decodePipesPayload(event: Json): Json {
  if (Array.isArray(event)) return event.map(decodePipesPayload);
  if (!isPlainObject(event)) return event;
  let out = event;
  if (typeof event.body === 'string') {
    const parsed = tryParseJson(event.body);
    if (isPlainObject(parsed) || Array.isArray(parsed)) out = { ...out, body: parsed };
  }
  if (typeof event.data === 'string' && /^[A-Za-z0-9+/]+={0,2}$/.test(event.data) && event.data.length % 4 === 0) {
    const parsed = tryParseJson(Buffer.from(event.data, 'base64').toString('utf8'));
    if (isPlainObject(parsed) || Array.isArray(parsed)) out = { ...out, data: parsed };
  }
  return out;
}

function tryParseJson(text: string): Json | undefined {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// CIDR (IPv4 and IPv6)
// ---------------------------------------------------------------------------------------------

interface Cidr { readonly v6: boolean; readonly network: bigint; readonly bits: number }

function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const ip = parseIp(m[1]);
  const bits = Number(m[2]);
  if (!ip || bits > (ip.v6 ? 128 : 32)) return undefined;
  return { v6: ip.v6, network: ip.value, bits };
}

function cidrContains(cidrText: string, ipText: string): boolean {
  const cidr = parseCidr(cidrText);
  const ip = parseIp(ipText.trim());
  if (!cidr || !ip || cidr.v6 !== ip.v6) return false;
  // As Ruler does: from the address as written up to that address with every host bit set.
  const hostSpan = 2n ** (BigInt(cidr.v6 ? 128 : 32) - BigInt(cidr.bits));
  const top = (cidr.network / hostSpan) * hostSpan + hostSpan - 1n;
  return ip.value >= cidr.network && ip.value <= top;
}

/** A string value in a pattern that is an IP address matches that address in any notation. */
function sameIp(patternText: string, value: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(patternText) || !/^[0-9a-fA-F:.]+$/.test(value)) return false;
  const a = parseIp(patternText);
  const b = parseIp(value);
  return a !== undefined && b !== undefined && a.v6 === b.v6 && a.value === b.value;
}

function parseIp(text: string): { v6: boolean; value: bigint } | undefined {
  if (text.includes(':')) {
    const v = parseIpv6(text);
    return v === undefined ? undefined : { v6: true, value: v };
  }
  const v = parseIpv4(text);
  return v === undefined ? undefined : { v6: false, value: v };
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    value = value * 256n + BigInt(Number(p));
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  let groups: string[];
  let tail: bigint[] = [];
  let s = text;
  // An embedded IPv4 tail (::ffff:192.0.2.1) counts as two groups.
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = parseIpv4(v4[2]);
    if (n === undefined) return undefined;
    tail = [n / 65536n, n % 65536n];
    s = v4[1].endsWith('::') ? v4[1] : v4[1].slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const explicit = head.length + rest.length + tail.length;
  if (halves.length === 2) {
    if (explicit > 7) return undefined;
    groups = [...head, ...Array(8 - explicit).fill('0'), ...rest];
  } else {
    if (explicit !== 8) return undefined;
    groups = head;
  }
  let value = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    value = value * 65536n + BigInt(parseInt(g, 16));
  }
  for (const t of tail) value = value * 65536n + t;
  return value;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function isPlainObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

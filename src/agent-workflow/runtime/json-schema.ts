/**
 * A small JSON Schema validator for the subset the agent workflow supports in output schemas.
 * Pure (no dependencies): used at synth time (checkSchema) and by the reasoner (validateValue).
 *
 * Supported keywords: type (one name or an array of names), properties, required,
 * additionalProperties (boolean only), enum, const, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum (numbers, draft 6+ form), minLength, maxLength, pattern, items (one schema),
 * minItems, maxItems. Ignored annotations: description, title, $schema.
 * Anything else ($ref, oneOf, anyOf, allOf, not, patternProperties, ...) is reported by checkSchema.
 */

/** JSON type names accepted by `type`. */
export const JSON_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'] as const;
export type JsonTypeName = typeof JSON_TYPES[number];

/** Keywords the validator understands (annotations included). */
export const SUPPORTED_KEYWORDS = [
  'type', 'properties', 'required', 'additionalProperties', 'enum', 'const',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'minLength', 'maxLength', 'pattern', 'items', 'minItems', 'maxItems',
  'description', 'title', '$schema',
] as const;

/** At most this many errors are reported by validateValue. */
export const MAX_VALIDATION_ERRORS = 20;
/** At most this many top-level properties (they become state fields). */
export const MAX_TOP_LEVEL_PROPERTIES = 50;

const SUPPORTED = new Set<string>(SUPPORTED_KEYWORDS);
const TYPE_NAMES = new Set<string>(JSON_TYPES);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `$.a.b`, `$["odd key"]`, `$.items[3]`. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** JSON type of a value as JSON Schema names it ('integer' is reported as 'number' unless asked). */
function jsonTypeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matchesType(v: unknown, t: string): boolean {
  switch (t) {
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'boolean': return typeof v === 'boolean';
    case 'object': return isPlainObject(v);
    case 'array': return Array.isArray(v);
    case 'null': return v === null;
    default: return false;
  }
}

/** Deep equality for JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Short JSON rendering of a value for messages. */
function show(v: unknown, max = 60): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function isNonNegInt(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function compilePattern(p: string): RegExp {
  return new RegExp(p, 'u');
}

// ---------------------------------------------------------------------------------------------
// checkSchema

/**
 * Problems with the schema itself (empty = usable). The top level must be `type: 'object'` with
 * `properties`; unsupported keywords are named with their path (`$.properties.x: unsupported keyword 'oneOf'`).
 */
export function checkSchema(schema: unknown): string[] {
  const problems: string[] = [];
  if (!isPlainObject(schema)) return ['$: the schema must be a JSON object'];
  if (schema.type !== 'object') problems.push(`$: the top level must have type 'object', got ${show(schema.type)}`);
  if (!isPlainObject(schema.properties)) {
    problems.push("$: the top level must declare 'properties' (an object)");
  } else if (Object.keys(schema.properties).length > MAX_TOP_LEVEL_PROPERTIES) {
    problems.push(`$: at most ${MAX_TOP_LEVEL_PROPERTIES} top-level properties are supported, got ${Object.keys(schema.properties).length}`);
  }
  checkNode(schema, '$', problems);
  return problems;
}

function checkNode(node: unknown, path: string, problems: string[]): void {
  if (!isPlainObject(node)) {
    problems.push(`${path}: a schema must be a JSON object, got ${show(node)}`);
    return;
  }
  for (const kw of Object.keys(node)) {
    if (!SUPPORTED.has(kw)) problems.push(`${path}: unsupported keyword '${kw}'`);
  }

  if ('type' in node) {
    const t = node.type;
    const names = Array.isArray(t) ? t : [t];
    if (names.length === 0) problems.push(`${path}.type: must not be an empty array`);
    for (const n of names) {
      if (typeof n !== 'string' || !TYPE_NAMES.has(n)) problems.push(`${path}.type: unknown type ${show(n)} (use ${JSON_TYPES.join(', ')})`);
    }
    if (new Set(names).size !== names.length) problems.push(`${path}.type: duplicate type names`);
  }

  for (const kw of ['description', 'title', '$schema', 'pattern'] as const) {
    if (kw in node && typeof node[kw] !== 'string') problems.push(`${path}.${kw}: must be a string`);
  }
  if (typeof node.pattern === 'string') {
    try {
      compilePattern(node.pattern);
    } catch (err) {
      problems.push(`${path}.pattern: does not compile (${(err as Error).message})`);
    }
  }

  for (const kw of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'] as const) {
    if (kw in node && (typeof node[kw] !== 'number' || !Number.isFinite(node[kw]))) problems.push(`${path}.${kw}: must be a number`);
  }
  for (const kw of ['minLength', 'maxLength', 'minItems', 'maxItems'] as const) {
    if (kw in node && !isNonNegInt(node[kw])) problems.push(`${path}.${kw}: must be a non-negative integer`);
  }
  const pairs: Array<[string, string, boolean]> = [
    ['minimum', 'maximum', false],
    ['exclusiveMinimum', 'exclusiveMaximum', true],
    ['minimum', 'exclusiveMaximum', true],
    ['exclusiveMinimum', 'maximum', true],
    ['minLength', 'maxLength', false],
    ['minItems', 'maxItems', false],
  ];
  for (const [lo, hi, strict] of pairs) {
    const a = node[lo];
    const b = node[hi];
    if (typeof a === 'number' && typeof b === 'number' && (strict ? a >= b : a > b)) {
      problems.push(`${path}: ${lo} (${a}) must be ${strict ? '<' : '<='} ${hi} (${b})`);
    }
  }

  if ('enum' in node && (!Array.isArray(node.enum) || node.enum.length === 0)) problems.push(`${path}.enum: must be a non-empty array`);

  if ('additionalProperties' in node && typeof node.additionalProperties !== 'boolean') {
    problems.push(`${path}.additionalProperties: only true or false is supported (schemas are not)`);
  }

  let declared: Set<string> | undefined;
  if ('properties' in node) {
    if (!isPlainObject(node.properties)) {
      problems.push(`${path}.properties: must be an object`);
    } else {
      declared = new Set(Object.keys(node.properties));
      for (const [name, sub] of Object.entries(node.properties)) checkNode(sub, childPath(`${path}.properties`, name), problems);
    }
  }
  if ('required' in node) {
    const req = node.required;
    if (!Array.isArray(req) || req.some((r) => typeof r !== 'string')) {
      problems.push(`${path}.required: must be an array of property names`);
    } else {
      if (new Set(req).size !== req.length) problems.push(`${path}.required: duplicate names`);
      for (const r of req as string[]) {
        if (!declared?.has(r)) problems.push(`${path}.required: '${r}' is not a declared property`);
      }
    }
  }

  if ('items' in node) {
    if (Array.isArray(node.items)) problems.push(`${path}.items: tuple form (an array of schemas) is not supported`);
    else checkNode(node.items, `${path}.items`, problems);
  }
}

// ---------------------------------------------------------------------------------------------
// validateValue

/**
 * Validates a value against a (checked) schema. Errors look like `$.severity_score: must be <= 5, got 7`;
 * at most MAX_VALIDATION_ERRORS are returned.
 */
export function validateValue(schema: unknown, value: unknown): string[] {
  const errors: string[] = [];
  validateNode(schema, value, '$', errors);
  return errors.slice(0, MAX_VALIDATION_ERRORS);
}

function validateNode(schema: unknown, value: unknown, path: string, errors: string[]): void {
  if (errors.length >= MAX_VALIDATION_ERRORS || !isPlainObject(schema)) return;
  const push = (msg: string) => {
    if (errors.length < MAX_VALIDATION_ERRORS) errors.push(`${path}: ${msg}`);
  };

  if ('type' in schema) {
    const types = (Array.isArray(schema.type) ? schema.type : [schema.type]).map(String);
    if (!types.some((t) => matchesType(value, t))) {
      const got = jsonTypeOf(value);
      push(`must be ${types.join(' or ')}, got ${got === 'integer' ? 'number' : got}${got === 'object' || got === 'array' ? '' : ` ${show(value)}`}`);
      return; // the other keywords would only repeat the problem
    }
  }

  if (Array.isArray(schema.enum) && !schema.enum.some((e) => jsonEqual(e, value))) {
    push(`must be one of ${show(schema.enum, 120)}, got ${show(value)}`);
  }
  if ('const' in schema && !jsonEqual(schema.const, value)) push(`must be ${show(schema.const)}, got ${show(value)}`);

  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) push(`must be >= ${schema.minimum}, got ${value}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) push(`must be <= ${schema.maximum}, got ${value}`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) push(`must be > ${schema.exclusiveMinimum}, got ${value}`);
    if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) push(`must be < ${schema.exclusiveMaximum}, got ${value}`);
  }

  if (typeof value === 'string') {
    const len = [...value].length; // code points, as JSON Schema counts them
    if (typeof schema.minLength === 'number' && len < schema.minLength) push(`must be at least ${schema.minLength} characters, got ${len}`);
    if (typeof schema.maxLength === 'number' && len > schema.maxLength) push(`must be at most ${schema.maxLength} characters, got ${len}`);
    if (typeof schema.pattern === 'string') {
      let re: RegExp | undefined;
      try {
        re = compilePattern(schema.pattern);
      } catch {
        push(`pattern ${show(schema.pattern)} does not compile`);
      }
      if (re && !re.test(value)) push(`must match pattern /${schema.pattern}/, got ${show(value)}`);
    }
  }

  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) push(`must have at least ${schema.minItems} items, got ${value.length}`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) push(`must have at most ${schema.maxItems} items, got ${value.length}`);
    if (isPlainObject(schema.items)) {
      for (let i = 0; i < value.length && errors.length < MAX_VALIDATION_ERRORS; i++) {
        validateNode(schema.items, value[i], childPath(path, i), errors);
      }
    }
  }

  if (isPlainObject(value)) {
    const props = isPlainObject(schema.properties) ? schema.properties : {};
    if (Array.isArray(schema.required)) {
      for (const r of schema.required) {
        if (typeof r === 'string' && !Object.prototype.hasOwnProperty.call(value, r) && errors.length < MAX_VALIDATION_ERRORS) {
          errors.push(`${childPath(path, r)}: is required`);
        }
      }
    }
    for (const [k, v] of Object.entries(value)) {
      if (errors.length >= MAX_VALIDATION_ERRORS) break;
      if (Object.prototype.hasOwnProperty.call(props, k)) validateNode(props[k], v, childPath(path, k), errors);
      else if (schema.additionalProperties === false) errors.push(`${childPath(path, k)}: is not allowed (additionalProperties is false)`);
    }
  }
}

import { checkSchema, MAX_VALIDATION_ERRORS, validateValue } from '../../src/agent-workflow/runtime/json-schema';

/** The insurance-claim answer schema of the example. */
const CLAIM_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Claim assessment',
  type: 'object',
  properties: {
    damage_type: { type: 'string', enum: ['scratch', 'dent', 'broken_glass', 'structural', 'other'], description: 'Kind of damage' },
    estimated_cost: { type: 'number', minimum: 0 },
    severity_score: { type: 'integer', minimum: 1, maximum: 5 },
    confidence_score: { type: 'number', minimum: 0, maximum: 1 },
  },
  required: ['damage_type', 'estimated_cost', 'severity_score', 'confidence_score'],
  additionalProperties: false,
};

const GOOD = { damage_type: 'dent', estimated_cost: 1200.5, severity_score: 2, confidence_score: 0.92 };

describe('checkSchema', () => {
  test('the claim schema is accepted', () => {
    expect(checkSchema(CLAIM_SCHEMA)).toEqual([]);
  });

  test('unsupported keywords are named with their path', () => {
    const problems = checkSchema({
      type: 'object',
      properties: {
        damage: { oneOf: [{ type: 'string' }, { type: 'number' }] },
        parts: { type: 'array', items: { anyOf: [{ type: 'string' }] } },
        meta: { type: 'object', patternProperties: { '^x': { type: 'string' } } },
        ref: { $ref: '#/definitions/x' },
      },
      allOf: [],
      not: { type: 'null' },
    });
    expect(problems).toEqual(expect.arrayContaining([
      "$: unsupported keyword 'allOf'",
      "$: unsupported keyword 'not'",
      "$.properties.damage: unsupported keyword 'oneOf'",
      "$.properties.parts.items: unsupported keyword 'anyOf'",
      "$.properties.meta: unsupported keyword 'patternProperties'",
      "$.properties.ref: unsupported keyword '$ref'",
    ]));
    expect(problems).toHaveLength(6);
  });

  test('required must name declared properties', () => {
    expect(checkSchema({ type: 'object', properties: { a: { type: 'string' } }, required: ['a', 'b'] }))
      .toEqual(["$.required: 'b' is not a declared property"]);
  });

  test('the top level must be an object with properties', () => {
    expect(checkSchema({ type: 'array', items: { type: 'string' } })).toEqual([
      "$: the top level must have type 'object', got \"array\"",
      "$: the top level must declare 'properties' (an object)",
    ]);
    expect(checkSchema('{"type":"object"}')).toEqual(['$: the schema must be a JSON object']);
    expect(checkSchema({ type: 'object' })).toEqual(["$: the top level must declare 'properties' (an object)"]);
  });

  test('min <= max, patterns compile, types are known, additionalProperties is boolean', () => {
    const problems = checkSchema({
      type: 'object',
      properties: {
        a: { type: 'number', minimum: 5, maximum: 1 },
        b: { type: 'string', minLength: 10, maxLength: 2, pattern: '([a-z' },
        c: { type: 'decimal' },
        d: { type: 'array', minItems: -1, items: [{ type: 'string' }] },
        e: { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
      },
    });
    expect(problems).toEqual(expect.arrayContaining([
      '$.properties.a: minimum (5) must be <= maximum (1)',
      '$.properties.b: minLength (10) must be <= maxLength (2)',
      expect.stringMatching(/^\$\.properties\.b\.pattern: does not compile/),
      expect.stringMatching(/^\$\.properties\.c\.type: unknown type "decimal"/),
      '$.properties.d.minItems: must be a non-negative integer',
      '$.properties.d.items: tuple form (an array of schemas) is not supported',
      '$.properties.e.additionalProperties: only true or false is supported (schemas are not)',
    ]));
    expect(problems).toHaveLength(7);
  });

  test('type arrays and nested objects are accepted', () => {
    expect(checkSchema({
      type: 'object',
      properties: {
        note: { type: ['string', 'null'], maxLength: 100 },
        parts: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }, maxItems: 10 },
        kind: { const: 'claim' },
      },
    })).toEqual([]);
  });

  test('too many top-level properties is reported', () => {
    const properties = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`p${i}`, { type: 'string' }]));
    expect(checkSchema({ type: 'object', properties })).toEqual(['$: at most 50 top-level properties are supported, got 51']);
  });
});

describe('validateValue with the claim schema', () => {
  test('a good answer has no errors', () => {
    expect(validateValue(CLAIM_SCHEMA, GOOD)).toEqual([]);
  });

  test('severity 7 is above the maximum', () => {
    expect(validateValue(CLAIM_SCHEMA, { ...GOOD, severity_score: 7 })).toEqual(['$.severity_score: must be <= 5, got 7']);
  });

  test('confidence 1.4 is above the maximum', () => {
    expect(validateValue(CLAIM_SCHEMA, { ...GOOD, confidence_score: 1.4 })).toEqual(['$.confidence_score: must be <= 1, got 1.4']);
  });

  test('a missing field is required', () => {
    const { estimated_cost: _omit, ...rest } = GOOD;
    expect(validateValue(CLAIM_SCHEMA, rest)).toEqual(['$.estimated_cost: is required']);
  });

  test('wrong types are reported with the value', () => {
    expect(validateValue(CLAIM_SCHEMA, { ...GOOD, estimated_cost: '1200', severity_score: 2.5 })).toEqual([
      '$.estimated_cost: must be number, got string "1200"',
      '$.severity_score: must be integer, got number 2.5',
    ]);
    expect(validateValue(CLAIM_SCHEMA, [GOOD])).toEqual(['$: must be object, got array']);
  });

  test('an extra property is refused when additionalProperties is false', () => {
    expect(validateValue(CLAIM_SCHEMA, { ...GOOD, notes: 'x' })).toEqual(['$.notes: is not allowed (additionalProperties is false)']);
    expect(validateValue({ ...CLAIM_SCHEMA, additionalProperties: true }, { ...GOOD, notes: 'x' })).toEqual([]);
  });

  test('enum values are enforced', () => {
    expect(validateValue(CLAIM_SCHEMA, { ...GOOD, damage_type: 'fire' })).toEqual([
      '$.damage_type: must be one of ["scratch","dent","broken_glass","structural","other"], got "fire"',
    ]);
  });
});

describe('validateValue keywords', () => {
  const schema = {
    type: 'object',
    properties: {
      code: { type: 'string', pattern: '^[A-Z]{3}-\\d+$', minLength: 5, maxLength: 8 },
      ratio: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
      tags: { type: 'array', minItems: 1, maxItems: 2, items: { type: 'string', maxLength: 3 } },
      nested: { type: 'object', properties: { 'odd key': { type: 'boolean' } }, required: ['odd key'] },
      kind: { const: 'claim' },
      maybe: { type: ['string', 'null'] },
    },
  };

  test('a good value passes', () => {
    expect(validateValue(schema, { code: 'ABC-12', ratio: 0.5, tags: ['a'], nested: { 'odd key': true }, kind: 'claim', maybe: null })).toEqual([]);
  });

  test('each keyword reports its violation with the path', () => {
    expect(validateValue(schema, {
      code: 'abc', ratio: 1, tags: ['a', 'bbbb', 'c'], nested: {}, kind: 'other', maybe: 3,
    })).toEqual([
      '$.code: must be at least 5 characters, got 3',
      '$.code: must match pattern /^[A-Z]{3}-\\d+$/, got "abc"',
      '$.ratio: must be < 1, got 1',
      '$.tags: must have at most 2 items, got 3',
      '$.tags[1]: must be at most 3 characters, got 4',
      '$.nested["odd key"]: is required',
      '$.kind: must be "claim", got "other"',
      '$.maybe: must be string or null, got number 3',
    ]);
    expect(validateValue(schema, { ratio: 0, tags: [] })).toEqual(['$.ratio: must be > 0, got 0', '$.tags: must have at least 1 items, got 0']);
  });

  test('string length counts code points', () => {
    expect(validateValue({ type: 'string', maxLength: 2 }, '😀😀')).toEqual([]);
  });

  test('at most 20 errors are returned', () => {
    const big = { type: 'object', properties: { xs: { type: 'array', items: { type: 'integer' } } } };
    const errors = validateValue(big, { xs: Array.from({ length: 100 }, () => 'no') });
    expect(errors).toHaveLength(MAX_VALIDATION_ERRORS);
    expect(errors[0]).toBe('$.xs[0]: must be integer, got string "no"');
  });
});

/**
 * The typed projection of DynamoDB GetItem tool results, done by the reasoner's digest mode where
 * the results already are (it was four Pass states per tool). The spec comes from the construct
 * (`AgentTool.dynamoDbGetItem`'s `attributes`, in the "Digest Tool Results" payload); the projected
 * result is what `$.tools.<name>` holds: every projected field present, null when the item or the
 * attribute is absent or the attribute has another type, N as a JSON number. Pure (no AWS client).
 */

/** The DynamoDB types a projection reads. */
export type ProjectedType = 'N' | 'S' | 'BOOL';

/** One field of a GetItem tool's result. */
export interface FieldProjection {
  /** The field name in `$.tools.<tool>`. */
  readonly field: string;
  /** The attribute it is read from. */
  readonly attribute: string;
  readonly type: ProjectedType;
}

/** Projection specs by tool name (GetItem tools only: the other tools' results pass as they are). */
export type ToolProjections = Record<string, readonly FieldProjection[]>;

const TYPES: readonly string[] = ['N', 'S', 'BOOL'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the projection specs of a digest payload; throws an error naming the path (a construct bug). */
export function parseToolProjections(value: unknown, where: string): ToolProjections {
  if (!isRecord(value)) throw new Error(`${where} must be an object`);
  const out = new Map<string, FieldProjection[]>();
  for (const [tool, spec] of Object.entries(value)) {
    if (!Array.isArray(spec) || spec.length === 0) throw new Error(`${where}.${tool} must be a non-empty array`);
    out.set(tool, spec.map((p, i) => {
      if (!isRecord(p) || typeof p.field !== 'string' || p.field === '' || typeof p.attribute !== 'string' || p.attribute === ''
        || typeof p.type !== 'string' || !TYPES.includes(p.type)) {
        throw new Error(`${where}.${tool}[${i}] must be { field, attribute, type: N | S | BOOL }`);
      }
      return { field: p.field, attribute: p.attribute, type: p.type as ProjectedType };
    }));
  }
  return Object.fromEntries(out);
}

/** One attribute value (DynamoDB JSON) as the projected type, or null. */
function typedValue(value: unknown, type: ProjectedType): string | number | boolean | null {
  if (!isRecord(value)) return null;
  const raw = value[type];
  switch (type) {
    case 'N': {
      if (typeof raw !== 'string' || raw.trim() === '') return null;
      const n = Number(raw);
      return Number.isFinite(n) ? n : null;
    }
    case 'S': return typeof raw === 'string' ? raw : null;
    default: return typeof raw === 'boolean' ? raw : null;
  }
}

/**
 * One GetItem result (`{ Item?, ... }` as the integration answers it, `Item` absent when there is
 * no such item) projected by its spec.
 */
export function projectItem(result: unknown, spec: readonly FieldProjection[]): Record<string, string | number | boolean | null> {
  const item = isRecord(result) && isRecord(result.Item) ? result.Item : {};
  const has = (k: string) => Object.prototype.hasOwnProperty.call(item, k);
  // fromEntries: a name such as "__proto__" stays an ordinary own property
  return Object.fromEntries(spec.map((p) => [p.field, has(p.attribute) ? typedValue(item[p.attribute], p.type) : null]));
}

/** The tool results with each GetItem tool's raw result replaced by its projection (in the same key order). */
export function projectToolResults(tools: Record<string, unknown>, projections: ToolProjections): Record<string, unknown> {
  const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
  const out = new Map<string, unknown>(Object.entries(tools)
    .map(([name, result]) => [name, has(projections, name) ? projectItem(result, projections[name]) : result]));
  for (const [name, spec] of Object.entries(projections)) if (!out.has(name)) out.set(name, projectItem(undefined, spec));
  return Object.fromEntries(out);
}

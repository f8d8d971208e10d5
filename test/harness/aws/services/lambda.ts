/**
 * The Lambda control plane on the wire (REST-JSON, signing name `lambda`, AWS_ENDPOINT_URL_LAMBDA),
 * as far as the version pruner needs it:
 * - ListVersionsByFunction `GET /2015-03-31/functions/{FunctionName}/versions?Marker&MaxItems`:
 *   `{ Versions: FunctionConfiguration[], NextMarker }`, `$LATEST` first, then `$LATEST.PUBLISHED`
 *   (a function on a capacity provider), then numbered versions in ascending order; MaxItems 1..10000
 *   (default 50), an opaque marker;
 * - ListAliases `GET /2015-03-31/functions/{FunctionName}/aliases?FunctionVersion&Marker&MaxItems`:
 *   `{ Aliases: AliasConfiguration[], NextMarker }` (with RoutingConfig.AdditionalVersionWeights);
 * - DeleteFunction `DELETE /2015-03-31/functions/{FunctionName}?Qualifier=N`: 204 with no body;
 *   without a qualifier the whole function goes;
 * - GetFunction `GET /2015-03-31/functions/{FunctionName}` (`{ Configuration, Code, Tags }`);
 * - ListFunctionVersionsByCapacityProvider `GET /2025-11-30/capacity-providers/{CapacityProviderName}/function-versions
 *   ?Marker&MaxItems`: `{ CapacityProviderArn, FunctionVersions: [{ FunctionArn, State }], NextMarker }`, the
 *   published versions (numbered and `$LATEST.PUBLISHED`; the fake's reading of "function versions that use the
 *   provider": the documentation does not say whether `$LATEST.PUBLISHED` is listed) of every function on the
 *   provider, whether or not a pruner knows it; ResourceNotFoundException 404 for a provider the fake does not hold.
 * FunctionName may be a name, a partial ARN (`123456789012:function:name`) or a full ARN, each with
 * an optional `:qualifier` suffix (path labels arrive percent-encoded).
 *
 * Errors as the service writes them (REST-JSON: the code in the `x-amzn-ErrorType` header, the
 * members of the service model in the body, which the SDK reads into the exception):
 * - ResourceNotFoundException 404 `{ Type: 'User', Message: 'Function not found: <arn>' }` (no such
 *   function; and no such version on DeleteFunction: the sources disagree there, an emulator answers
 *   204; the pruner accepts both);
 * - ResourceConflictException 409 `{ Type: 'User', message: 'Unable to delete version because the
 *   following aliases reference it: [live]' }` (a version an alias points to, primary or weighted);
 * - InvalidParameterValueException 400 `{ Type: 'User', message }` (`$LATEST` or `$LATEST.PUBLISHED`
 *   as the qualifier: "$LATEST version cannot be deleted without deleting the function."; an alias
 *   name: "Deletion of aliases is not currently supported."; a bad marker);
 * - TooManyRequestsException 429 `{ Reason: 'CallerRateLimitExceeded', Type: 'User', message: 'Rate
 *   exceeded' }` with a `Retry-After` header (the SDK reads it into retryAfterSeconds): inject with
 *   `throttle()`;
 * - ValidationException 400 `{ message }` (MaxItems outside 1..10000; not in the model: the SDK
 *   names the exception from the header).
 * The fake's own `log` records every request with the code it answered (the shared call log of the
 * wire server shows these answers as `HTTP <status>`).
 */
import { WireRequest, WireResponse, requestId } from '../protocols';
import { WIRE_ACCOUNT } from '../stack-model';
import { ServiceModule } from '../wire-server';

const API = '/2015-03-31/functions/';
const PROVIDERS = /^\/2025-11-30\/capacity-providers\/([^/]+)\/function-versions$/;
const REGION = 'us-east-1';

/** One alias the fake holds. */
export interface FakeAlias {
  name: string;
  functionVersion: string;
  /** Version -> weight (0..1). */
  additionalVersionWeights?: Record<string, number>;
  revisionId: string;
}

/** One function the fake holds. */
export interface FakeFunction {
  readonly name: string;
  readonly arn: string;
  readonly capacityProviderArn?: string;
  /** `$LATEST`, `$LATEST.PUBLISHED` (capacity provider functions) and the numbered versions. */
  readonly versions: Set<string>;
  nextVersion: number;
  readonly aliases: Map<string, FakeAlias>;
}

/** What a test gives to create a function. */
export interface CreateFunctionOptions {
  /** Attach it to a capacity provider (it then has `$LATEST.PUBLISHED`). @default none */
  readonly capacityProviderArn?: string;
  /** Numbered versions published at once (1..count). @default 0 */
  readonly versions?: number;
}

/** One request as the fake answered it. */
export interface LambdaRequestLog {
  readonly action: string;
  readonly functionName: string;
  readonly qualifier?: string;
  /** The Marker of a list call (absent on a first page). */
  readonly marker?: string;
  /** The error code answered, if any. */
  readonly error?: string;
}

class LambdaError extends Error {
  constructor(public readonly code: string, message: string, public readonly status: number, public readonly members: Record<string, unknown>,
    public readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

export class LambdaService implements ServiceModule {
  public readonly signingNames = ['lambda'];
  public readonly endpointEnvNames = ['LAMBDA'];
  public readonly protocol = 'rest-json' as const;
  public readonly log: LambdaRequestLog[] = [];
  private readonly functions = new Map<string, FakeFunction>();
  private readonly marks = new Map<string, number>();
  private readonly throttles: Array<{ action: string; left: number }> = [];
  private readonly hooks: Array<{ action: string; fn: (functionName: string, qualifier?: string) => void }> = [];

  public action(req: WireRequest): string {
    if (PROVIDERS.test(req.path) && req.method === 'GET') return 'ListFunctionVersionsByCapacityProvider';
    const rest = req.path.startsWith(API) ? req.path.slice(API.length) : undefined;
    if (rest === undefined) return `Unknown ${req.method} ${req.path}`;
    const parts = rest.split('/');
    if (parts.length === 1 && req.method === 'DELETE') return 'DeleteFunction';
    if (parts.length === 1 && req.method === 'GET') return 'GetFunction';
    if (parts.length === 2 && parts[1] === 'versions' && req.method === 'GET') return 'ListVersionsByFunction';
    if (parts.length === 2 && parts[1] === 'aliases' && req.method === 'GET') return 'ListAliases';
    return `Unknown ${req.method} ${req.path}`;
  }

  public decode(req: WireRequest): unknown {
    const provider = PROVIDERS.exec(req.path)?.[1];
    const input: Record<string, unknown> = provider ? { CapacityProviderName: decodeURIComponent(provider) } : { FunctionName: this.rawName(req) };
    for (const [k, v] of req.query) input[k] = v;
    return input;
  }

  // ---- test set-up ---------------------------------------------------------------------------

  /** Adds a function (and publishes `versions` numbered versions). */
  public createFunction(name: string, options: CreateFunctionOptions = {}): FakeFunction {
    const fn: FakeFunction = {
      name,
      arn: `arn:aws:lambda:${REGION}:${WIRE_ACCOUNT}:function:${name}`,
      capacityProviderArn: options.capacityProviderArn,
      versions: new Set(options.capacityProviderArn ? ['$LATEST', '$LATEST.PUBLISHED'] : ['$LATEST']),
      nextVersion: 1,
      aliases: new Map(),
    };
    this.functions.set(name, fn);
    this.publishVersions(name, options.versions ?? 0);
    return fn;
  }

  /** Publishes `count` numbered versions; returns their numbers. */
  public publishVersions(name: string, count: number): string[] {
    const fn = this.fn(name);
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const v = String(fn.nextVersion++);
      fn.versions.add(v);
      out.push(v);
    }
    return out;
  }

  /** Creates or moves an alias (another actor, between the pruner's listing and its deletes). */
  public setAlias(name: string, alias: string, functionVersion: string, additionalVersionWeights?: Record<string, number>): void {
    const fn = this.fn(name);
    for (const v of [functionVersion, ...Object.keys(additionalVersionWeights ?? {})]) {
      if (!fn.versions.has(v)) throw new Error(`LambdaService: ${name} has no version ${v}`);
    }
    fn.aliases.set(alias, { name: alias, functionVersion, additionalVersionWeights, revisionId: requestId() });
  }

  public hasFunction(name: string): boolean {
    return this.functions.has(name);
  }

  /** The function's versions: `$LATEST`, `$LATEST.PUBLISHED`, then numbered ones ascending. */
  public versionsOf(name: string): string[] {
    return sortVersions([...this.fn(name).versions]);
  }

  public fn(name: string): FakeFunction {
    const f = this.functions.get(name);
    if (!f) throw new Error(`LambdaService: no function ${name}`);
    return f;
  }

  /** The next `times` calls of an action answer TooManyRequestsException (429, Retry-After). */
  public throttle(action: string, times = 1): void {
    this.throttles.push({ action, left: times });
  }

  /** Runs `fn` once, just before the next call of an action is applied (another actor's change). */
  public beforeNext(action: string, fn: (functionName: string, qualifier?: string) => void): void {
    this.hooks.push({ action, fn });
  }

  /** Remembers where the request log is now (`since(name)` answers what came after). */
  public mark(name: string): void {
    this.marks.set(name, this.log.length);
  }

  /** The requests after `mark(name)` (all of them without a mark). */
  public since(name: string): LambdaRequestLog[] {
    return this.log.slice(this.marks.get(name) ?? 0);
  }

  // ---- requests ------------------------------------------------------------------------------

  public handle(req: WireRequest, action: string): WireResponse {
    const raw = this.rawName(req);
    const qualifier = req.query.get('Qualifier') ?? undefined;
    const marker = req.query.get('Marker') ?? undefined;
    try {
      const answer = this.answer(req, action, raw, qualifier);
      this.log.push({ action, functionName: raw, qualifier, marker });
      return answer;
    } catch (err) {
      if (!(err instanceof LambdaError)) throw err;
      this.log.push({ action, functionName: raw, qualifier, marker, error: err.code });
      return {
        status: err.status,
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': err.code, 'x-amzn-requestid': requestId(), ...err.headers },
        body: JSON.stringify(err.members),
      };
    }
  }

  private answer(req: WireRequest, action: string, raw: string, qualifierParam: string | undefined): WireResponse {
    if (action.startsWith('Unknown')) throw new LambdaError('UnknownOperationException', `${action} is not an operation of this fake`, 404, { message: action });
    const throttle = this.throttles.find((t) => t.action === action && t.left > 0);
    if (throttle) {
      throttle.left--;
      throw new LambdaError('TooManyRequestsException', 'Rate exceeded', 429,
        { Reason: 'CallerRateLimitExceeded', Type: 'User', message: 'Rate exceeded' }, { 'retry-after': '1' });
    }
    if (action === 'ListFunctionVersionsByCapacityProvider') return this.providerVersions(req);
    const ref = this.resolveName(raw, req.region || REGION);
    const hookIndex = this.hooks.findIndex((h) => h.action === action);
    if (hookIndex >= 0) this.hooks.splice(hookIndex, 1)[0].fn(ref.name, qualifierParam ?? ref.qualifier);
    const fn = this.functions.get(ref.name);
    const arn = `arn:aws:lambda:${REGION}:${WIRE_ACCOUNT}:function:${ref.name}`;
    if (!fn || ref.foreign) throw notFound(`Function not found: ${arn}`);
    switch (action) {
      case 'ListVersionsByFunction': {
        const page = this.page(req, sortVersions([...fn.versions]));
        return json({ Versions: page.items.map((v) => this.configuration(fn, v)), NextMarker: page.next });
      }
      case 'ListAliases': {
        const filter = req.query.get('FunctionVersion');
        const aliases = [...fn.aliases.values()].filter((a) => !filter || a.functionVersion === filter).sort((a, b) => a.name.localeCompare(b.name));
        const page = this.page(req, aliases);
        return json({ Aliases: page.items.map((a) => this.aliasConfiguration(fn, a)), NextMarker: page.next });
      }
      case 'GetFunction':
        return json({
          Configuration: this.configuration(fn, qualifierParam ?? ref.qualifier ?? '$LATEST'),
          Code: { RepositoryType: 'S3', Location: `https://awslambda-${REGION}-tasks.s3.${REGION}.amazonaws.com/snapshots/${WIRE_ACCOUNT}/${fn.name}` },
          Tags: {},
        });
      case 'DeleteFunction':
        return this.deleteFunction(fn, qualifierParam, ref.qualifier);
      default:
        throw new LambdaError('UnknownOperationException', `unknown operation ${action}`, 404, { message: action });
    }
  }

  private providerVersions(req: WireRequest): WireResponse {
    const name = decodeURIComponent(PROVIDERS.exec(req.path)![1]);
    const arn = `arn:aws:lambda:${REGION}:${WIRE_ACCOUNT}:capacity-provider:${name}`;
    const fns = [...this.functions.values()].filter((f) => f.capacityProviderArn === arn).sort((a, b) => a.name.localeCompare(b.name));
    if (fns.length === 0) throw notFound(`Capacity provider not found: ${arn}`);
    const versions = fns.flatMap((f) => sortVersions([...f.versions]).filter((v) => v !== '$LATEST').map((v) => ({ FunctionArn: `${f.arn}:${v}`, State: 'Active' })));
    const page = this.page(req, versions);
    return json({ CapacityProviderArn: arn, FunctionVersions: page.items, NextMarker: page.next });
  }

  private deleteFunction(fn: FakeFunction, param: string | undefined, fromName: string | undefined): WireResponse {
    if (param !== undefined && fromName !== undefined && param !== fromName) {
      throw invalid('The derived qualifier from the function name does not match the specified qualifier.');
    }
    const qualifier = param ?? fromName;
    if (qualifier === undefined || qualifier === '') {
      this.functions.delete(fn.name);
      return { status: 204, headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId() } };
    }
    if (qualifier === '$LATEST' || qualifier === '$LATEST.PUBLISHED') {
      throw invalid('$LATEST version cannot be deleted without deleting the function.');
    }
    if (!/^[0-9]+$/.test(qualifier)) {
      if (fn.aliases.has(qualifier)) throw invalid('Deletion of aliases is not currently supported.');
      throw notFound(`Function not found: ${fn.arn}:${qualifier}`);
    }
    if (!fn.versions.has(qualifier)) throw notFound(`Function not found: ${fn.arn}:${qualifier}`);
    const referencing = [...fn.aliases.values()]
      .filter((a) => a.functionVersion === qualifier || Object.keys(a.additionalVersionWeights ?? {}).includes(qualifier))
      .map((a) => a.name);
    if (referencing.length > 0) {
      throw new LambdaError('ResourceConflictException', 'alias', 409,
        { Type: 'User', message: `Unable to delete version because the following aliases reference it: [${referencing.join(', ')}]` });
    }
    fn.versions.delete(qualifier);
    return { status: 204, headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId() } };
  }

  private page<T>(req: WireRequest, items: T[]): { items: T[]; next?: string } {
    const maxParam = req.query.get('MaxItems');
    const max = maxParam === null ? 50 : Number(maxParam);
    if (!Number.isInteger(max) || max < 1 || max > 10000) {
      throw new LambdaError('ValidationException', 'validation', 400, {
        message: `1 validation error detected: Value '${maxParam}' at 'maxItems' failed to satisfy constraint: `
          + `Member must have value ${max < 1 ? 'greater than or equal to 1' : 'less than or equal to 10000'}`,
      });
    }
    const marker = req.query.get('Marker');
    let start = 0;
    if (marker) {
      const decoded = /^fake-marker:(\d+)$/.exec(Buffer.from(marker, 'base64').toString('utf8'));
      if (!decoded) throw invalid(`Invalid marker: ${marker}`);
      start = Number(decoded[1]);
    }
    const end = start + max;
    return { items: items.slice(start, end), next: end < items.length ? Buffer.from(`fake-marker:${end}`).toString('base64') : undefined };
  }

  private configuration(fn: FakeFunction, version: string): Record<string, unknown> {
    if (!fn.versions.has(version)) throw notFound(`Function not found: ${fn.arn}:${version}`);
    return {
      FunctionName: fn.name,
      FunctionArn: `${fn.arn}:${version}`,
      Runtime: 'nodejs24.x',
      Role: `arn:aws:iam::${WIRE_ACCOUNT}:role/${fn.name}-role`,
      Handler: 'index.handler',
      CodeSize: 1024,
      Description: '',
      Timeout: 30,
      MemorySize: 2048,
      LastModified: '2026-12-01T18:00:00.000+0000',
      CodeSha256: Buffer.from(`${fn.name}:${version}`).toString('base64'),
      Version: version,
      TracingConfig: { Mode: 'PassThrough' },
      RevisionId: `00000000-0000-4000-8000-${String(version.length).padStart(12, '0')}`,
      State: 'Active',
      PackageType: 'Zip',
      Architectures: ['arm64'],
      ...(fn.capacityProviderArn
        ? { CapacityProviderConfig: { LambdaManagedInstancesCapacityProviderConfig: { CapacityProviderArn: fn.capacityProviderArn } } }
        : {}),
    };
  }

  private aliasConfiguration(fn: FakeFunction, a: FakeAlias): Record<string, unknown> {
    return {
      AliasArn: `${fn.arn}:${a.name}`,
      Name: a.name,
      FunctionVersion: a.functionVersion,
      Description: '',
      ...(a.additionalVersionWeights ? { RoutingConfig: { AdditionalVersionWeights: a.additionalVersionWeights } } : {}),
      RevisionId: a.revisionId,
    };
  }

  /** A name, partial ARN or ARN, with an optional qualifier; another account or region is `foreign` (not found). */
  private resolveName(raw: string, region: string): { name: string; qualifier?: string; foreign: boolean } {
    const full = /^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([a-zA-Z0-9-_.]+)(?::([a-zA-Z0-9-_$.]+))?$/.exec(raw);
    if (full) return { name: full[3], qualifier: full[4], foreign: full[2] !== WIRE_ACCOUNT || full[1] !== region };
    const partial = /^(\d{12}):function:([a-zA-Z0-9-_.]+)(?::([a-zA-Z0-9-_$.]+))?$/.exec(raw);
    if (partial) return { name: partial[2], qualifier: partial[3], foreign: partial[1] !== WIRE_ACCOUNT };
    const plain = /^([a-zA-Z0-9-_.]+)(?::([a-zA-Z0-9-_$.]+))?$/.exec(raw);
    if (plain && plain[1].length <= 64) return { name: plain[1], qualifier: plain[2], foreign: false };
    throw new LambdaError('ValidationException', 'validation', 400, {
      message: `1 validation error detected: Value '${raw}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: `
        + '(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST(\\.PUBLISHED)?|[a-zA-Z0-9-_]+))?',
    });
  }

  private rawName(req: WireRequest): string {
    const provider = PROVIDERS.exec(req.path)?.[1];
    if (provider) return decodeURIComponent(provider);
    const rest = req.path.startsWith(API) ? req.path.slice(API.length) : '';
    return decodeURIComponent(rest.split('/')[0] ?? '');
  }
}

function sortVersions(versions: string[]): string[] {
  const rank = (v: string) => (v === '$LATEST' ? 0 : v === '$LATEST.PUBLISHED' ? 1 : 2);
  return versions.sort((a, b) => rank(a) - rank(b) || a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
}

function json(value: unknown): WireResponse {
  return { status: 200, headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId() }, body: JSON.stringify(value) };
}

function notFound(message: string): LambdaError {
  return new LambdaError('ResourceNotFoundException', message, 404, { Type: 'User', Message: message });
}

function invalid(message: string): LambdaError {
  return new LambdaError('InvalidParameterValueException', message, 400, { Type: 'User', message });
}

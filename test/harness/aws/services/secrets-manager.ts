/**
 * Secrets Manager on the wire (JSON 1.1, `X-Amz-Target: secretsmanager.<Action>`): secrets with
 * versions and staging labels, as the service keeps them:
 * - a secret is found by name, full ARN, or partial ARN (the ARN without the 6-character suffix);
 * - GetSecretValue reads AWSCURRENT unless VersionId and/or VersionStage say otherwise
 *   (`ResourceNotFoundException` when the secret, version or label is not there);
 * - PutSecretValue adds a version (ClientRequestToken is its id and makes the call idempotent) and
 *   moves the labels it names (AWSCURRENT by default; AWSPREVIOUS then follows the old current one);
 * - DescribeSecret lists VersionIdsToStages (versions that still have a label) and RotationEnabled;
 * - UpdateSecretVersionStage moves or removes one label (moving a label another version holds needs
 *   RemoveFromVersionId naming that version; moving AWSCURRENT moves AWSPREVIOUS to the version it left).
 * Test helpers create secrets and rotate them: `rotate()` gives a rotation's outcome at once (a new
 * AWSCURRENT, the old one AWSPREVIOUS); `startRotation()` does what RotateSecret does before it
 * invokes the rotation function (rotation enabled, a version id labelled AWSPENDING that holds no
 * value yet, which PutSecretValue with that ClientRequestToken fills), so a rotation function can
 * be driven through its steps.
 */
import * as crypto from 'crypto';
import { AwsError, jsonBody, jsonResponse, jsonTarget, WireRequest, WireResponse } from '../protocols';
import { ServiceModule } from '../wire-server';

/** One version of a secret. */
export interface SecretVersion {
  /** The version id (a UUID, or the ClientRequestToken it was written with). */
  readonly versionId: string;
  /** SecretString, when the value is text. */
  readonly secretString?: string;
  /** SecretBinary, when the value is bytes. */
  readonly secretBinary?: Buffer;
  /** Staging labels attached now (AWSCURRENT, AWSPREVIOUS, AWSPENDING, custom ones). */
  stages: string[];
  /** True for the AWSPENDING version a rotation starts with, until PutSecretValue gives it a value. */
  readonly empty?: boolean;
  /** When the version was created. */
  readonly created: Date;
}

/** One secret as the fake stores it. */
export interface StoredSecret {
  /** The secret name. */
  readonly name: string;
  /** The full ARN (`arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>`). */
  readonly arn: string;
  /** A description, if one was given. */
  readonly description?: string;
  /** Versions, oldest first. */
  readonly versions: SecretVersion[];
  /** When the secret was created. */
  readonly created: Date;
  /** When a value or label last changed. */
  lastChanged: Date;
  /** When GetSecretValue last read it (day resolution in AWS; exact here). */
  lastAccessed?: Date;
  /** Rotation configured (startRotation or enableRotation). */
  rotationEnabled?: boolean;
}

/** Options of the fake. */
export interface SecretsManagerServiceOptions {
  /** Region of ARNs made for secrets created by name. @default 'us-east-1' */
  readonly region?: string;
  /** Account of ARNs made for secrets created by name. @default '123456789012' */
  readonly account?: string;
}

/** Options of a secret created by a test. */
export interface CreateSecretOptions {
  /** @default - none */
  readonly description?: string;
  /** The id of the first version. @default - a random UUID */
  readonly versionId?: string;
}

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
const PENDING = 'AWSPENDING';
const SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function secretValue(value: string | Uint8Array): { secretString?: string; secretBinary?: Buffer } {
  return typeof value === 'string' ? { secretString: value } : { secretBinary: Buffer.from(value) };
}

function notFound(message = "Secrets Manager can't find the specified secret."): AwsError {
  return new AwsError('ResourceNotFoundException', message, 400);
}

const epochSeconds = (d: Date) => d.getTime() / 1000;

/** Secrets Manager (JSON 1.1), in memory. See the file comment for what it covers. */
export class SecretsManagerService implements ServiceModule {
  public readonly signingNames = ['secretsmanager'];
  public readonly endpointEnvNames = ['SECRETS_MANAGER'];
  public readonly protocol = 'json' as const;
  private readonly secrets: StoredSecret[] = [];
  private readonly region: string;
  private readonly account: string;

  constructor(options: SecretsManagerServiceOptions = {}) {
    this.region = options.region ?? 'us-east-1';
    this.account = options.account ?? '123456789012';
  }

  // --- seeding and inspection --------------------------------------------------------------------

  /**
   * Creates a secret whose first version is AWSCURRENT. `nameOrArn` is a name (an ARN with a random
   * suffix is made) or a full ARN (kept as is, so a template's resolved ARN finds it). Returns the ARN.
   */
  public createSecret(nameOrArn: string, value: string | Uint8Array, options: CreateSecretOptions = {}): string {
    let name: string;
    let arn: string;
    if (nameOrArn.startsWith('arn:')) {
      const m = /^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(.+)$/.exec(nameOrArn);
      if (!m) throw new Error(`SecretsManagerService: not a secret ARN: ${nameOrArn}`);
      arn = nameOrArn;
      name = /-[A-Za-z0-9]{6}$/.test(m[1]) ? m[1].slice(0, -7) : m[1];
    } else {
      name = nameOrArn;
      const suffix = Array.from(crypto.randomBytes(6), (b) => SUFFIX_CHARS[b % SUFFIX_CHARS.length]).join('');
      arn = `arn:aws:secretsmanager:${this.region}:${this.account}:secret:${name}-${suffix}`;
    }
    if (this.secrets.some((s) => s.name === name || s.arn === arn)) throw new Error(`SecretsManagerService: secret ${name} exists`);
    const now = new Date();
    this.secrets.push({
      name,
      arn,
      description: options.description,
      versions: [{ versionId: options.versionId ?? crypto.randomUUID(), ...secretValue(value), stages: [CURRENT], created: now }],
      created: now,
      lastChanged: now,
    });
    return arn;
  }

  /**
   * A rotation's outcome: a new version becomes AWSCURRENT, the old current one AWSPREVIOUS, and
   * AWSPENDING is removed. Returns the new version id.
   */
  public rotate(secretId: string, newValue: string | Uint8Array): string {
    const secret = this.find(secretId);
    if (!secret) throw new Error(`SecretsManagerService: no secret ${secretId}`);
    for (const v of secret.versions) v.stages = v.stages.filter((s) => s !== 'AWSPENDING');
    return this.addVersion(secret, crypto.randomUUID(), secretValue(newValue), [CURRENT]).versionId;
  }

  /**
   * What RotateSecret does before it invokes the rotation function: rotation enabled, and a new
   * version id labelled AWSPENDING without a value (the label leaves the version that had it).
   * Fails as RotateSecret does while another rotation is unfinished (AWSPENDING on a version that is
   * not AWSCURRENT). Returns the version id, the ClientRequestToken of every step.
   */
  public startRotation(secretId: string, versionId: string = crypto.randomUUID()): string {
    const secret = this.find(secretId);
    if (!secret) throw new Error(`SecretsManagerService: no secret ${secretId}`);
    const pending = secret.versions.find((v) => v.stages.includes(PENDING));
    if (pending && !pending.stages.includes(CURRENT)) {
      throw new Error(`SecretsManagerService: a rotation of ${secret.name} is in progress (version ${pending.versionId} is AWSPENDING)`);
    }
    secret.rotationEnabled = true;
    for (const v of secret.versions) v.stages = v.stages.filter((st) => st !== PENDING);
    secret.versions.push({ versionId, stages: [PENDING], created: new Date(), empty: true });
    secret.lastChanged = new Date();
    return versionId;
  }

  /** Marks rotation as configured or not (DescribeSecret RotationEnabled), as a rotation schedule does. */
  public enableRotation(secretId: string, enabled = true): void {
    const secret = this.find(secretId);
    if (!secret) throw new Error(`SecretsManagerService: no secret ${secretId}`);
    secret.rotationEnabled = enabled;
  }

  /** Removes a label from whichever version has it (e.g. the AWSPENDING version of a configuration test). */
  public removeStage(secretId: string, stage: string): void {
    const secret = this.find(secretId);
    if (!secret) throw new Error(`SecretsManagerService: no secret ${secretId}`);
    for (const v of secret.versions) v.stages = v.stages.filter((st) => st !== stage);
    secret.lastChanged = new Date();
  }

  /** Adds a version with the given labels (moved from the versions that had them), e.g. `['AWSPENDING']`. */
  public putVersion(secretId: string, value: string | Uint8Array, stages: string[], versionId: string = crypto.randomUUID()): string {
    const secret = this.find(secretId);
    if (!secret) throw new Error(`SecretsManagerService: no secret ${secretId}`);
    return this.addVersion(secret, versionId, secretValue(value), stages).versionId;
  }

  /** The secret (by name, ARN or partial ARN), or undefined. */
  public secret(secretId: string): StoredSecret | undefined {
    return this.find(secretId);
  }

  /** The version holding a label, or undefined. */
  public versionWithStage(secretId: string, stage: string): SecretVersion | undefined {
    return this.find(secretId)?.versions.find((v) => v.stages.includes(stage));
  }

  // --- the wire --------------------------------------------------------------------------------

  public action(req: WireRequest): string {
    return jsonTarget(req);
  }

  public decode(req: WireRequest): unknown {
    try {
      const body = jsonBody(req);
      // the call log never holds a secret value
      for (const k of ['SecretString', 'SecretBinary']) if (k in body) body[k] = '<redacted>';
      return body;
    } catch {
      return { unparsed: req.body.toString('utf8') };
    }
  }

  public handle(req: WireRequest, action: string): WireResponse {
    let body: any;
    try {
      body = jsonBody(req);
    } catch {
      throw new AwsError('SerializationException', 'The request body is not valid JSON', 400);
    }
    switch (action) {
      case 'GetSecretValue': return this.getSecretValue(body);
      case 'PutSecretValue': return this.putSecretValue(body);
      case 'DescribeSecret': return this.describeSecret(body);
      case 'UpdateSecretVersionStage': return this.updateSecretVersionStage(body);
    }
    throw new AwsError('UnknownOperationException', `SecretsManagerService: ${action} is not implemented`, 400);
  }

  private find(secretId: string): StoredSecret | undefined {
    return this.secrets.find((s) => s.arn === secretId)
      ?? (secretId.startsWith('arn:')
        ? this.secrets.find((s) => s.arn.length === secretId.length + 7 && s.arn.startsWith(`${secretId}-`))
        : this.secrets.find((s) => s.name === secretId));
  }

  private secretOrError(body: any): StoredSecret {
    const id = body.SecretId;
    if (typeof id !== 'string' || id === '' || id.length > 2048) {
      throw new AwsError('InvalidParameterException', 'Invalid SecretId: it must be a name or ARN of 1 to 2048 characters.', 400);
    }
    const secret = this.find(id);
    if (!secret) throw notFound();
    return secret;
  }

  private addVersion(
    secret: StoredSecret, versionId: string, value: { secretString?: string; secretBinary?: Buffer }, stages: string[],
  ): SecretVersion {
    const oldCurrent = secret.versions.find((v) => v.stages.includes(CURRENT));
    const version: SecretVersion = { versionId, ...value, stages: [], created: new Date() };
    secret.versions.push(version);
    this.moveStages(secret, version, stages, oldCurrent);
    return version;
  }

  /** Moves labels to `version`; when AWSCURRENT moves, AWSPREVIOUS goes to the version that had it. */
  private moveStages(secret: StoredSecret, version: SecretVersion, stages: string[], oldCurrent: SecretVersion | undefined): void {
    for (const stage of stages) {
      for (const v of secret.versions) if (v !== version) v.stages = v.stages.filter((s) => s !== stage);
      if (!version.stages.includes(stage)) version.stages.push(stage);
    }
    if (stages.includes(CURRENT) && oldCurrent && oldCurrent !== version) {
      for (const v of secret.versions) v.stages = v.stages.filter((s) => s !== PREVIOUS);
      oldCurrent.stages.push(PREVIOUS);
    }
    secret.lastChanged = new Date();
  }

  private getSecretValue(body: any): WireResponse {
    const secret = this.secretOrError(body);
    const versionId: unknown = body.VersionId;
    const stage: unknown = body.VersionStage;
    let version: SecretVersion | undefined;
    if (typeof versionId === 'string') {
      version = secret.versions.find((v) => v.versionId === versionId && !v.empty);
      if (!version) throw notFound(`Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
      if (typeof stage === 'string' && !version.stages.includes(stage)) {
        // the documented rule is "must refer to the same version"; the exact error AWS answers is not documented
        throw notFound(`Secrets Manager can't find the specified secret value for VersionId: ${versionId} and staging label: ${stage}`);
      }
    } else {
      const label = typeof stage === 'string' ? stage : CURRENT;
      version = secret.versions.find((v) => v.stages.includes(label) && !v.empty);
      if (!version) throw notFound(`Secrets Manager can't find the specified secret value for staging label: ${label}`);
    }
    secret.lastAccessed = new Date();
    return jsonResponse({
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      SecretString: version.secretString,
      SecretBinary: version.secretBinary?.toString('base64'),
      VersionStages: [...version.stages],
      CreatedDate: epochSeconds(version.created),
    });
  }

  private putSecretValue(body: any): WireResponse {
    const secret = this.secretOrError(body);
    const hasString = typeof body.SecretString === 'string';
    const hasBinary = typeof body.SecretBinary === 'string';
    if (hasString === hasBinary) {
      throw new AwsError('InvalidParameterException', 'You must provide either SecretString or SecretBinary, but not both.', 400);
    }
    const value = hasString ? { secretString: body.SecretString as string } : { secretBinary: Buffer.from(body.SecretBinary, 'base64') };
    const stages: string[] = Array.isArray(body.VersionStages) && body.VersionStages.length > 0 ? body.VersionStages : [CURRENT];
    const token: string = typeof body.ClientRequestToken === 'string' ? body.ClientRequestToken : crypto.randomUUID();
    if (token.length < 32 || token.length > 64) {
      throw new AwsError('InvalidParameterException', 'ClientRequestToken must be 32 to 64 characters long.', 400);
    }
    const existing = secret.versions.find((v) => v.versionId === token);
    let version: SecretVersion;
    if (existing?.empty) {
      // the version a rotation started: it gets its value (and the labels asked for)
      version = { versionId: existing.versionId, ...value, stages: existing.stages, created: existing.created };
      secret.versions[secret.versions.indexOf(existing)] = version;
      this.moveStages(secret, version, stages, secret.versions.find((v) => v.stages.includes(CURRENT)));
    } else if (existing) {
      const same = existing.secretString === value.secretString
        && (existing.secretBinary?.equals(value.secretBinary ?? Buffer.alloc(0)) ?? value.secretBinary === undefined);
      if (!same) throw new AwsError('ResourceExistsException', `A resource with the ID you requested already exists: version ${token} has another value.`, 400);
      // the same request again (a retry): ignored
      version = existing;
    } else {
      version = this.addVersion(secret, token, value, stages);
    }
    return jsonResponse({ ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] });
  }

  private updateSecretVersionStage(body: any): WireResponse {
    const secret = this.secretOrError(body);
    const stage: unknown = body.VersionStage;
    if (typeof stage !== 'string' || stage.length < 1 || stage.length > 256) {
      throw new AwsError('InvalidParameterException', 'VersionStage must be a staging label of 1 to 256 characters.', 400);
    }
    const moveTo: unknown = body.MoveToVersionId;
    const removeFrom: unknown = body.RemoveFromVersionId;
    const versionById = (id: unknown) => {
      const v = secret.versions.find((x) => x.versionId === id);
      if (!v) throw notFound(`Secrets Manager can't find the specified secret version: ${String(id)}`);
      return v;
    };
    const holder = secret.versions.find((v) => v.stages.includes(stage));
    if (typeof moveTo === 'string') {
      const target = versionById(moveTo);
      if (holder && holder !== target) {
        if (typeof removeFrom !== 'string') {
          throw new AwsError('InvalidParameterException', `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to `
            + `version ${holder.versionId}, so you must explicitly reference that version in RemoveFromVersionId.`, 400);
        }
        if (removeFrom !== holder.versionId) {
          throw new AwsError('InvalidParameterException', `The staging label ${stage} is attached to version ${holder.versionId}, not to ${removeFrom}.`, 400);
        }
      }
      if (holder !== target) this.moveStages(secret, target, [stage], secret.versions.find((v) => v.stages.includes(CURRENT)));
    } else if (typeof removeFrom === 'string') {
      const from = versionById(removeFrom);
      if (!from.stages.includes(stage)) {
        throw new AwsError('InvalidParameterException', `The staging label ${stage} is not attached to version ${removeFrom}.`, 400);
      }
      if (stage === CURRENT) throw new AwsError('InvalidParameterException', 'You can only move AWSCURRENT to another version, not remove it.', 400);
      from.stages = from.stages.filter((st) => st !== stage);
      secret.lastChanged = new Date();
    } else {
      throw new AwsError('InvalidParameterException', 'You must specify MoveToVersionId, RemoveFromVersionId, or both.', 400);
    }
    return jsonResponse({ ARN: secret.arn, Name: secret.name });
  }

  private describeSecret(body: any): WireResponse {
    const secret = this.secretOrError(body);
    const stages: Record<string, string[]> = {};
    for (const v of secret.versions) if (v.stages.length > 0) stages[v.versionId] = [...v.stages];
    return jsonResponse({
      ARN: secret.arn,
      Name: secret.name,
      Description: secret.description,
      RotationEnabled: secret.rotationEnabled === true,
      CreatedDate: epochSeconds(secret.created),
      LastChangedDate: epochSeconds(secret.lastChanged),
      LastAccessedDate: secret.lastAccessed ? epochSeconds(new Date(secret.lastAccessed.toISOString().slice(0, 10))) : undefined,
      VersionIdsToStages: stages,
    });
  }
}

/**
 * The HMAC link-signing keys: versions of a Secrets Manager secret, each named by its VersionId.
 *
 * A container reads AWSCURRENT (signs new links) and AWSPREVIOUS (still verifies links signed before
 * the last rotation) once per cache period (5 minutes). A link naming a version the container does
 * not hold is looked up by that VersionId, uncached: after a rotation a container that cached the
 * old keys meets links signed with the new one, and a link whose key a later rotation retired is
 * told apart from a forged one.
 */
import { GetSecretValueCommand, GetSecretValueCommandOutput, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { cachedValue, isKeyId, KeyLookup, MIN_KEY_LENGTH, SigningKey, SigningKeys, SigningKeySource } from './link-signing';

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
/** Secrets Manager version ids are 32 to 64 characters: a shorter or longer key id is not looked up. */
const VERSION_ID = /^[A-Za-z0-9_-]{32,64}$/;

export interface SigningKeyLoaderOptions {
  /** @default Date.now */
  readonly nowMs?: () => number;
  /** How long the current and previous keys are cached. @default 5 minutes */
  readonly ttlMs?: number;
  /** Read AWSPREVIOUS too (verifiers); a signer needs only AWSCURRENT. @default true */
  readonly previous?: boolean;
}

function isNotFound(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'ResourceNotFoundException';
}

function usable(res: GetSecretValueCommandOutput): boolean {
  return typeof res.SecretString === 'string' && res.SecretString.length >= MIN_KEY_LENGTH && isKeyId(res.VersionId);
}

/** The key of one version, checked: a SecretString of at least MIN_KEY_LENGTH characters, a URL-safe VersionId. */
function keyOf(res: GetSecretValueCommandOutput, what: string): SigningKey {
  const secret = res.SecretString;
  if (typeof secret !== 'string' || secret.length < MIN_KEY_LENGTH) {
    throw new Error(`the signing secret must hold a SecretString of at least ${MIN_KEY_LENGTH} characters (version ${what})`);
  }
  if (!isKeyId(res.VersionId)) {
    throw new Error(`the signing secret's ${what} version id ${JSON.stringify(res.VersionId)} cannot name a key in a link `
      + "(letters, digits, '-' and '_' only): put the value again without a custom ClientRequestToken");
  }
  return { kid: res.VersionId, secret };
}

/** Keys from the secret (see the file comment). Errors other than "no such version" propagate (the caller answers "try again"). */
export function signingKeyLoader(secrets: SecretsManagerClient, secretArn: string, options: SigningKeyLoaderOptions = {}): SigningKeySource {
  const known = cachedValue<SigningKeys>(async () => {
    const [current, previous] = await Promise.all([
      secrets.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: CURRENT })),
      // a secret that was never rotated has no AWSPREVIOUS
      (async () => {
        if (options.previous === false) return undefined;
        try {
          return await secrets.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: PREVIOUS }));
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      })(),
    ]);
    // a previous version that could not have signed a link (too short, or an id a link cannot name) is ignored
    const previousKey = previous && usable(previous) ? keyOf(previous, PREVIOUS) : undefined;
    return { current: keyOf(current, CURRENT), ...(previousKey ? { previous: previousKey } : {}) };
  }, options.nowMs, options.ttlMs);

  return {
    keys: known.get,
    lookup: async (kid: string): Promise<KeyLookup> => {
      if (!VERSION_ID.test(kid)) return { active: false };
      let res: GetSecretValueCommandOutput;
      try {
        res = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn, VersionId: kid }));
      } catch (err) {
        if (isNotFound(err)) return { active: false };
        throw err;
      }
      const stages = res.VersionStages ?? [];
      const active = stages.includes(CURRENT) || stages.includes(PREVIOUS);
      // the cached keys are out of date: the next call reads them again
      if (active) known.invalidate();
      if (typeof res.SecretString !== 'string' || res.SecretString.length < MIN_KEY_LENGTH) return { active: false };
      return { key: { kid, secret: res.SecretString }, active };
    },
  };
}

/** The HMAC link-signing key: the SecretString of a Secrets Manager secret, cached per container. */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { cachedSecret, MIN_KEY_LENGTH } from './link-signing';

/** A loader that reads the key once per cache period (5 minutes) and checks its length. */
export function signingKeyLoader(secrets: SecretsManagerClient, secretArn: string): () => Promise<string> {
  return cachedSecret(async () => {
    const res = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
    const value = res.SecretString;
    if (typeof value !== 'string' || value.length < MIN_KEY_LENGTH) {
      throw new Error(`the signing secret must hold a SecretString of at least ${MIN_KEY_LENGTH} characters`);
    }
    return value;
  });
}

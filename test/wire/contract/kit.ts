/**
 * What every contract suite shares: the credentials its real SDK clients sign with (the wire server
 * reads only the credential scope), and how a failed call is looked at.
 */

import { WIRE_CREDENTIALS } from '../../harness/aws/lambda-runner';

/** Fake credentials for the SDK clients of a contract suite (the ones handlers get on the wire layer). */
export const CONTRACT_CREDENTIALS = { accessKeyId: WIRE_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: WIRE_CREDENTIALS.AWS_SECRET_ACCESS_KEY };

/** The outcome of a call expected to fail: the exception's name, its HTTP status, the exception. */
export async function failureOf(p: Promise<unknown>): Promise<{ name: string; status?: number; error?: unknown }> {
  try {
    await p;
    return { name: 'no error' };
  } catch (error) {
    return { name: (error as Error).name, status: (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, error };
  }
}

/** The exception a call must throw (fails the test when it succeeds). */
export async function rejectionOf<E>(promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (err) {
    return err as E;
  }
  throw new Error('expected the call to fail');
}

/**
 * What every contract suite shares: the credentials its real SDK clients sign with (the wire server
 * reads only the credential scope), and how a failed call is looked at.
 */

/** Fake credentials for the SDK clients of a contract suite. */
export const CONTRACT_CREDENTIALS = { accessKeyId: 'AKIDWIRETEST00000000', secretAccessKey: 'x' };

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

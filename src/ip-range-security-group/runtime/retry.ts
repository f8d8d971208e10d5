/** Retries of throttled AWS calls, and the error helpers every target adapter uses. No AWS client here. */

const THROTTLING = new Set([
  'RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'WAFInternalErrorException',
  'ProvisionedThroughputExceededException',
]);

/** Retries throttled calls with exponential backoff and full jitter. */
export async function withRetry<T>(
  deps: { readonly sleep: (ms: number) => Promise<void> }, _operation: string, fn: () => Promise<T>, attempts = 6,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const name = (err as { name?: string }).name ?? '';
      if (!THROTTLING.has(name) || attempt >= attempts) throw err;
      const cap = Math.min(20_000, 200 * 2 ** attempt);
      await deps.sleep(Math.floor(Math.random() * cap));
    }
  }
}

/** The SDK error name (`InvalidPermission.Duplicate`...), or ''. */
export function errorName(err: unknown): string {
  return (err as { name?: string })?.name ?? '';
}

/** `Name: message` of an error, for logs and audit records. */
export function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

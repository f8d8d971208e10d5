/**
 * Retries of throttled AWS calls for handlers that call AWS in loops (the SDK's own retries are
 * kept short there). No AWS client here.
 */
import type { StructuredLog } from './log';

/** The error names AWS services answer a throttled call with. */
export const THROTTLING_ERROR_NAMES: ReadonlySet<string> = new Set([
  'RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'WAFInternalErrorException',
  'ProvisionedThroughputExceededException',
]);

/** What withRetry is given: a clock to sleep on, and where it logs each retry (tests inject both). */
export interface RetryDeps {
  readonly sleep: (ms: number) => Promise<void>;
  /** Each retry is a `warn` line naming the operation, the attempt, the error and the delay. */
  readonly log?: StructuredLog;
  /** A number in [0, 1) for the jitter. @default Math.random */
  readonly random?: () => number;
}

/**
 * Runs `fn`, retrying throttled calls with exponential backoff and full jitter (a delay drawn from
 * 0..min(20 s, 200 ms * 2^attempt)), at most `attempts` calls in all. Any other error, and the last
 * throttling one, is thrown as it came.
 * @param operation the call, as retry log lines name it (`AuthorizeSecurityGroupIngress`)
 */
export async function withRetry<T>(deps: RetryDeps, operation: string, fn: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const name = errorName(err);
      if (!THROTTLING_ERROR_NAMES.has(name) || attempt >= attempts) throw err;
      const cap = Math.min(20_000, 200 * 2 ** attempt);
      const delayMs = Math.floor((deps.random ?? Math.random)() * cap);
      deps.log?.warn('throttled AWS call, retrying', { operation, attempt, attempts, error: name, delayMs });
      await deps.sleep(delayMs);
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

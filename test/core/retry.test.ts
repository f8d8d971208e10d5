import { describeError, errorName, THROTTLING_ERROR_NAMES, withRetry } from '../../src/core/runtime/retry';

function awsError(name: string): Error {
  const err = new Error(`${name} happened`);
  err.name = name;
  return err;
}

function deps() {
  const lines: Array<{ level: string; message: string; extra?: Record<string, unknown> }> = [];
  const sleeps: number[] = [];
  const log = {
    info: (message: string, extra?: Record<string, unknown>) => lines.push({ level: 'info', message, extra }),
    warn: (message: string, extra?: Record<string, unknown>) => lines.push({ level: 'warn', message, extra }),
    error: (message: string, extra?: Record<string, unknown>) => lines.push({ level: 'error', message, extra }),
  };
  return { lines, sleeps, deps: { log, sleep: async (ms: number) => { sleeps.push(ms); }, random: () => 0.5 } };
}

describe('withRetry', () => {
  test('retries throttled calls; each retry is a structured log line naming the operation', async () => {
    const d = deps();
    let calls = 0;
    const result = await withRetry(d.deps, 'AuthorizeSecurityGroupIngress', async () => {
      calls++;
      if (calls < 3) throw awsError('RequestLimitExceeded');
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(d.lines).toEqual([
      { level: 'warn', message: 'throttled AWS call, retrying', extra: { operation: 'AuthorizeSecurityGroupIngress', attempt: 1, attempts: 6, error: 'RequestLimitExceeded', delayMs: 200 } },
      { level: 'warn', message: 'throttled AWS call, retrying', extra: { operation: 'AuthorizeSecurityGroupIngress', attempt: 2, attempts: 6, error: 'RequestLimitExceeded', delayMs: 400 } },
    ]);
    // Full jitter: a delay drawn from 0..min(20 s, 200 ms x 2^attempt); random() = 0.5 gives the middle.
    expect(d.sleeps).toEqual([200, 400]);
  });

  test('a non-throttling error is thrown at once, not retried nor logged', async () => {
    const d = deps();
    let calls = 0;
    await expect(withRetry(d.deps, 'RevokeSecurityGroupIngress', async () => {
      calls++;
      throw awsError('InvalidPermission.NotFound');
    })).rejects.toThrow('InvalidPermission.NotFound happened');
    expect(calls).toBe(1);
    expect(d.lines).toEqual([]);
    expect(d.sleeps).toEqual([]);
  });

  test('at most `attempts` calls: the last throttling error is thrown as it came', async () => {
    const d = deps();
    let calls = 0;
    const last = awsError('ThrottlingException');
    await expect(withRetry(d.deps, 'GetIPSet', async () => {
      calls++;
      throw calls === 4 ? last : awsError('ThrottlingException');
    }, 4)).rejects.toBe(last);
    expect(calls).toBe(4);
    expect(d.lines.map((l) => l.extra?.attempt)).toEqual([1, 2, 3]);
  });

  test('the delay cap is 20 s', async () => {
    const d = deps();
    d.deps.random = () => 0.999999;
    await expect(withRetry(d.deps, 'PutItem', async () => { throw awsError('ProvisionedThroughputExceededException'); }, 9)).rejects.toThrow();
    expect(Math.max(...d.sleeps)).toBeLessThan(20_000);
    expect(d.sleeps[d.sleeps.length - 1]).toBe(19_999);
  });

  test('without a log it still retries', async () => {
    let calls = 0;
    await withRetry({ sleep: async () => undefined }, 'GetItem', async () => {
      if (++calls < 2) throw awsError('Throttling');
    });
    expect(calls).toBe(2);
  });

  test('the throttling names and the error helpers', () => {
    expect([...THROTTLING_ERROR_NAMES]).toEqual(expect.arrayContaining(['RequestLimitExceeded', 'ThrottlingException', 'WAFInternalErrorException']));
    expect(errorName(awsError('X'))).toBe('X');
    expect(errorName(undefined)).toBe('');
    expect(describeError(awsError('X'))).toBe('X: X happened');
    expect(describeError('plain')).toBe('plain');
  });
});

/**
 * The progress events the handlers send (runtime/progress-events.ts): the entry is the definition's
 * progress state's event key for key, the payload's request is checked, and sending is best effort.
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { minimalProps, newStack } from './workflow-fixtures';
import { InputValidation, StepFunctionsAgentWorkflow } from '../../src';
import {
  failedEntries, parseProgressRequest, PROGRESS, PROGRESS_DETAIL_TYPE, progressEntry, readProgressConfig, sendProgress,
} from '../../src/agent-workflow/runtime/progress-events';
import { definitionFromTemplate } from '../harness/sfn-local';

const CONFIG = { eventBusName: 'claims-bus', eventSource: 'cdk-production-patterns.agent-workflow', workflowName: 'insurance-claims' };
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:Claims:claim-1';
const NOW = new Date('2026-12-01T10:00:00.000Z');
const OK = { FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }, { EventId: 'e-2' }], $metadata: {} };

function recorder(answer: (input: any) => Promise<any> = async () => OK) {
  const calls: any[] = [];
  const errors: Array<[string, Record<string, unknown> | undefined]> = [];
  const sender = {
    config: CONFIG,
    putEvents: async (input: any) => {
      calls.push(input);
      return answer(input);
    },
    log: { error: (message: string, extra?: Record<string, unknown>) => errors.push([message, extra]) },
    now: () => NOW,
  };
  return { sender, calls, errors };
}

describe('progressEntry', () => {
  test('the event of the definition\'s progress states, key for key (a custom validator keeps "Progress Started": compared with it)', () => {
    const stack = newStack();
    const fn = new lambda.Function(stack, 'MyValidator', {
      runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    });
    new StepFunctionsAgentWorkflow(stack, 'W', minimalProps(stack, { validation: InputValidation.lambdaFunction(fn), workflowName: 'insurance-claims' }));
    const stateEntry = definitionFromTemplate(Template.fromStack(stack)).States['Progress Started'].Parameters.Entries[0];
    const entry = progressEntry(CONFIG, EXECUTION, PROGRESS.started, '2026-12-01T09:59:58.000Z');
    expect(entry.DetailType).toBe(stateEntry.DetailType);
    expect(entry.DetailType).toBe(PROGRESS_DETAIL_TYPE);
    expect(entry.Source).toBe(stateEntry.Source);
    const detail = JSON.parse(entry.Detail!);
    expect(Object.keys(detail)).toEqual(Object.keys(stateEntry.Detail).map((k) => k.replace(/\.\$$/, '')));
    expect(detail).toEqual({ ...stateEntry.Detail, 'executionId.$': undefined, 'at.$': undefined, 'executionId': EXECUTION, 'at': '2026-12-01T09:59:58.000Z' });
    expect(detail).toEqual({ workflow: 'insurance-claims', executionId: EXECUTION, step: 'started', status: 'RUNNING', percent: 0, at: '2026-12-01T09:59:58.000Z' });
    expect(entry.EventBusName).toBe('claims-bus');
  });
});

describe('readProgressConfig / parseProgressRequest', () => {
  test('the configuration comes from EVENT_BUS_NAME, EVENT_SOURCE, WORKFLOW_NAME; a missing one is named', () => {
    expect(readProgressConfig({ EVENT_BUS_NAME: 'b', EVENT_SOURCE: 's', WORKFLOW_NAME: 'w' })).toEqual({ eventBusName: 'b', eventSource: 's', workflowName: 'w' });
    expect(() => readProgressConfig({ EVENT_BUS_NAME: 'b', WORKFLOW_NAME: 'w' })).toThrow(/EVENT_SOURCE/);
  });

  test('absent means "the definition sends this event itself"; a malformed request is an error naming the field', () => {
    expect(parseProgressRequest(undefined, 'event.progress')).toBeUndefined();
    expect(parseProgressRequest({ executionId: EXECUTION }, 'event.progress')).toEqual({ executionId: EXECUTION });
    expect(parseProgressRequest({ executionId: EXECUTION, startedAt: '2026-12-01T09:59:58.000Z' }, 'event.progress'))
      .toEqual({ executionId: EXECUTION, startedAt: '2026-12-01T09:59:58.000Z' });
    expect(() => parseProgressRequest({ executionId: '' }, 'event.progress')).toThrow('event.progress.executionId must be a non-empty string');
    expect(() => parseProgressRequest({ executionId: EXECUTION, startedAt: 'yesterday' }, 'event.progress')).toThrow('event.progress.startedAt');
    expect(() => parseProgressRequest('yes', 'event.progress')).toThrow('event.progress must be an object');
  });
});

describe('sendProgress: one call per report, best effort', () => {
  test('every milestone in one PutEvents call; `at` defaults to the clock', async () => {
    const { sender, calls, errors } = recorder();
    await sendProgress(sender, { executionId: EXECUTION }, [{ milestone: PROGRESS.started, at: '2026-12-01T09:59:58.000Z' }, { milestone: PROGRESS.validated }]);
    expect(calls).toHaveLength(1);
    expect(calls[0].Entries.map((e: any) => JSON.parse(e.Detail))).toEqual([
      expect.objectContaining({ step: 'started', status: 'RUNNING', percent: 0, at: '2026-12-01T09:59:58.000Z' }),
      expect.objectContaining({ step: 'validation', status: 'VALID', percent: 20, at: NOW.toISOString() }),
    ]);
    expect(errors).toEqual([]);
  });

  test('nothing is sent when the payload did not ask, or without a sender', async () => {
    const { sender, calls } = recorder();
    await sendProgress(sender, undefined, [{ milestone: PROGRESS.reasoned }]);
    await sendProgress(undefined, { executionId: EXECUTION }, [{ milestone: PROGRESS.reasoned }]);
    expect(calls).toEqual([]);
  });

  test('a failed call is logged as a structured error, never thrown', async () => {
    const { sender, errors } = recorder(async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    });
    await expect(sendProgress(sender, { executionId: EXECUTION }, [{ milestone: PROGRESS.toolsDone }])).resolves.toBeUndefined();
    expect(errors).toEqual([['progress events could not be sent', {
      executionId: EXECUTION, steps: ['tools'], error: 'ThrottlingException', errorMessage: 'Rate exceeded',
    }]]);
  });

  test('a failed entry (FailedEntryCount) is logged with its step and error code', async () => {
    const { sender, errors } = recorder(async () => ({ FailedEntryCount: 1, Entries: [{ EventId: 'e-1' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }] }));
    await sendProgress(sender, { executionId: EXECUTION }, [{ milestone: PROGRESS.started }, { milestone: PROGRESS.validated }]);
    expect(errors).toEqual([['a progress event was not accepted', { executionId: EXECUTION, step: 'validation', errorCode: 'InternalFailure', errorMessage: 'boom' }]]);
  });

  test('failedEntries: the failed entries by index; a count without entries is reported as unknown', () => {
    expect(failedEntries(2, OK)).toEqual([]);
    expect(failedEntries(2, { FailedEntryCount: 1, Entries: [{ ErrorCode: 'X', ErrorMessage: 'y' }, { EventId: 'e' }], $metadata: {} }))
      .toEqual([{ index: 0, errorCode: 'X', errorMessage: 'y' }]);
    expect(failedEntries(2, { FailedEntryCount: 2, $metadata: {} })).toEqual([{ index: -1, errorCode: 'unknown' }]);
  });
});

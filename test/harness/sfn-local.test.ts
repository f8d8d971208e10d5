import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { definitionFromTemplate, runLocal } from './sfn-local';

function sampleMachine(): any {
  const stack = new Stack();
  const fn = new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  const score = tasks.LambdaInvoke.jsonPath(stack, 'Score', {
    lambdaFunction: fn,
    payloadResponseOnly: true,
    resultPath: '$.score',
  });
  score.addRetry({ errors: ['Throttled'], maxAttempts: 3, interval: Duration.seconds(2), backoffRate: 2 });
  const failed = new sfn.Pass(stack, 'RecordFailure', { result: sfn.Result.fromString('FAILED'), resultPath: '$.outcome' });
  score.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
  const wait = new sfn.Wait(stack, 'Cooldown', { time: sfn.WaitTime.duration(Duration.hours(1)) });
  const decide = new sfn.Choice(stack, 'HighScore?')
    .when(sfn.Condition.numberGreaterThan('$.score.value', 5), new sfn.Pass(stack, 'High', { result: sfn.Result.fromString('HIGH'), resultPath: '$.outcome' }))
    .otherwise(new sfn.Fail(stack, 'Low', { error: 'LowScore', cause: 'score too low' }));
  const machine = new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(score.next(wait).next(decide)),
  });
  machine.node.addDependency(failed);
  return definitionFromTemplate(Template.fromStack(stack));
}

describe('runLocal (aws-local-stepfunctions over a synthesized definition)', () => {
  const definition = sampleMachine();

  test('replaces CloudFormation references with fake ARNs', () => {
    expect(definition.States.Score.Resource).toMatch(/^arn:aws:local:us-east-1:123456789012:Fn/);
  });

  test('walks the success path with a stubbed task and reports path and transitions', async () => {
    const result = await runLocal(definition, { id: 'a' }, { tasks: { Score: () => ({ value: 9 }) } });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({ id: 'a', score: { value: 9 }, outcome: 'HIGH' });
    expect(result.path).toEqual(['Score', 'Cooldown', 'HighScore?', 'High']);
    expect(result.transitions).toBe(4);
  });

  test('reports a Fail state as FAILED with its error', async () => {
    const result = await runLocal(definition, {}, { tasks: { Score: () => ({ value: 1 }) } });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('LowScore');
    expect(result.path[result.path.length - 1]).toBe('Low');
  });

  test('retries on a named error, then succeeds', async () => {
    let calls = 0;
    const result = await runLocal(definition, {}, {
      tasks: {
        Score: () => {
          calls++;
          if (calls <= 2) throw Object.assign(new Error('slow down'), { name: 'Throttled' });
          return { value: 7 };
        },
      },
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.retries.Score).toBe(2);
    expect(calls).toBe(3);
    // billed transitions: each state entered once, plus one per retry
    expect(result.transitions).toBe(result.path.length + 2);
  });

  test('a Catch routes other errors', async () => {
    const result = await runLocal(definition, {}, { tasks: { Score: () => { throw new Error('boom'); } } });
    expect(result.path).toContain('RecordFailure');
    expect(result.output.outcome).toBe('FAILED');
  });

  test('measures the largest payload', async () => {
    const big = 'x'.repeat(50_000);
    const result = await runLocal(definition, { big }, { tasks: { Score: () => ({ value: 9 }) } });
    expect(result.maxPayloadBytes).toBeGreaterThan(50_000);
    expect(result.maxPayloadBytes).toBeLessThan(51_000);
  });

  test('a task without a stub fails loudly', async () => {
    const result = await runLocal(definition, {}, {});
    expect(result.status).toBe('SUCCEEDED'); // caught by the States.ALL catch...
    expect(JSON.stringify(result.output.error)).toMatch(/No local stub for Task state 'Score'/);
  });
});

describe('States.JsonToString answers valid JSON, as in Step Functions (the interpreter strips backslashes: worked around)', () => {
  /** A caught error whose Cause is itself JSON (a Lambda error), kept whole as the audit records keep it. */
  function causeMachine(): any {
    const stack = new Stack();
    const fn = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    });
    const call = tasks.LambdaInvoke.jsonPath(stack, 'Call', { lambdaFunction: fn, payloadResponseOnly: true });
    const details = new sfn.Pass(stack, 'Details', { parameters: { 'cause.$': 'States.JsonToString($.error)' } });
    call.addCatch(details, { resultPath: '$.error' });
    new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(call) });
    return definitionFromTemplate(Template.fromStack(stack));
  }

  test('the JSON text of an error whose Cause holds quotes and backslashes parses back to the error', async () => {
    const cause = JSON.stringify({ errorType: 'Boom', errorMessage: 'bad "value" at C:\\claims\\x.jpg', trace: ['at "handler"'] });
    const result = await runLocal(causeMachine(), {}, {
      tasks: { Call: () => { throw Object.assign(new Error(cause), { name: 'Boom' }); } },
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output.cause)).toEqual({ Error: 'Boom', Cause: cause });
    expect(JSON.parse(JSON.parse(result.output.cause).Cause).errorMessage).toBe('bad "value" at C:\\claims\\x.jpg');
  });
});

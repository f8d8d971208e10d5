/**
 * Executes a state-machine definition taken from a synthesized template, locally, with
 * aws-local-stepfunctions. Task results are stubbed by state name; CloudFormation references in the
 * definition are replaced by fake ARNs.
 */
import * as fs from 'fs';
import { dirname } from 'path';
import { Template } from 'aws-cdk-lib/assertions';
// aws-local-stepfunctions calls Promise.withResolvers (Node 22+); scripts outside jest need the polyfill too.
import '../setup/polyfills';

type LocalSfn = typeof import('aws-local-stepfunctions', { with: { 'resolution-mode': 'import' } });

/** The interpreter's States.JsonToString, whose string result its base class strips of every backslash. */
const JSON_TO_STRING_QUIRK = `  execute(json) {
    return JSON.stringify(json);
  }
};`;
/** The same, answering JSON.stringify's output as it is (argument parsing and checks as in the base class). */
const JSON_TO_STRING_FIXED = `  execute(json) {
    return JSON.stringify(json);
  }
  call(input, context, ...args) {
    const parsedArgs = parseArguments(input, context, ...args);
    validateArguments(this.funcDefinition, ...parsedArgs);
    return this.execute(...parsedArgs);
  }
};`;

/**
 * aws-local-stepfunctions 3.0, loaded with one quirk fixed so that a local run matches Step Functions.
 *
 * The quirk: every intrinsic function's string result has its backslashes removed
 * (`result.replaceAll("\\", "")` in BaseIntrinsicFunction.call, meant to undo the `\'` and `\{`
 * escapes of string literals), so `States.JsonToString` of a value that holds a JSON string (an
 * error's Cause, as the audit records' `cause` attribute takes it) answers invalid JSON such as
 * `{"Error":"X","Cause":"{"errorMessage":"..."}"}`; Step Functions answers valid JSON. The package's
 * CommonJS build is compiled here with States.JsonToString returning JSON.stringify's output as it
 * is; the definition stays as deployed. (States.Format still strips backslashes from its result.)
 * The package's own dependencies are loaded by the caller's `require` (jest's registry in tests).
 */
function loadLocalSfn(): LocalSfn {
  const file = require.resolve('aws-local-stepfunctions');
  const source = fs.readFileSync(file, 'utf8');
  if (source.split(JSON_TO_STRING_QUIRK).length !== 2) {
    throw new Error(`sfn-local: States.JsonToString not found as expected in ${file}: review the JsonToString workaround after an upgrade`);
  }
  const dir = dirname(file);
  const mod: { exports: any } = { exports: {} };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const requireFromPackage = (id: string) => require(require.resolve(id, { paths: [dir] }));
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const compiled = new Function('exports', 'require', 'module', '__filename', '__dirname', source.replace(JSON_TO_STRING_QUIRK, JSON_TO_STRING_FIXED));
  compiled(mod.exports, requireFromPackage, mod, file, dir);
  return mod.exports as LocalSfn;
}

const localSfn: LocalSfn = loadLocalSfn();

export const FAKE_ACCOUNT = '123456789012';
export const FAKE_REGION = 'us-east-1';

export type TaskHandler = (input: any) => any | Promise<any>;

export interface LocalRunOptions {
  /** Stub for each Task state, by state name. A stub that throws an Error whose `name` is set raises that ASL error. */
  readonly tasks?: Record<string, TaskHandler>;
  /** Context object (e.g. `{ Task: { Token: 'tok' } }`), merged over a default `Execution`, `State` and `StateMachine`. */
  readonly context?: Record<string, unknown>;
  /** Milliseconds to wait in Wait states, by name (default 0 for every Wait state). */
  readonly waitMs?: Record<string, number>;
  /** Milliseconds between retries, by state name (default 0 for every retrying state). */
  readonly retryMs?: Record<string, number | number[]>;
}

export interface LocalRunResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: any;
  readonly error?: string;
  readonly cause?: unknown;
  /** Names of the states entered, in order (Map/Parallel children included). */
  readonly path: string[];
  /** State transitions, counted as Step Functions bills them (one per state entered, plus one per retry). */
  readonly transitions: number;
  /** Retries performed, by state name. */
  readonly retries: Record<string, number>;
  /** Largest state input or output seen, in UTF-8 bytes (the 256 KiB limit applies to these). */
  readonly maxPayloadBytes: number;
  /** The state whose input or output was the largest. */
  readonly maxPayloadState?: string;
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': FAKE_REGION,
  'AWS::AccountId': FAKE_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'LocalStack',
  'AWS::NoValue': '',
};

/** Replaces a CloudFormation intrinsic with a plausible fake string. */
export function fakeIntrinsic(value: any): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    if ('Ref' in value) return PSEUDO[value.Ref] ?? `arn:aws:local:${FAKE_REGION}:${FAKE_ACCOUNT}:${value.Ref}`;
    if ('Fn::GetAtt' in value) {
      const [id, attr] = Array.isArray(value['Fn::GetAtt']) ? value['Fn::GetAtt'] : String(value['Fn::GetAtt']).split('.');
      return `arn:aws:local:${FAKE_REGION}:${FAKE_ACCOUNT}:${id}/${attr}`;
    }
    if ('Fn::Join' in value) {
      const [sep, parts] = value['Fn::Join'];
      return (parts as any[]).map(fakeIntrinsic).join(sep);
    }
    if ('Fn::Select' in value) {
      const [index, list] = value['Fn::Select'];
      return Array.isArray(list) ? fakeIntrinsic(list[index]) : `select-${index}`;
    }
  }
  throw new Error(`Cannot fake CloudFormation value ${JSON.stringify(value)}`);
}

/**
 * Returns the ASL definition of a state machine in a template (the only one, or the one whose logical
 * id starts with `logicalIdPrefix`), with CloudFormation references replaced by fake ARNs.
 */
export function definitionFromTemplate(template: Template, logicalIdPrefix?: string): any {
  const machines = Object.entries<any>(template.findResources('AWS::StepFunctions::StateMachine'))
    .filter(([id]) => !logicalIdPrefix || id.startsWith(logicalIdPrefix));
  if (machines.length !== 1) {
    throw new Error(`Expected exactly one state machine${logicalIdPrefix ? ` matching ${logicalIdPrefix}` : ''}, found ${machines.length}`);
  }
  const props = machines[0][1].Properties;
  const raw = props.DefinitionString ?? props.Definition;
  const text = typeof raw === 'string' ? raw : typeof raw === 'object' && !('Fn::Join' in raw) ? JSON.stringify(raw) : fakeIntrinsic(raw);
  let substituted = text;
  for (const [key, val] of Object.entries<any>(props.DefinitionSubstitutions ?? {})) {
    substituted = substituted.split('${' + key + '}').join(fakeIntrinsic(val));
  }
  return JSON.parse(substituted);
}

function bytes(value: unknown): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Runs a definition locally and reports the outcome, the path taken and the largest payload. */
export async function runLocal(definition: any, input: any, options: LocalRunOptions = {}): Promise<LocalRunResult> {
  const stateNames = collectStateNames(definition);
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number | number[]> = {};
  for (const [name, type] of stateNames) {
    if (type === 'Wait') waitTimeOverrides[name] = options.waitMs?.[name] ?? 0;
    retryIntervalOverrides[name] = options.retryMs?.[name] ?? 0;
  }
  const machine = new localSfn.StateMachine(definition, { validationOptions: { checkArn: false } });
  const tasks: Record<string, TaskHandler> = {};
  for (const [name, type] of stateNames) {
    if (type !== 'Task') continue;
    const stub = options.tasks?.[name];
    tasks[name] = async (taskInput: any) => {
      if (!stub) throw new Error(`No local stub for Task state '${name}'`);
      return stub(taskInput);
    };
  }
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers: tasks, waitTimeOverrides, retryIntervalOverrides },
    context: { ...defaultContext(), ...options.context } as any,
  });

  const path: string[] = [];
  const retries: Record<string, number> = {};
  let maxPayloadBytes = bytes(input);
  let maxPayloadState: string | undefined = '(execution input)';
  let status: LocalRunResult['status'] = 'FAILED';
  let output: any;
  let error: string | undefined;
  let cause: unknown;
  const consume = (async () => {
    for await (const ev of execution.eventLogs as AsyncGenerator<any>) {
      const stateName: string | undefined = ev.state?.name;
      if (ev.type === 'StateEntered') path.push(stateName!);
      if (ev.type === 'StateRetried') retries[stateName!] = (retries[stateName!] ?? 0) + 1;
      for (const payload of [ev.state?.input, ev.state?.output]) {
        const n = bytes(payload);
        if (n > maxPayloadBytes) {
          maxPayloadBytes = n;
          maxPayloadState = stateName;
        }
      }
      if (ev.type === 'ExecutionSucceeded') {
        status = 'SUCCEEDED';
        output = ev.output;
      }
      if (ev.type === 'ExecutionFailed') {
        error = ev.Error;
        cause = ev.Cause;
      }
    }
  })();
  try {
    output = await execution.result;
    status = 'SUCCEEDED';
  } catch (err: any) {
    status = 'FAILED';
    error = error ?? err?.name;
    cause = cause ?? err?.message;
  }
  await consume;
  if (bytes(output) > maxPayloadBytes) {
    maxPayloadBytes = bytes(output);
    maxPayloadState = '(execution output)';
  }
  const transitions = path.length + Object.values(retries).reduce((a, b) => a + b, 0);
  return { status, output, error, cause, path, transitions, retries, maxPayloadBytes, maxPayloadState };
}

/**
 * The context object fields the interpreter does not fill itself: the execution, and a fixed
 * `State.EnteredTime` (every state "enters" at the execution start time locally).
 */
function defaultContext(): Record<string, unknown> {
  const start = '2026-01-01T00:00:00.000Z';
  return {
    Execution: { Id: `arn:aws:states:${FAKE_REGION}:${FAKE_ACCOUNT}:execution:local:local-run`, Name: 'local-run', StartTime: start },
    State: { EnteredTime: start, Name: 'local', RetryCount: 0 },
    StateMachine: { Id: `arn:aws:states:${FAKE_REGION}:${FAKE_ACCOUNT}:stateMachine:local`, Name: 'local' },
  };
}

function collectStateNames(definition: any, into = new Map<string, string>()): Map<string, string> {
  for (const [name, state] of Object.entries<any>(definition.States ?? {})) {
    into.set(name, state.Type);
    for (const branch of state.Branches ?? []) collectStateNames(branch, into);
    if (state.Iterator) collectStateNames(state.Iterator, into);
    if (state.ItemProcessor) collectStateNames(state.ItemProcessor, into);
  }
  return into;
}

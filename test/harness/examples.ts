/**
 * Shared by the examples runner (scripts/run-examples.ts) and the example tests (test/examples.test.ts,
 * test/wire/examples-deploy.test.ts): discover example apps, synthesize one with cdk-nag, and check
 * its templates against the AWS Control Tower proactive controls with the example's acknowledgements.
 * Dependencies point one way: scripts/ and examples/<app>/simulate.ts import test/harness/, and
 * test/harness/ loads only the apps (examples/<app>/app.ts) and their acknowledgements
 * (examples/<app>/control-tower.ts, which import only types from here), never scripts/ or a simulate.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, AppProps } from 'aws-cdk-lib';
import {
  acknowledgedCount, checkControlTower, ControlAcknowledgement, ControlFailure, failedCount, mergeFailures, unacknowledged, unusedAcknowledgements,
} from './control-tower';
import { NagFinding, runNag } from './nag';

export const EXAMPLES_DIR = path.resolve(__dirname, '..', '..', 'examples');

export interface ExampleApp {
  readonly name: string;
  readonly dir: string;
  readonly appFile: string;
  readonly simulateFile?: string;
  /** examples/<name>/control-tower.ts: the Control Tower controls the example fails by choice, with the reasons. */
  readonly controlTowerFile?: string;
}

/** Every examples/<name>/app.ts, sorted by name. */
export function discoverExamples(dir: string = EXAMPLES_DIR): ExampleApp[] {
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, 'app.ts')))
    .map((d) => {
      const simulate = path.join(dir, d.name, 'simulate.ts');
      const controlTower = path.join(dir, d.name, 'control-tower.ts');
      return {
        name: d.name,
        dir: path.join(dir, d.name),
        appFile: path.join(dir, d.name, 'app.ts'),
        simulateFile: fs.existsSync(simulate) ? simulate : undefined,
        controlTowerFile: fs.existsSync(controlTower) ? controlTower : undefined,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export interface SynthResult {
  readonly stacks: number;
  readonly resources: number;
  readonly nagErrors: NagFinding[];
  readonly nagWarnings: NagFinding[];
  /** Error annotations (e.g. from aspects) that `cdk synth` would fail on. */
  readonly annotationErrors: string[];
  /** The synthesized templates (one per stack), for the Control Tower check. */
  readonly templateFiles: string[];
  readonly seconds: number;
}

/** Loads examples/<name>/app.ts, calls its `createApp`, synthesizes into `outdir` and runs cdk-nag. */
export function synthExample(example: ExampleApp, outdir: string): SynthResult {
  const started = process.hrtime.bigint();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(example.appFile) as { createApp?: (props?: AppProps) => App };
  if (typeof mod.createApp !== 'function') {
    throw new Error(`${example.appFile} must export createApp(props?: AppProps): App`);
  }
  const app = mod.createApp({ outdir });
  const assembly = app.synth();
  const findings = runNag(app);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let resources = 0;
  const annotationErrors: string[] = [];
  const templateFiles: string[] = [];
  for (const stack of assembly.stacks) {
    templateFiles.push(stack.templateFullPath);
    resources += Object.keys((stack.template as { Resources?: object }).Resources ?? {}).length;
    for (const m of stack.messages) {
      if (m.level === 'error') annotationErrors.push(`${m.id}: ${String(m.entry.data)}`);
    }
  }
  return {
    stacks: assembly.stacks.length,
    resources,
    nagErrors: findings.filter((f) => f.severity === 'error'),
    nagWarnings: findings.filter((f) => f.severity === 'warning'),
    annotationErrors,
    templateFiles,
    seconds,
  };
}

/** The example's Control Tower acknowledgements (`CONTROL_TOWER_ACKNOWLEDGEMENTS` of examples/<name>/control-tower.ts; none without the file). */
export function controlTowerAcknowledgements(example: ExampleApp): ControlAcknowledgement[] {
  if (!example.controlTowerFile) return [];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const acks = (require(example.controlTowerFile) as { CONTROL_TOWER_ACKNOWLEDGEMENTS?: unknown }).CONTROL_TOWER_ACKNOWLEDGEMENTS;
  if (!Array.isArray(acks)) throw new Error(`${example.controlTowerFile} must export CONTROL_TOWER_ACKNOWLEDGEMENTS: ControlAcknowledgement[]`);
  return acks as ControlAcknowledgement[];
}

export interface ExampleControlTowerResult {
  /** Rules files evaluated per template. */
  readonly evaluated: number;
  /** Every failed control of the app's templates (merged over its stacks). */
  readonly failures: ControlFailure[];
  /** Failed (control, resource) pairs. */
  readonly failed: number;
  /** Of those, the ones an acknowledgement covers. */
  readonly acknowledged: number;
  /** What no acknowledgement covers: fails the run. */
  readonly unacknowledged: ControlFailure[];
  /** Acknowledgements (or prefixes of them) that match no failure: fail the run too. */
  readonly stale: ControlAcknowledgement[];
  readonly seconds: number;
}

/** Runs the Control Tower rules once per template of a synthesized example and applies its acknowledgements. */
export function checkExampleControlTower(example: ExampleApp, templateFiles: string[]): ExampleControlTowerResult {
  const started = process.hrtime.bigint();
  const acks = controlTowerAcknowledgements(example);
  const reports = templateFiles.map((f) => checkControlTower(f));
  const failures = mergeFailures(reports);
  return {
    evaluated: Math.max(0, ...reports.map((r) => r.evaluated)),
    failures,
    failed: failedCount(failures),
    acknowledged: acknowledgedCount(failures, acks),
    unacknowledged: unacknowledged(failures, acks),
    stale: unusedAcknowledgements(failures, acks),
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}

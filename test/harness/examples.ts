/**
 * Shared by the examples runner (scripts/run-examples.ts) and the example tests (test/examples.test.ts,
 * test/wire/examples-deploy.test.ts): discover example apps and synthesize one with cdk-nag.
 * Dependencies point one way: scripts/ and examples/<app>/simulate.ts import test/harness/, and
 * test/harness/ loads only the apps (examples/<app>/app.ts), never scripts/ or a simulate.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, AppProps } from 'aws-cdk-lib';
import { NagFinding, runNag } from './nag';

export const EXAMPLES_DIR = path.resolve(__dirname, '..', '..', 'examples');

export interface ExampleApp {
  readonly name: string;
  readonly dir: string;
  readonly appFile: string;
  readonly simulateFile?: string;
}

/** Every examples/<name>/app.ts, sorted by name. */
export function discoverExamples(dir: string = EXAMPLES_DIR): ExampleApp[] {
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, 'app.ts')))
    .map((d) => {
      const simulate = path.join(dir, d.name, 'simulate.ts');
      return {
        name: d.name,
        dir: path.join(dir, d.name),
        appFile: path.join(dir, d.name, 'app.ts'),
        simulateFile: fs.existsSync(simulate) ? simulate : undefined,
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
  for (const stack of assembly.stacks) {
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
    seconds,
  };
}

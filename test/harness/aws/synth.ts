/**
 * Synthesizes a stack (or an example app) into a temporary cloud assembly and returns its
 * StackModel: the template and the staged handler assets, the files CloudFormation would deploy.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { StackModel } from './stack-model';

const created: string[] = [];
let cleanupRegistered = false;

/**
 * A fresh temporary output folder for an App (`new App({ outdir: tempOutdir('name') })`), removed
 * when the process exits.
 */
export function tempOutdir(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wire-${name}-`));
  created.push(dir);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.once('exit', () => {
      for (const d of created) fs.rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

/** Synthesizes `app` and models one of its stacks (the only one when `stackName` is not given). */
export function modelOf(app: App, stackName?: string, parameters?: Record<string, string>): StackModel {
  const assembly = app.synth();
  const stacks = stackName ? [assembly.getStackByName(stackName)] : assembly.stacks;
  if (stacks.length !== 1) throw new Error(`modelOf: expected one stack, found ${stacks.map((s) => s.stackName).join(', ')}`);
  return new StackModel(stacks[0].template, { assemblyDir: assembly.directory, stackName: stacks[0].stackName, parameters });
}

/** Synthesizes a stack's app and models the stack. */
export function modelOfStack(stack: Stack, parameters?: Record<string, string>): StackModel {
  return modelOf(stack.node.root as App, stack.stackName, parameters);
}

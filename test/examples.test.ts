import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatFindings } from './harness/nag';
import { discoverExamples, synthExample } from '../scripts/examples-lib';

// One test per example app, discovered from examples/*/app.ts (not listed by hand).
const examples = discoverExamples();

test('at least one example app is discovered', () => {
  expect(examples.map((e) => e.name)).toContain('persistent-artifacts');
});

describe.each(examples.map((e) => [e.name, e] as const))('example %s', (_name, example) => {
  test('synthesizes offline with no unsuppressed cdk-nag errors and no error annotations', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `example-${example.name}-`));
    try {
      const result = synthExample(example, outdir);
      expect(result.stacks).toBeGreaterThan(0);
      expect(result.resources).toBeGreaterThan(0);
      if (result.nagErrors.length) throw new Error(`cdk-nag errors:\n${formatFindings(result.nagErrors)}`);
      expect(result.annotationErrors).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

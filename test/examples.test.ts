import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { discoverExamples, synthExample } from './harness/examples';
import { formatFindings } from './harness/nag';
import { exampleContext } from '../examples/shared/example-env';

// A synth with cdk-nag of the largest example takes 5-25 s on two busy cores.
jest.setTimeout(90_000);

// One test per example app, discovered from examples/*/app.ts (not listed by hand).
const examples = discoverExamples();

test('at least one example app is discovered', () => {
  expect(examples.map((e) => e.name)).toContain('persistent-artifacts');
});

describe.each(examples.map((e) => [e.name, e] as const))('example %s', (_name, example) => {
  test('cdk.json carries the feature flags createApp synthesizes with (`cdk synth` and the tests agree)', () => {
    // exampleContext() is aws-cdk-lib's CURRENTLY_RECOMMENDED_FLAGS, the set `cdk init` writes. After an
    // aws-cdk-lib upgrade changes it, copy the new set into every examples/<app>/cdk.json.
    const cdkJson = JSON.parse(fs.readFileSync(path.join(example.dir, 'cdk.json'), 'utf8'));
    expect(cdkJson.context).toEqual(exampleContext());
  });

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

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatAcknowledgements, formatFailures } from './harness/control-tower';
import { checkExampleControlTower, discoverExamples, ExampleControlTowerResult, SynthResult, synthExample } from './harness/examples';
import { formatFindings } from './harness/nag';
import { exampleContext } from '../examples/shared/example-env';

// A synth with cdk-nag of the largest example takes 5-25 s on two busy cores; the Control Tower rules
// (one cfn-guard run per template) 2-8 s more.
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

  // One synth per example, shared by the tests below; one cfn-guard run on its templates.
  let outdir: string;
  let synth: SynthResult | undefined;
  let controlTower: ExampleControlTowerResult | undefined;
  const synthesized = (): SynthResult => {
    if (!synth) {
      outdir = fs.mkdtempSync(path.join(os.tmpdir(), `example-${example.name}-`));
      synth = synthExample(example, outdir);
    }
    return synth;
  };
  const checked = (): ExampleControlTowerResult => {
    controlTower ??= checkExampleControlTower(example, synthesized().templateFiles);
    return controlTower;
  };
  afterAll(() => {
    if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
  });

  test('synthesizes offline with no unsuppressed cdk-nag errors and no error annotations', () => {
    const result = synthesized();
    expect(result.stacks).toBeGreaterThan(0);
    expect(result.resources).toBeGreaterThan(0);
    if (result.nagErrors.length) throw new Error(`cdk-nag errors:\n${formatFindings(result.nagErrors)}`);
    expect(result.annotationErrors).toEqual([]);
  });

  test('fails no AWS Control Tower proactive control it does not acknowledge (examples/<app>/control-tower.ts)', () => {
    const result = checked();
    expect(result.evaluated).toBeGreaterThan(200);
    if (result.unacknowledged.length) {
      throw new Error(`${result.unacknowledged.length} failed control(s) not acknowledged in ${example.name}/control-tower.ts:\n${formatFailures(result.unacknowledged)}`);
    }
    expect(result.acknowledged).toBe(result.failed);
  });

  test('acknowledges no Control Tower control it passes (no stale acknowledgement)', () => {
    const result = checked();
    if (result.stale.length) {
      throw new Error(`stale acknowledgement(s) in ${example.name}/control-tower.ts (the template passes, or the resource was renamed):\n`
        + formatAcknowledgements(result.stale));
    }
    expect(result.stale).toEqual([]);
  });
});

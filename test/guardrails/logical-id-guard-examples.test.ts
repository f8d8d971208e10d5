import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, AppProps } from 'aws-cdk-lib';
import { LogicalIdGuard } from '../../src';
import { discoverExamples } from '../harness/examples';

// A synth of the largest example takes 5-20 s on two busy cores.
jest.setTimeout(120_000);

// Every examples/<app>/app.ts, discovered (not listed by hand): a new example must add the guard and its lock.
const examples = discoverExamples();

test('the examples are discovered', () => {
  expect(examples.map((e) => e.name)).toEqual(expect.arrayContaining(['ci-runner-ingress', 'insurance-claims', 'order-fulfillment', 'persistent-artifacts']));
});

describe.each(examples.map((e) => [e.name, e] as const))('example %s', (name, example) => {
  const lockFile = path.join(example.dir, 'logical-ids.lock.json');

  test('createApp guards the app with examples/<app>/logical-ids.lock.json, and its committed lock matches the synth byte for byte', () => {
    if (!fs.existsSync(lockFile)) {
      throw new Error(`examples/${name}/logical-ids.lock.json is missing. Add to createApp: `
        + 'LogicalIdGuard.of(app, { lockFile: `${__dirname}/logical-ids.lock.json` }); then write the lock with\n'
        + `  npx ts-node --transpile-only --project tsconfig.dev.json -e "require('./examples/${name}/app').createApp({ `
        + `outdir: '/tmp/${name}.out', context: { '${LogicalIdGuard.MODE_CONTEXT_KEY}': 'update' } }).synth()"\nand commit it.`);
    }
    const before = fs.readFileSync(lockFile);
    const mtime = fs.statSync(lockFile).mtimeMs;
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `logical-ids-${name}-`));
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createApp } = require(example.appFile) as { createApp: (props?: AppProps) => App };
      // VERIFY: the guard never writes here; an outdated lock or a replacement fails the synth with the reasons.
      const app = createApp({ outdir, context: { [LogicalIdGuard.MODE_CONTEXT_KEY]: 'verify' } });
      const guard = LogicalIdGuard.of(app);
      expect(guard.lockFile).toBe(lockFile);
      app.synth();
      expect(guard.renderLock()).toBe(before.toString('utf8'));
      expect(Object.keys(JSON.parse(before.toString('utf8')).stacks).length).toBeGreaterThan(0);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
    // The committed file is left as it was (CI checks that the build changes no tracked file).
    expect(fs.readFileSync(lockFile).equals(before)).toBe(true);
    expect(fs.statSync(lockFile).mtimeMs).toBe(mtime);
  });
});

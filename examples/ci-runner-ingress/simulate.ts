/**
 * Local simulation: synthesizes this app, reads each sync function's configuration from the template
 * (as the deployed function would get it), and runs the real sync handler against an in-memory EC2 /
 * WAF / DynamoDB (SDK clients mocked) with the real published documents in ../shared/data, one
 * published version after another. Prints the rules it writes and the calls it makes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createApp } from './app';
import { parseSyncConfig, SyncConfig } from '../../src/ip-range-security-group/runtime/config';
import { SyncDeps } from '../../src/ip-range-security-group/runtime/engine';
import { handle } from '../../src/ip-range-security-group/runtime/sync.lambda';
import { fakeIntrinsic } from '../../test/harness/sfn-local';
import { SHARED_DATA_DIR } from '../../test/harness/shared-data';
import { FakeAws } from '../../test/ip-range-security-group/fake-aws';

const AWS_VERSIONS = ['1784747826', '1784760425', '1784768825'];
const META_VERSIONS = ['meta-2025-07-21T16-30-27Z.json', 'meta-2025-07-21T21-00-29Z.json'];

function configsFromTemplate(): Record<string, SyncConfig> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ci-runner-ingress-'));
  const assembly = createApp({ outdir }).synth();
  const template = assembly.stacks[0].template as { Resources: Record<string, any> };
  const configs: Record<string, SyncConfig> = {};
  for (const [logicalId, res] of Object.entries(template.Resources)) {
    const vars = res.Type === 'AWS::Lambda::Function' ? res.Properties.Environment?.Variables : undefined;
    if (!vars?.SYNC_ID) continue;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(vars)) env[k] = fakeIntrinsic(v);
    configs[logicalId] = parseSyncConfig(env);
  }
  fs.rmSync(outdir, { recursive: true, force: true });
  return configs;
}

function short(id: string): string {
  return id.replace(/^arn:aws:local:[^:]+:\d+:/, '').replace(/\/.*$/, '');
}

function depsFor(fake: FakeAws, served: Map<string, Buffer>): SyncDeps {
  return {
    ec2: fake.ec2,
    waf: fake.waf,
    ddb: fake.ddb,
    fetchBytes: async (url) => {
      const body = served.get(url);
      if (!body) throw new Error(`no document served for ${url}`);
      return body;
    },
    sleep: async () => undefined,
    now: () => new Date(),
    log: { info: () => undefined, warn: (m) => console.log(`    warn: ${m}`), error: (m, e) => console.log(`    error: ${m} ${JSON.stringify(e)}`) },
    metrics: { count: () => undefined, milliseconds: () => undefined },
  };
}

async function main(): Promise<void> {
  const configs = configsFromTemplate();
  const served = new Map<string, Buffer>();
  const awsMessages: Array<{ file: string; message: Record<string, string> }> = JSON.parse(fs.readFileSync(path.join(SHARED_DATA_DIR, 'aws-ip-ranges', 'sns-messages.json'), 'utf8'));
  let failures = 0;

  for (const [logicalId, config] of Object.entries(configs)) {
    const fake = new FakeAws();
    const t = config.target;
    if (t.kind === 'securityGroups') t.groupIds.forEach((g) => fake.addGroup(g));
    if (t.kind === 'prefixList') t.lists.forEach((l) => fake.addPrefixList(l.id, l.maxEntries));
    if (t.kind === 'wafIpSet') t.sets.forEach((s) => fake.addIpSet(s.id, s.name, t.scope));
    const deps = depsFor(fake, served);
    const source = config.sources[0];
    console.log(`\n## ${logicalId}: ${source.kind} ${(source.services ?? []).join(',')} -> ${t.kind}`);

    const steps = source.kind === 'aws'
      ? AWS_VERSIONS.map((v) => ({ label: `ip-ranges ${v}`, file: path.join(SHARED_DATA_DIR, 'aws-ip-ranges', `ip-ranges-${v}.json`), event: { Records: [{ Sns: { Message: JSON.stringify(awsMessages.find((m) => m.file === `ip-ranges-${v}.json`)!.message) } }] } }))
      : META_VERSIONS.map((f) => ({ label: f, file: path.join(SHARED_DATA_DIR, 'github-meta', f), event: { 'source': 'aws.events', 'detail-type': 'Scheduled Event' } }));
    for (const step of [...steps, { ...steps[steps.length - 1], label: `${steps[steps.length - 1].label} (again)` }]) {
      served.set(source.url, fs.readFileSync(step.file));
      const before = fake.mutatingCalls();
      try {
        const outcome = await handle(step.event, config, deps);
        console.log(`  ${step.label}: ${outcome!.status}; desired ${outcome!.desired.ipv4} IPv4 + ${outcome!.desired.ipv6} IPv6; +${outcome!.added.length} -${outcome!.removed.length}; ${fake.mutatingCalls() - before} mutating call(s)`);
        for (const a of outcome!.added.slice(0, 4)) console.log(`      + ${short(a.split(' ')[0])} ${a.split(' ').slice(1).join(' ')}`);
        if (outcome!.added.length > 4) console.log(`      + ... ${outcome!.added.length - 4} more`);
        for (const r of outcome!.removed.slice(0, 4)) console.log(`      - ${short(r.split(' ')[0])} ${r.split(' ').slice(1).join(' ')}`);
      } catch (err) {
        failures++;
        console.log(`  ${step.label}: FAILED ${(err as Error).message}`);
      }
    }
    if (t.kind === 'securityGroups') console.log(`  rules per group: ${t.groupIds.map((g) => `${short(g)}=${fake.cidrsIn(g).length}`).join(' ')}`);
    if (t.kind === 'prefixList') console.log(`  entries: ${t.lists.map((l) => `${l.family}=${fake.prefixLists.get(l.id)!.entries.length}/${l.maxEntries}`).join(' ')}`);
    if (t.kind === 'wafIpSet') console.log(`  addresses: ${t.sets.map((s) => `${s.family}=${fake.ipSets.get(s.id)!.addresses.length}`).join(' ')}`);
  }
  if (failures) throw new Error(`${failures} simulated sync(s) failed`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

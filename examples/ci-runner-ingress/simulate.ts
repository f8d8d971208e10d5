/**
 * Local simulation on the wire layer: synthesizes this app, "deploys" it offline (DynamoDB tables
 * in dynalite, security groups, prefix lists and WAF IP sets in local EC2 / WAFv2 services that
 * speak the AWS protocols), and runs each sync function as its bundled asset (the file CloudFormation
 * deploys, with the environment the template gives it and the real AWS SDK clients) through the
 * initial-sync custom resource, then one published document version after another: AWS
 * ip-ranges.json by SNS notification, GitHub meta by schedule. Prints the rules it writes and the
 * calls it makes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createApp } from './app';
import { OfflineStack } from '../../test/harness/aws/offline-stack';
import { modelOf, tempOutdir } from '../../test/harness/aws/synth';
import { WireEnvironment } from '../../test/harness/aws/wire-environment';
import { SHARED_DATA_DIR } from '../../test/harness/shared-data';

const AWS_VERSIONS = ['1784747826', '1784760425', '1784768825'];
const META_VERSIONS = ['meta-2025-07-21T16-30-27Z.json', 'meta-2025-07-21T21-00-29Z.json'];
const MUTATING = new Set(['AuthorizeSecurityGroupIngress', 'RevokeSecurityGroupIngress', 'ModifyManagedPrefixList', 'UpdateIPSet']);

async function main(): Promise<void> {
  const model = modelOf(createApp({ outdir: tempOutdir('ci-runner-ingress') }));
  const awsMessages: Array<{ file: string; message: Record<string, string> }> = JSON.parse(fs.readFileSync(path.join(SHARED_DATA_DIR, 'aws-ip-ranges', 'sns-messages.json'), 'utf8'));
  let failures = 0;

  for (const cr of model.customResources().filter((c) => c.type === 'Custom::IpRangeSync')) {
    const env = await WireEnvironment.start();
    const stack = new OfflineStack(env, model);
    try {
      await stack.provision();
      const fn = model.serviceTokenFunction(cr.logicalId);
      const lambda = stack.lambda(fn);
      const source = JSON.parse(fn.environment.SYNC_SOURCES)[0];
      const target = JSON.parse(fn.environment.SYNC_TARGET);
      const mutatingCalls = () => env.wire.calls.filter((c) => MUTATING.has(c.action) && !c.error).length;
      console.log(`\n## ${fn.logicalId}: ${source.kind} ${(source.services ?? []).join(',')} -> ${target.kind}`);

      const steps = source.kind === 'aws'
        ? AWS_VERSIONS.map((v) => ({
          label: `ip-ranges ${v} (SNS)`,
          file: path.join(SHARED_DATA_DIR, 'aws-ip-ranges', `ip-ranges-${v}.json`),
          event: { Records: [{ EventSource: 'aws:sns', Sns: { Type: 'Notification', Message: JSON.stringify(awsMessages.find((m) => m.file === `ip-ranges-${v}.json`)!.message) } }] } as unknown,
        }))
        : META_VERSIONS.map((f) => ({ label: `${f} (schedule)`, file: path.join(SHARED_DATA_DIR, 'github-meta', f), event: { 'source': 'aws.events', 'detail-type': 'Scheduled Event', 'detail': {} } as unknown }));

      // The deployment: the initial-sync custom resource, with the first version published.
      env.wire.serveDocument(source.url, { body: fs.readFileSync(steps[0].file) });
      const created = await stack.request(cr.logicalId, 'Create');
      console.log(`  Create (custom resource): ${created.response?.Status ?? 'no answer'} ${created.response?.Data ? JSON.stringify(created.response.Data) : created.response?.Reason ?? ''}; ${mutatingCalls()} mutating call(s)`);
      if (created.response?.Status !== 'SUCCESS') failures++;

      for (const step of [...steps.slice(1), { ...steps[steps.length - 1], label: `${steps[steps.length - 1].label} again` }]) {
        env.wire.serveDocument(source.url, { body: fs.readFileSync(step.file) });
        const before = mutatingCalls();
        const out = await lambda.invoke(step.event);
        if (out.error) {
          failures++;
          console.log(`  ${step.label}: FAILED ${out.error.errorType}: ${out.error.errorMessage}`);
          continue;
        }
        const r = out.result;
        console.log(`  ${step.label}: ${r.status}; +${r.added} -${r.removed}; ${mutatingCalls() - before} mutating call(s)`);
      }
      if (target.kind === 'securityGroups') console.log(`  rules per group: ${target.groupIds.map((g: string) => env.ec2.cidrsOf(g).length).join(' ')}`);
      if (target.kind === 'prefixList') console.log(`  entries: ${target.lists.map((l: any) => `${l.family}=${env.ec2.prefixList(l.id).cidrs.length}/${l.maxEntries}`).join(' ')}`);
      if (target.kind === 'wafIpSet') console.log(`  addresses: ${target.sets.map((s: any) => `${s.family}=${env.wafv2.ipSet(s.id).addresses.length}`).join(' ')}`);
      console.log(`  AWS calls on the wire: ${env.wire.calls.length} (${[...new Set(env.wire.calls.map((c) => `${c.service}:${c.action}`))].join(', ')})`);
    } finally {
      await stack.close();
      await env.stop();
    }
  }
  if (failures) throw new Error(`${failures} simulated sync(s) failed`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

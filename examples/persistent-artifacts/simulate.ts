/**
 * Local simulation on the wire layer: synthesizes this app, "deploys" it offline, and runs the
 * PersistentBucket marker handler as its bundled asset (real AWS SDK S3 client, a local S3 that
 * speaks the REST-XML protocol) through each marker's Create, an Update and the stack's Delete.
 * Prints what it wrote and what it answered CloudFormation.
 */
import { createApp } from './app';
import { OfflineStack } from '../../test/harness/aws/offline-stack';
import { modelOf, tempOutdir } from '../../test/harness/aws/synth';
import { WireEnvironment } from '../../test/harness/aws/wire-environment';

async function main(): Promise<void> {
  const model = modelOf(createApp({ outdir: tempOutdir('persistent-artifacts') }));
  const env = await WireEnvironment.start();
  const stack = new OfflineStack(env, model);
  let failed = 0;
  try {
    await stack.provision();
    const markers = model.customResources().filter((c) => c.type === 'Custom::PersistentBucketMarker');
    for (const cr of markers) {
      const created = await stack.request(cr.logicalId, 'Create');
      const props = stack.currentProperties(cr.logicalId)!;
      const updated = await stack.request(cr.logicalId, 'Update', { ...props, ConstructPath: `${props.ConstructPath}/Moved` });
      for (const step of [created, updated]) {
        console.log(`${cr.logicalId} ${step.requestType.padEnd(6)} -> ${step.response?.Status ?? 'no answer'} ${step.response?.PhysicalResourceId ?? ''}`);
        if (step.response?.Status !== 'SUCCESS') failed++;
      }
    }
    env.cloudFormation.setStack(model.stackId, model.stackName, 'DELETE_IN_PROGRESS');
    for (const cr of markers) {
      const deleted = await stack.request(cr.logicalId, 'Delete');
      console.log(`${cr.logicalId} Delete -> ${deleted.response?.Status ?? 'no answer'} (the bucket and its marker are retained)`);
      if (deleted.response?.Status !== 'SUCCESS') failed++;
    }
    for (const cr of markers) {
      const props = model.resolve(cr.properties);
      const marker = env.s3.getObject(props.BucketName, props.Key);
      if (!marker) {
        failed++;
        console.log(`no marker object in ${props.BucketName}`);
        continue;
      }
      console.log(`\nMarker object s3://${props.BucketName}/${props.Key} (${marker.contentType}):`);
      console.log(Buffer.from(marker.body).toString('utf8').split('\n').map((l) => `  | ${l}`).join('\n'));
    }
    console.log(`\nS3 calls on the wire: ${env.wire.callsOf('s3').map((c) => c.action).join(', ')}`);
  } finally {
    await stack.close();
    await env.stop();
  }
  if (failed) throw new Error(`simulation failed: ${failed} answer(s) were not SUCCESS or a marker is missing`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

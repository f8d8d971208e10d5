/**
 * Custom-resource handler that writes the persistent-bucket marker object at deploy time.
 * Thin entry point: parse the event, call the pure logic, call S3, answer CloudFormation.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { markerAction, markerBody, parseMarkerProperties, physicalId } from './marker-object';
import { buildCfnResponse, CfnEvent, sendCfnResponse, HttpPut, fetchPut } from '../../core/runtime/cfn-response';

const logger = new Logger({ serviceName: 'persistent-bucket-marker' });
const s3 = new S3Client({});

export interface MarkerDeps {
  readonly s3: S3Client;
  readonly put: HttpPut;
}

export async function handleMarkerEvent(event: CfnEvent, deps: MarkerDeps): Promise<void> {
  let physicalResourceId = event.PhysicalResourceId ?? `${event.LogicalResourceId}-invalid`;
  try {
    const action = markerAction(event.RequestType);
    if (action === 'NONE') {
      logger.info('Delete: marker object left in place (the bucket is retained)', { physicalResourceId });
    } else {
      const props = parseMarkerProperties(event.ResourceProperties);
      physicalResourceId = physicalId(props);
      await deps.s3.send(new PutObjectCommand({
        Bucket: props.bucketName,
        Key: props.key,
        Body: markerBody(props),
        ContentType: 'text/plain; charset=utf-8',
      }));
      logger.info('Marker object written', { bucket: props.bucketName, key: props.key });
    }
    await sendCfnResponse(buildCfnResponse(event, { status: 'SUCCESS', physicalResourceId }), event.ResponseURL, deps.put);
  } catch (err) {
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    logger.error('Marker object request failed', { error: reason, requestType: event.RequestType });
    await sendCfnResponse(buildCfnResponse(event, { status: 'FAILED', physicalResourceId, reason }), event.ResponseURL, deps.put);
  }
}

export async function handler(event: CfnEvent): Promise<void> {
  await handleMarkerEvent(event, { s3, put: fetchPut });
}

/**
 * Pure logic of the persistent-bucket marker object: what to write and when.
 * No AWS client here; the entry point (marker-object.lambda.ts) performs the calls.
 */

/** The key of the marker object (also exported by the construct as PersistentBucket.MARKER_OBJECT_KEY). */
export const MARKER_OBJECT_KEY = 'DO_NOT_DELETE_S3_BUCKET_PERSISTENT';

export interface MarkerProperties {
  readonly bucketName: string;
  readonly key: string;
  readonly stackName?: string;
  readonly constructPath?: string;
}

/** Validates the custom-resource properties; throws an Error naming the field on bad input. */
export function parseMarkerProperties(props: Record<string, unknown> | undefined): MarkerProperties {
  if (!props) throw new Error('ResourceProperties missing');
  const bucketName = props.BucketName;
  const key = props.Key ?? MARKER_OBJECT_KEY;
  if (typeof bucketName !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucketName)) {
    throw new Error(`ResourceProperties.BucketName must be an S3 bucket name, got ${JSON.stringify(bucketName)}`);
  }
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024) {
    throw new Error(`ResourceProperties.Key must be a non-empty string of at most 1024 characters, got ${JSON.stringify(key)}`);
  }
  return {
    bucketName,
    key,
    stackName: typeof props.StackName === 'string' ? props.StackName : undefined,
    constructPath: typeof props.ConstructPath === 'string' ? props.ConstructPath : undefined,
  };
}

/** The marker body: says why the bucket must stay, in words a person deleting things will read. */
export function markerBody(props: MarkerProperties): string {
  return [
    'This bucket is PERSISTENT and must never be deleted.',
    '',
    'Its name may be referenced by code, policies, DNS or other accounts. If it were deleted, anyone',
    'could create a bucket with the same name and receive data or serve content in its place',
    '(S3 bucket takeover).',
    '',
    `Bucket: ${props.bucketName}`,
    props.stackName ? `Managed by CloudFormation stack: ${props.stackName}` : undefined,
    props.constructPath ? `CDK construct: ${props.constructPath}` : undefined,
    'Written by cdk-production-patterns PersistentBucket.',
    '',
  ].filter((l) => l !== undefined).join('\n');
}

export type MarkerAction = 'PUT' | 'NONE';

/**
 * What a request type means for the marker: Create and Update (re)write it; Delete leaves it,
 * because the bucket itself is retained and the marker must stay with it.
 */
export function markerAction(requestType: string): MarkerAction {
  switch (requestType) {
    case 'Create':
    case 'Update':
      return 'PUT';
    case 'Delete':
      return 'NONE';
    default:
      throw new Error(`Unknown RequestType ${JSON.stringify(requestType)}`);
  }
}

export function physicalId(props: MarkerProperties): string {
  return `s3://${props.bucketName}/${props.key}`;
}

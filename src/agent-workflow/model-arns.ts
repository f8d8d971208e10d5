import { Stack } from 'aws-cdk-lib';

/** Regions the system-defined cross-region inference profiles of each geography route to (as of 2026). */
const PROFILE_REGIONS: Record<string, string[]> = {
  us: ['us-east-1', 'us-east-2', 'us-west-2'],
  eu: ['eu-central-1', 'eu-north-1', 'eu-west-1', 'eu-west-3'],
  apac: ['ap-northeast-1', 'ap-northeast-2', 'ap-south-1', 'ap-southeast-1', 'ap-southeast-2'],
};

/** The model behind an id: a plain foundation model, or a cross-region inference profile. */
export interface ParsedModel {
  readonly foundationModelId: string;
  readonly profileGeography?: string;
}

/** Splits `us.amazon.nova-pro-v1:0` into geography and foundation model. @internal */
export function parseModelId(modelId: string): ParsedModel {
  const m = /^(us|eu|apac|global|us-gov|jp|au|ca)\.(.+)$/.exec(modelId);
  return m ? { foundationModelId: m[2], profileGeography: m[1] } : { foundationModelId: modelId };
}

/**
 * The exact ARNs `bedrock:InvokeModel` must be granted on to call a model id through Converse: the
 * foundation model in this region, or the inference profile plus its foundation model in every region
 * the profile routes to. @internal
 */
export function modelArns(stack: Stack, modelId: string, profileRegions?: string[]): string[] {
  if (modelId.startsWith('arn:')) return [modelId];
  const { foundationModelId, profileGeography } = parseModelId(modelId);
  const fm = (region: string) => `arn:${stack.partition}:bedrock:${region}::foundation-model/${foundationModelId}`;
  if (!profileGeography) return [fm(stack.region)];
  const profile = `arn:${stack.partition}:bedrock:${stack.region}:${stack.account}:inference-profile/${modelId}`;
  if (profileGeography === 'global' && !profileRegions) {
    // global profiles are authorized on the region-less foundation-model ARN
    return [profile, `arn:${stack.partition}:bedrock:::foundation-model/${foundationModelId}`];
  }
  const regions = profileRegions ?? PROFILE_REGIONS[profileGeography] ?? [stack.region];
  return [profile, ...regions.map(fm)];
}

/** Models that can read images and documents from S3 in Converse (`s3Location`). @internal */
export function readsS3Location(modelId: string): boolean {
  const { foundationModelId } = parseModelId(modelId);
  return /^amazon\.nova-(lite|pro|premier)-/.test(foundationModelId);
}

/**
 * The table behind DeploymentPolicy: which IAM actions the CloudFormation execution role needs for each
 * CloudFormation resource type. Pure data and pure lookups; no aws-cdk-lib in here.
 *
 * Sources (see also the README section of DeploymentPolicy):
 * - "Least deployment privilege with CDK Bootstrap" (https://betterdev.blog/cdk-bootstrap-least-deployment-privilege/):
 *   one statement of `<service>:*` actions restricted with `aws:RequestedRegion`, and IAM role/policy actions
 *   with `NotResource` on the bootstrap roles (`arn:aws:iam::*:role/cdk-*`) and on the execution policy itself.
 * - CloudFormation service role (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html):
 *   "If you specify a service role, CloudFormation uses that role's credentials" for every call of the stack
 *   operation, so the role needs every call the resource handlers make, and nothing for the stack operation itself
 *   (the CDK deploy role calls CreateChangeSet/ExecuteChangeSet).
 * - Custom resources (https://docs.aws.amazon.com/lambda/latest/dg/services-cloudformation.html): CloudFormation
 *   invokes the function named by `ServiceToken`; with a service role it does so as that role, so the role needs
 *   `lambda:InvokeFunction` on the provider (reported, e.g., in KensioSoftware/yulin#1329 and
 *   aws-solutions/centralized-logging-with-opensearch#216: "... is not authorized to perform: lambda:InvokeFunction").
 *   The provider function's own role does the work, so nothing else is needed for the custom resource.
 * @module
 */

/** How one CloudFormation service namespace (`AWS::<Namespace>::*`) maps to IAM. @internal */
export interface ServiceMapping {
  /** The IAM service prefixes (usually one). */
  readonly services: string[];
  /** Global service: its statement carries no `aws:RequestedRegion` condition. */
  readonly global?: boolean;
  /** Service-linked roles the service creates on first use (`iam:CreateServiceLinkedRole` with `iam:AWSServiceName`). */
  readonly serviceLinkedRoles?: string[];
}

/**
 * CloudFormation service namespace -> IAM service prefix. Every namespace is listed explicitly (no
 * "lowercase the namespace" fallback): a namespace not in here is an unknown type, reported by name.
 * @internal
 */
export const SERVICE_TABLE: Readonly<Record<string, ServiceMapping>> = {
  AccessAnalyzer: { services: ['access-analyzer'] },
  ACMPCA: { services: ['acm-pca'] },
  AmazonMQ: { services: ['mq'] },
  Amplify: { services: ['amplify'] },
  ApiGateway: { services: ['apigateway'] },
  ApiGatewayV2: { services: ['apigateway'] },
  AppConfig: { services: ['appconfig'] },
  AppFlow: { services: ['appflow'] },
  AppRunner: { services: ['apprunner'] },
  AppSync: { services: ['appsync'] },
  ApplicationAutoScaling: { services: ['application-autoscaling'] },
  Athena: { services: ['athena'] },
  AutoScaling: { services: ['autoscaling'], serviceLinkedRoles: ['autoscaling.amazonaws.com'] },
  Backup: { services: ['backup'] },
  Batch: { services: ['batch'] },
  Bedrock: { services: ['bedrock'] },
  BedrockAgentCore: { services: ['bedrock-agentcore'] },
  Budgets: { services: ['budgets'], global: true },
  CertificateManager: { services: ['acm'] },
  Chatbot: { services: ['chatbot'], global: true },
  CloudFormation: { services: ['cloudformation'] },
  CloudFront: { services: ['cloudfront'], global: true },
  CloudTrail: { services: ['cloudtrail'] },
  CloudWatch: { services: ['cloudwatch'] },
  CodeArtifact: { services: ['codeartifact'] },
  CodeBuild: { services: ['codebuild'] },
  CodeCommit: { services: ['codecommit'] },
  CodeDeploy: { services: ['codedeploy'] },
  CodePipeline: { services: ['codepipeline'] },
  CodeStarConnections: { services: ['codestar-connections'] },
  CodeStarNotifications: { services: ['codestar-notifications'] },
  // Cognito is two IAM services: user pools (cognito-idp) and identity pools (cognito-identity); see TYPE_OVERRIDES.
  Cognito: { services: ['cognito-idp'] },
  Config: { services: ['config'] },
  DataSync: { services: ['datasync'] },
  DAX: { services: ['dax'] },
  DMS: { services: ['dms'] },
  DocDB: { services: ['rds'], serviceLinkedRoles: ['rds.amazonaws.com'] },
  DynamoDB: { services: ['dynamodb'] },
  EC2: { services: ['ec2'] },
  ECR: { services: ['ecr'] },
  ECS: { services: ['ecs'], serviceLinkedRoles: ['ecs.amazonaws.com'] },
  EFS: { services: ['elasticfilesystem'] },
  EKS: { services: ['eks'], serviceLinkedRoles: ['eks.amazonaws.com'] },
  ElastiCache: { services: ['elasticache'], serviceLinkedRoles: ['elasticache.amazonaws.com'] },
  ElasticBeanstalk: { services: ['elasticbeanstalk'] },
  ElasticLoadBalancing: { services: ['elasticloadbalancing'], serviceLinkedRoles: ['elasticloadbalancing.amazonaws.com'] },
  ElasticLoadBalancingV2: { services: ['elasticloadbalancing'], serviceLinkedRoles: ['elasticloadbalancing.amazonaws.com'] },
  Elasticsearch: { services: ['es'], serviceLinkedRoles: ['es.amazonaws.com'] },
  EMR: { services: ['elasticmapreduce'] },
  EMRServerless: { services: ['emr-serverless'] },
  Events: { services: ['events'] },
  EventSchemas: { services: ['schemas'] },
  FIS: { services: ['fis'] },
  FSx: { services: ['fsx'] },
  GlobalAccelerator: { services: ['globalaccelerator'], global: true },
  Glue: { services: ['glue'] },
  GuardDuty: { services: ['guardduty'] },
  ImageBuilder: { services: ['imagebuilder'] },
  InspectorV2: { services: ['inspector2'] },
  IoT: { services: ['iot'] },
  Kendra: { services: ['kendra'] },
  Kinesis: { services: ['kinesis'] },
  KinesisAnalytics: { services: ['kinesisanalytics'] },
  KinesisAnalyticsV2: { services: ['kinesisanalytics'] },
  KinesisFirehose: { services: ['firehose'] },
  KMS: { services: ['kms'] },
  LakeFormation: { services: ['lakeformation'] },
  // Includes AWS::Lambda::CapacityProvider (Lambda Managed Instances): the EC2 work is done by the operator role,
  // which trusts lambda.amazonaws.com, so the execution role needs lambda:* and iam:PassRole to lambda
  // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-operator-role.html).
  Lambda: { services: ['lambda'] },
  Logs: { services: ['logs'] },
  MSK: { services: ['kafka'] },
  MWAA: { services: ['airflow'] },
  Neptune: { services: ['rds'], serviceLinkedRoles: ['rds.amazonaws.com'] },
  NetworkFirewall: { services: ['network-firewall'] },
  OpenSearchServerless: { services: ['aoss'] },
  OpenSearchService: { services: ['es'], serviceLinkedRoles: ['opensearchservice.amazonaws.com'] },
  Organizations: { services: ['organizations'], global: true },
  Pipes: { services: ['pipes'] },
  QuickSight: { services: ['quicksight'] },
  RAM: { services: ['ram'] },
  RDS: { services: ['rds'], serviceLinkedRoles: ['rds.amazonaws.com'] },
  Redshift: { services: ['redshift'] },
  RedshiftServerless: { services: ['redshift-serverless'] },
  ResourceGroups: { services: ['resource-groups'] },
  Route53: { services: ['route53'], global: true },
  Route53Resolver: { services: ['route53resolver'] },
  S3: { services: ['s3'] },
  S3Express: { services: ['s3express'] },
  S3ObjectLambda: { services: ['s3-object-lambda'] },
  SageMaker: { services: ['sagemaker'] },
  Scheduler: { services: ['scheduler'] },
  SecretsManager: { services: ['secretsmanager'] },
  SecurityHub: { services: ['securityhub'] },
  ServiceCatalog: { services: ['servicecatalog'] },
  ServiceDiscovery: { services: ['servicediscovery'] },
  SES: { services: ['ses'] },
  Shield: { services: ['shield'], global: true },
  SNS: { services: ['sns'] },
  SQS: { services: ['sqs'] },
  SSM: { services: ['ssm'] },
  StepFunctions: { services: ['states'] },
  Synthetics: { services: ['synthetics'] },
  Transfer: { services: ['transfer'] },
  // WAF classic is global; WAF Regional and WAFv2 (both scopes; CLOUDFRONT scope is called in us-east-1) are regional.
  WAF: { services: ['waf'], global: true },
  WAFRegional: { services: ['waf-regional'] },
  WAFv2: { services: ['wafv2'] },
  XRay: { services: ['xray'] },
};

/** Whole types whose mapping differs from their namespace's. @internal */
export const TYPE_OVERRIDES: Readonly<Record<string, ServiceMapping>> = {
  'AWS::Cognito::IdentityPool': { services: ['cognito-identity'] },
  'AWS::Cognito::IdentityPoolRoleAttachment': { services: ['cognito-identity'] },
  'AWS::Cognito::IdentityPoolPrincipalTag': { services: ['cognito-identity'] },
  // ServiceDiscovery DNS namespaces create Route 53 hosted zones with the caller's credentials.
  'AWS::ServiceDiscovery::PrivateDnsNamespace': { services: ['servicediscovery', 'route53'] },
  'AWS::ServiceDiscovery::PublicDnsNamespace': { services: ['servicediscovery', 'route53'] },
};

/** Types that need nothing from the execution role. @internal */
export const NO_PERMISSION_TYPES: readonly string[] = [
  'AWS::CDK::Metadata',
  'AWS::CloudFormation::WaitConditionHandle',
  'AWS::CloudFormation::WaitCondition',
];

/** IAM actions on roles, shared by every type that manages a role. @internal */
const ROLE_ACTIONS = [
  'iam:CreateRole', 'iam:DeleteRole', 'iam:GetRole', 'iam:UpdateRole', 'iam:UpdateRoleDescription',
  'iam:UpdateAssumeRolePolicy', 'iam:TagRole', 'iam:UntagRole', 'iam:ListRoleTags',
  'iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy', 'iam:ListRolePolicies',
  'iam:AttachRolePolicy', 'iam:DetachRolePolicy', 'iam:ListAttachedRolePolicies',
  'iam:PutRolePermissionsBoundary', 'iam:DeleteRolePermissionsBoundary', 'iam:ListInstanceProfilesForRole',
];

const MANAGED_POLICY_ACTIONS = [
  'iam:CreatePolicy', 'iam:DeletePolicy', 'iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:CreatePolicyVersion',
  'iam:DeletePolicyVersion', 'iam:ListPolicyVersions', 'iam:ListEntitiesForPolicy', 'iam:TagPolicy', 'iam:UntagPolicy',
  'iam:AttachRolePolicy', 'iam:DetachRolePolicy', 'iam:AttachUserPolicy', 'iam:DetachUserPolicy',
  'iam:AttachGroupPolicy', 'iam:DetachGroupPolicy',
];

/**
 * IAM resource types -> the role/policy management actions CloudFormation calls for them (create, read,
 * update, delete, tag). Only these: no `iam:*`. A type not in here is an unknown type.
 * @internal
 */
export const IAM_TYPE_ACTIONS: Readonly<Record<string, string[]>> = {
  'AWS::IAM::Role': ROLE_ACTIONS,
  // AWS::IAM::Policy attaches inline policies to roles, users or groups.
  'AWS::IAM::Policy': [
    'iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy',
    'iam:PutUserPolicy', 'iam:GetUserPolicy', 'iam:DeleteUserPolicy',
    'iam:PutGroupPolicy', 'iam:GetGroupPolicy', 'iam:DeleteGroupPolicy',
  ],
  'AWS::IAM::RolePolicy': ['iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy'],
  'AWS::IAM::UserPolicy': ['iam:PutUserPolicy', 'iam:GetUserPolicy', 'iam:DeleteUserPolicy'],
  'AWS::IAM::GroupPolicy': ['iam:PutGroupPolicy', 'iam:GetGroupPolicy', 'iam:DeleteGroupPolicy'],
  'AWS::IAM::ManagedPolicy': MANAGED_POLICY_ACTIONS,
  'AWS::IAM::InstanceProfile': [
    'iam:CreateInstanceProfile', 'iam:DeleteInstanceProfile', 'iam:GetInstanceProfile',
    'iam:AddRoleToInstanceProfile', 'iam:RemoveRoleFromInstanceProfile', 'iam:TagInstanceProfile', 'iam:UntagInstanceProfile',
  ],
  'AWS::IAM::ServiceLinkedRole': ['iam:CreateServiceLinkedRole', 'iam:DeleteServiceLinkedRole', 'iam:GetServiceLinkedRoleDeletionStatus', 'iam:GetRole'],
  'AWS::IAM::OIDCProvider': [
    'iam:CreateOpenIDConnectProvider', 'iam:DeleteOpenIDConnectProvider', 'iam:GetOpenIDConnectProvider',
    'iam:UpdateOpenIDConnectProviderThumbprint', 'iam:AddClientIDToOpenIDConnectProvider',
    'iam:RemoveClientIDFromOpenIDConnectProvider', 'iam:TagOpenIDConnectProvider', 'iam:UntagOpenIDConnectProvider',
  ],
  'AWS::IAM::User': [
    'iam:CreateUser', 'iam:DeleteUser', 'iam:GetUser', 'iam:UpdateUser', 'iam:TagUser', 'iam:UntagUser',
    'iam:PutUserPolicy', 'iam:GetUserPolicy', 'iam:DeleteUserPolicy', 'iam:ListUserPolicies',
    'iam:AttachUserPolicy', 'iam:DetachUserPolicy', 'iam:ListAttachedUserPolicies',
    'iam:AddUserToGroup', 'iam:RemoveUserFromGroup', 'iam:ListGroupsForUser',
    'iam:CreateLoginProfile', 'iam:DeleteLoginProfile', 'iam:GetLoginProfile', 'iam:UpdateLoginProfile',
    'iam:PutUserPermissionsBoundary', 'iam:DeleteUserPermissionsBoundary',
  ],
  'AWS::IAM::Group': [
    'iam:CreateGroup', 'iam:DeleteGroup', 'iam:GetGroup', 'iam:UpdateGroup',
    'iam:PutGroupPolicy', 'iam:GetGroupPolicy', 'iam:DeleteGroupPolicy', 'iam:ListGroupPolicies',
    'iam:AttachGroupPolicy', 'iam:DetachGroupPolicy', 'iam:ListAttachedGroupPolicies',
  ],
  'AWS::IAM::UserToGroupAddition': ['iam:AddUserToGroup', 'iam:RemoveUserFromGroup', 'iam:GetGroup'],
  'AWS::IAM::AccessKey': ['iam:CreateAccessKey', 'iam:DeleteAccessKey', 'iam:UpdateAccessKey', 'iam:ListAccessKeys'],
};

/** The mapping of one resource type. @internal */
export interface TypeMapping {
  /** `<service>:*` for each service (empty for IAM, custom resources and no-permission types). */
  readonly services: string[];
  readonly global: boolean;
  /** Specific IAM actions (role/policy management). */
  readonly iamActions: string[];
  readonly serviceLinkedRoles: string[];
}

/** A user-supplied mapping, in the shape of the public `ResourceTypeMapping`. @internal */
export interface ExtraMapping {
  readonly resourceType: string;
  readonly services: string[];
  readonly isGlobal?: boolean;
}

/**
 * The mapping of a resource type: a user mapping (exact type, or a prefix ending in `::`/`*`) first, then the
 * built-in table. `undefined` for an unknown type. Custom resources are not looked up here.
 * @internal
 */
export function lookupType(type: string, extra: readonly ExtraMapping[] = []): TypeMapping | undefined {
  const user = extra.find((m) => m.resourceType === type)
    ?? extra.filter((m) => isPrefixPattern(m.resourceType) && type.startsWith(prefixOf(m.resourceType)))
      .sort((a, b) => prefixOf(b.resourceType).length - prefixOf(a.resourceType).length)[0];
  if (user) return { services: [...user.services], global: user.isGlobal ?? false, iamActions: [], serviceLinkedRoles: [] };
  if (NO_PERMISSION_TYPES.includes(type)) return { services: [], global: false, iamActions: [], serviceLinkedRoles: [] };
  if (type.startsWith('AWS::IAM::')) {
    const actions = IAM_TYPE_ACTIONS[type];
    return actions ? { services: [], global: true, iamActions: [...actions], serviceLinkedRoles: [] } : undefined;
  }
  const override = TYPE_OVERRIDES[type];
  const parts = type.split('::');
  const mapping = override ?? (parts.length === 3 && parts[0] === 'AWS' ? SERVICE_TABLE[parts[1]] : undefined);
  if (!mapping) return undefined;
  return {
    services: [...mapping.services], global: mapping.global ?? false, iamActions: [], serviceLinkedRoles: [...mapping.serviceLinkedRoles ?? []],
  };
}

/** `Custom::Anything` or `AWS::CloudFormation::CustomResource`. @internal */
export function isCustomResourceType(type: string): boolean {
  return type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource';
}

function isPrefixPattern(pattern: string): boolean {
  return pattern.endsWith('::') || pattern.endsWith('*');
}

function prefixOf(pattern: string): string {
  return pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
}

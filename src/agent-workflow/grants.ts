import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';

// Least-privilege grants shared by the workflow's rooms (internal: not exported from the package).

/** s3:GetObject(Version) on the objects under a prefix, s3:ListBucket for it (so a missing object is a 404), and the bucket key. @internal */
export function grantReadObjects(grantee: iam.IGrantable, bucket: s3.IBucket, prefix: string): void {
  iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject', 's3:GetObjectVersion'], resourceArns: [bucket.arnForObjects(`${prefix}*`)] });
  // ListBucket on the bucket (key names only): without it S3 answers a missing object with 403, not
  // 404. No s3:prefix condition: HEAD/GET requests carry no such key, so the allow would not apply.
  iam.Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [bucket.bucketArn] });
  bucket.encryptionKey?.grantDecrypt(grantee);
}

/** Exactly these actions on the table (and one named index), and the table key's data-key actions. @internal */
export function grantTable(grantee: iam.IGrantable, table: dynamodb.ITable, actions: string[], index?: string): void {
  iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [index ? `${table.tableArn}/index/${index}` : table.tableArn] });
  if (table.encryptionKey) {
    iam.Grant.addToPrincipal({ grantee, actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'], resourceArns: [table.encryptionKey.keyArn] });
  }
}


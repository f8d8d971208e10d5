/**
 * The one way handlers build a DynamoDB document client. Optional fields of the items handlers
 * write may be undefined; the document client throws on an undefined value ("Pass
 * options.removeUndefinedValues=true ...") after whatever the handler changed before the write,
 * so undefined values are always left out of the item instead.
 */
import { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export function documentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * Minimal CloudFormation custom-resource response protocol for handlers that are used directly as
 * a `ServiceToken` (no provider framework). Pure except for the injected `put` function.
 */

/** The fields of a CloudFormation custom-resource event this module needs. */
export interface CfnEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: Record<string, unknown>;
  readonly OldResourceProperties?: Record<string, unknown>;
}

export interface CfnResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly NoEcho: boolean;
  readonly Data?: Record<string, string>;
}

/** Reasons are cut to stay well below the 4 KB response body limit. */
const MAX_REASON = 1000;

export function buildCfnResponse(
  event: CfnEvent,
  outcome: { status: 'SUCCESS' | 'FAILED'; physicalResourceId: string; reason?: string; data?: Record<string, string> },
): CfnResponse {
  return {
    Status: outcome.status,
    Reason: (outcome.reason ?? outcome.status).slice(0, MAX_REASON),
    PhysicalResourceId: outcome.physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    NoEcho: false,
    Data: outcome.data,
  };
}

export type HttpPut = (url: string, body: string) => Promise<{ status: number }>;

/** PUTs the response to the pre-signed S3 URL; CloudFormation expects an empty content type. */
export const fetchPut: HttpPut = async (url, body) => {
  const res = await fetch(url, {
    method: 'PUT',
    body,
    headers: { 'content-type': '' },
  });
  return { status: res.status };
};

export async function sendCfnResponse(response: CfnResponse, url: string, put: HttpPut = fetchPut): Promise<void> {
  const body = JSON.stringify(response);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const { status } = await put(url, body);
      if (status >= 200 && status < 300) return;
      lastError = new Error(`CloudFormation response PUT returned HTTP ${status}`);
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
  }
  throw lastError;
}

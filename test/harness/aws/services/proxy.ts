/**
 * Forwards a request unchanged to a local implementation of the service (dynalite, s3rver) so that
 * the shared core's call log and fault injection apply to it too.
 */
import * as http from 'http';
import { WireRequest, WireResponse } from '../protocols';

export async function forward(target: string, req: WireRequest, options: { keepHost?: boolean } = {}): Promise<WireResponse> {
  const url = new URL(target);
  const query = req.query.toString();
  return new Promise<WireResponse>((resolve, reject) => {
    const out = http.request({
      host: url.hostname,
      port: url.port,
      method: req.method,
      path: `${req.path}${query ? `?${query}` : ''}`,
      // keepHost: the request's SigV4 signature covers the Host header, for a target that verifies it.
      headers: { ...req.headers, 'host': options.keepHost ? req.headers.host : url.host, 'content-length': String(req.body.length) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v === undefined || k === 'transfer-encoding' || k === 'connection') continue;
          headers[k] = Array.isArray(v) ? v.join(',') : v;
        }
        resolve({ status: res.statusCode ?? 500, headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    out.on('error', reject);
    out.end(req.body);
  });
}

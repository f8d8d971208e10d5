/*
 * The child process a bundled handler runs in (see lambda-runner.ts): loads the asset's index.js the
 * way the Lambda Node.js runtime does, gives it a context with getRemainingTimeInMillis, and answers
 * each invocation over IPC. Web URLs the handler fetches are rewritten to the wire server (the
 * handler's own fetch code runs; only the address changes), as a DNS entry would.
 */
'use strict';
const crypto = require('crypto');

const rewrites = JSON.parse(process.env.WIRE_WEB_REWRITES || '{}');
const realFetch = globalThis.fetch;
globalThis.fetch = function wireFetch(input, init) {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  for (const [from, to] of Object.entries(rewrites)) {
    if (url.startsWith(from)) return realFetch(to + url.slice(from.length), init);
  }
  return realFetch(input, init);
};
delete process.env.WIRE_WEB_REWRITES;

// Every TLS connection to a host off this machine goes to the wire server's HTTPS listener, which
// answers as that host (CloudFormation's response URL, published documents), as a DNS entry and a
// route would: the handler's own URL, SNI and certificate check are unchanged.
const tls = require('tls');
const tlsPort = Number(process.env.WIRE_TLS_PORT);
delete process.env.WIRE_TLS_PORT;
const realConnect = tls.connect;
tls.connect = function wireConnect(...args) {
  const options = args[0] && typeof args[0] === 'object' ? args[0] : undefined;
  const host = options && (options.host || options.servername);
  if (tlsPort && options && host && !/^(127\.|localhost$|::1$)/.test(host)) {
    args[0] = { ...options, host: '127.0.0.1', port: tlsPort, servername: options.servername || host };
  }
  return realConnect.apply(this, args);
};

let handlerFn;
function loadHandler() {
  if (handlerFn) return handlerFn;
  const [file, name] = process.env.WIRE_HANDLER.split('::');
  const mod = require(file);
  handlerFn = mod[name];
  if (typeof handlerFn !== 'function') throw new Error(`${file} exports no function '${name}'`);
  return handlerFn;
}

process.on('message', async (msg) => {
  if (!msg || msg.type !== 'invoke') return;
  const requestId = crypto.randomUUID();
  const deadline = Date.now() + msg.timeoutMs;
  process.env._X_AMZN_TRACE_ID = `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${crypto.randomBytes(12).toString('hex')};Parent=${crypto.randomBytes(8).toString('hex')};Sampled=0`;
  const context = {
    awsRequestId: requestId,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: msg.functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {}, fail() {}, succeed() {},
  };
  let answer;
  try {
    const result = await loadHandler()(msg.event, context);
    answer = { type: 'result', id: msg.id, result: result === undefined ? null : result };
  } catch (err) {
    answer = {
      type: 'error',
      id: msg.id,
      error: { errorType: (err && err.name) || 'Error', errorMessage: (err && err.message) || String(err), stack: err && err.stack },
    };
  }
  // The marker tells the parent that every log line of this invocation has been written.
  process.stderr.write(`\n__WIRE_DONE__${msg.id}\n`);
  process.stdout.write(`\n__WIRE_DONE__${msg.id}\n`, () => process.send(answer));
});
process.send({ type: 'ready' });

"""
The process a Python handler runs in on the wire layer (see python-lambda.ts): loads the handler
module the way the Lambda Python runtime does, with the real boto3 client pointed at the wire
server (AWS_ENDPOINT_URL_<SERVICE>; older botocore releases do not read those variables, so they
are passed as endpoint_url), and every TLS connection to a host off this machine routed to the wire
server's HTTPS listener, which answers as that host (the handler's URL, SNI and certificate check
are unchanged). Reads one event from stdin, prints the outcome after a marker line.
"""
import importlib.util
import json
import os
import socket
import sys
import time
import traceback
import uuid

TLS_PORT = int(os.environ.pop("WIRE_TLS_PORT"))
HANDLER_FILE, HANDLER_NAME = os.environ.pop("WIRE_HANDLER").split("::")

_real_create_connection = socket.create_connection


def _wire_create_connection(address, *args, **kwargs):
    host, port = address[0], address[1]
    if port == 443 and not (host.startswith("127.") or host in ("localhost", "::1")):
        address = ("127.0.0.1", TLS_PORT)
    return _real_create_connection(address, *args, **kwargs)


socket.create_connection = _wire_create_connection

import boto3  # noqa: E402  (after the socket mapping, before the handler module)
import botocore.config  # noqa: E402

_ENDPOINT_NAMES = {"s3": "S3", "dynamodb": "DYNAMODB", "sns": "SNS", "sqs": "SQS", "events": "EVENTBRIDGE", "stepfunctions": "SFN"}
_real_session_client = boto3.session.Session.client


def _wire_client(self, service_name, *args, **kwargs):
    env_name = _ENDPOINT_NAMES.get(service_name, service_name.upper().replace("-", "_"))
    endpoint = os.environ.get("AWS_ENDPOINT_URL_" + env_name)
    if endpoint and "endpoint_url" not in kwargs:
        kwargs["endpoint_url"] = endpoint
    if service_name == "s3":
        kwargs.setdefault("config", botocore.config.Config(s3={"addressing_style": "path"}))
    return _real_session_client(self, service_name, *args, **kwargs)


boto3.session.Session.client = _wire_client
boto3.DEFAULT_SESSION = None


class Context:
    def __init__(self, timeout_ms):
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.invoked_function_arn = "arn:aws:lambda:%s:123456789012:function:%s" % (os.environ.get("AWS_REGION"), self.function_name)
        self._deadline = time.time() + timeout_ms / 1000.0

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.time()) * 1000))


def main():
    request = json.loads(sys.stdin.read())
    sys.path.insert(0, os.path.dirname(HANDLER_FILE))
    spec = importlib.util.spec_from_file_location("wire_handler", HANDLER_FILE)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        result = getattr(module, HANDLER_NAME)(request["event"], Context(request["timeoutMs"]))
        outcome = {"type": "result", "result": result}
    except Exception as err:  # the runtime reports any error of the handler
        outcome = {"type": "error", "error": {"errorType": type(err).__name__, "errorMessage": str(err), "stack": traceback.format_exc()}}
    sys.stderr.flush()
    sys.stdout.write("\n__WIRE_RESULT__" + json.dumps(outcome, default=str) + "\n")
    sys.stdout.flush()


main()

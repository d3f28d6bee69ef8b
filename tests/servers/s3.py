"""moto's standalone S3 (and IAM) server on 127.0.0.1, shared by the ECS and MLflow tests.

moto binds 0.0.0.0 unless told otherwise, so the host is always given explicitly.

Typical use: `reset()`, create buckets and IAM users (with policies and access keys) while
IAM enforcement is off, then `enforce_auth()`: from then on unknown keys, wrong secrets and
denied actions give the real S3 error codes.

`FakeS3` is a tiny S3 look-alike for what moto cannot produce (RequestTimeTooSkewed, TLS with a
test CA): it answers every request with one canned response taken from the S3 API reference.
"""

from __future__ import annotations

import json
import shutil
import ssl
import sys
import threading
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.servers.process import ServerProcess, free_port
from tests.servers.tls import StandInHandler

REGION = "us-east-1"
# Any keys work while IAM enforcement is off; moto's own test keys make that obvious in logs.
SETUP_KEY_ID = "testing"
SETUP_SECRET = "testing"
ALLOW_ALL: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=0.5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@dataclass(frozen=True)
class AccessKey:
    user: str
    key_id: str
    secret: str


def bucket_policy(buckets: Sequence[str], actions: Sequence[str]) -> dict[str, Any]:
    """An IAM policy allowing `actions` (e.g. ["s3:GetObject", "s3:ListBucket"]) on the buckets only."""
    resources = [r for b in buckets for r in (f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*")]
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resources}],
    }


class MotoServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = shutil.which("moto_server")
        argv = [exe] if exe else [sys.executable, "-m", "moto.server"]
        self.process = ServerProcess(
            [*argv, "-H", "127.0.0.1", "-p", str(self.port)],
            ready=lambda: _ready(self.port),
            log=workdir / "moto.log",
            timeout=60,
        )

    def _post(self, path: str, body: bytes | None = None) -> None:
        # text/plain: with urllib's default form content type, flask hands moto an empty body.
        request = urllib.request.Request(
            f"{self.url}{path}", data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=5):
            pass

    def reset(self) -> None:
        """Forget every bucket, user and key, and switch IAM enforcement off again."""
        self._post("/moto-api/reset-auth", b"inf")
        self._post("/moto-api/reset")

    def enforce_auth(self) -> None:
        """From now on, unknown keys, wrong secrets and IAM denials give real S3 errors."""
        self._post("/moto-api/reset-auth", b"0")

    # -- clients and setup (call before enforce_auth, or with an admin's keys) ------------------

    def client(self, service: str = "s3", key: AccessKey | None = None) -> Any:
        """A boto3 client for this server (setup keys unless `key` is given)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=key.key_id if key else SETUP_KEY_ID,
            aws_secret_access_key=key.secret if key else SETUP_SECRET,
            config=Config(
                s3={"addressing_style": "path"}, retries={"mode": "standard", "total_max_attempts": 1}
            ),
        )

    def create_bucket(self, name: str, objects: Mapping[str, bytes] | None = None) -> None:
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        for key, body in (objects or {}).items():
            s3.put_object(Bucket=name, Key=key, Body=body)

    def create_user(self, name: str, policy: Mapping[str, Any] | None = None) -> AccessKey:
        """An IAM user with an inline policy and one access key."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        if policy is not None:
            iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return AccessKey(name, key["AccessKeyId"], key["SecretAccessKey"])

    def create_admin(self, name: str = "admin") -> AccessKey:
        return self.create_user(name, ALLOW_ALL)

    def keys(self, bucket: str, admin: AccessKey) -> list[str]:
        """Object keys in a bucket, read with an admin's keys (works with enforcement on)."""
        answer = self.client("s3", admin).list_objects_v2(Bucket=bucket)
        return [str(o["Key"]) for o in answer.get("Contents", [])]

    def stop(self) -> None:
        self.process.stop()


# -- a canned S3 answer --------------------------------------------------------------------------


def s3_error_xml(code: str, message: str, **extra: str) -> bytes:
    fields = "".join(f"<{k}>{v}</{k}>" for k, v in extra.items())
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"{fields}<RequestId>4442587FB7D0A2F9</RequestId><HostId>fake</HostId></Error>"
    ).encode()


LIST_BUCKETS_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<Owner><ID>owner</ID><DisplayName>owner</DisplayName></Owner>"
    b"<Buckets><Bucket><Name>canned</Name><CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket>"
    b"</Buckets></ListAllMyBucketsResult>"
)


class FakeS3:
    """Answers every request with one canned (status, body); optionally over TLS."""

    def __init__(self, status: int, body: bytes, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.requests = 0
        outer = self

        class Handler(StandInHandler):
            def _answer(self) -> None:
                outer.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if ssl_context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def __enter__(self) -> FakeS3:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

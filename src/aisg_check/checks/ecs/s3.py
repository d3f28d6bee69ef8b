"""Layers 3 to 5, against the endpoint: list the buckets (`ecs.list`), read each named bucket
(`ecs.bucket.<name>`) and, when asked, a write round trip (`ecs.write`) that leaves nothing
behind.

The reads of layers 3 and 4 go out at once (`ask`) and are judged in layer order: a bucket's
answers count only once the listing layer has passed. Two round trips fewer per run; all of them
are reads, so asking early changes nothing on the server."""

from __future__ import annotations

from typing import Any

from aisg_check.check import Recorder, Step, Stop
from aisg_check.checks.ecs.client import S3, S3Failure, common_failure, other_failure
from aisg_check.checks.ecs.diagnoses import (
    ECS_ACCESS_DENIED,
    ECS_BUCKET_DENIED,
    ECS_BUCKET_NOT_FOUND,
    ECS_WRITE_CLEANUP_FAILED,
    ECS_WRITE_DENIED,
    ECS_WRITE_NO_TIME,
    ECS_WRITE_READBACK_FAILED,
)
from aisg_check.context import Context

LIST = Step("ecs.list", "List buckets")
BUCKET = Step("ecs.bucket", "Named buckets", group=True)
WRITE = Step("ecs.write", "Write round trip")

WRITE_TEST_PREFIX = "aisg-check-write-test/"
WRITE_CALLS = 3  # put, get, delete: the write test starts only with this many timeouts left


# -- the reads of layers 3 and 4, at once ---------------------------------------------------------

Read = tuple[str, str]  # (operation, bucket): ("list", ""), ("head", b), ("objects", b)


def ask(ctx: Context, rec: Recorder, s3: S3) -> dict[Read, Any] | None:
    """Every read the two layers make, answered (or an S3Failure); None when the deadline
    came first."""
    reads: list[Read] = [("list", "")]
    reads += [(operation, bucket) for bucket in ctx.settings.ecs.buckets for operation in ("head", "objects")]
    answers = rec.parallel(lambda read: s3.call(_request(s3, *read)), reads, name="read")
    if any(answer is None for answer in answers):
        return None
    return dict(zip(reads, answers, strict=True))


def _request(s3: S3, operation: str, bucket: str) -> Any:
    if operation == "head":
        return lambda: s3.client.head_bucket(Bucket=bucket)
    if operation == "objects":
        return lambda: s3.client.list_objects_v2(Bucket=bucket, MaxKeys=1)
    return s3.client.list_buckets


# -- layer 3: list buckets -----------------------------------------------------------------------


def list_layer(ctx: Context, rec: Recorder, s3: S3, answer: Any) -> list[str]:
    """Bucket names; empty when listing is denied, which ECS does for hidden buckets."""
    if isinstance(answer, S3Failure):
        stop = common_failure(s3, rec, LIST, answer, "ListBuckets")
        if stop is not None:
            raise stop
        if answer.code != "AccessDenied":
            raise other_failure(s3, rec, LIST, answer, "ListBuckets")
        named = ctx.settings.ecs.buckets
        rec.warn(
            LIST,
            ECS_ACCESS_DENIED,
            f"These keys may not list buckets on {s3.endpoint} (AccessDenied); hidden buckets may still be "
            "readable" + ("; checking the named buckets below" if named else ""),
            hint="The named buckets below tell whether yours is readable."
            if named
            else "Name the bucket you were given: `aisg-check ecs --bucket NAME` "
            "(or `ecs.buckets: [NAME]` in the config); ask the DataOps team for the name.",
            details={"endpoint_url": s3.endpoint},
        )
        return []
    names = sorted(str(b.get("Name")) for b in answer.get("Buckets", []))
    details: dict[str, Any] = {"endpoint_url": s3.endpoint, "count": len(names)}
    if ctx.verbose:
        details["buckets"] = names
    rec.ok(
        LIST,
        f"Listed {len(names)} bucket{'s' if len(names) != 1 else ''} on {s3.endpoint}",
        details=details,
    )
    return names


# -- layer 4: named buckets ----------------------------------------------------------------------


def bucket_layer(ctx: Context, rec: Recorder, s3: S3, answers: dict[Read, Any]) -> list[str]:
    """Every named bucket is checked (one failing does not hide the others); the check stops
    after them if any failed."""
    failed = [
        bucket
        for bucket in ctx.settings.ecs.buckets
        if not _one_bucket(rec, s3, bucket, answers[("head", bucket)], answers[("objects", bucket)])
    ]
    if failed:
        raise Stop(f"{BUCKET.id}.{failed[0]}")
    return list(ctx.settings.ecs.buckets)


def _one_bucket(rec: Recorder, s3: S3, bucket: str, head: Any, listing: Any) -> bool:
    step, title = f"{BUCKET.id}.{bucket}", f"Bucket {bucket}"
    if isinstance(head, S3Failure):
        if head.transport is not None or head.code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return common_failure(s3, rec, step, head, f"HeadBucket {bucket}") is None
        if head.status == 404:
            rec.fail(
                step,
                ECS_BUCKET_NOT_FOUND,
                f"Bucket '{bucket}' does not exist on {s3.endpoint}",
                title=title,
                hint=f"Check the spelling of '{bucket}' (bucket names are lower case); ask the DataOps team "
                "for the right name.",
                details={"bucket": bucket, "http_status": 404},
            )
            return False
    # The listing decides: HEAD needs s3:ListBucket on AWS, but some S3 servers check another
    # permission for it, so a 403 on HEAD alone does not prove the bucket unreadable.
    details: dict[str, Any] = {
        "bucket": bucket,
        "head_status": head.status if isinstance(head, S3Failure) else 200,
    }
    if isinstance(listing, S3Failure):
        _listing_failed(rec, s3, step, title, bucket, listing, details)
        return False
    empty = not listing.get("KeyCount") and not listing.get("Contents")
    rec.ok(step, f"Bucket '{bucket}' is readable{' (empty)' if empty else ''}", title=title, details=details)
    return True


def _listing_failed(
    rec: Recorder, s3: S3, step: str, title: str, bucket: str, listing: S3Failure, details: dict[str, Any]
) -> None:
    details |= {"http_status": listing.status, "s3_code": listing.code}
    if common_failure(s3, rec, step, listing, f"ListObjectsV2 {bucket}") is not None:
        return
    if listing.code == "NoSuchBucket" or listing.status == 404:
        rec.fail(
            step,
            ECS_BUCKET_NOT_FOUND,
            f"Bucket '{bucket}' does not exist on {s3.endpoint}",
            title=title,
            details=details,
        )
    elif listing.code == "AccessDenied" or listing.status == 403:
        rec.fail(
            step,
            ECS_BUCKET_DENIED,
            f"Bucket '{bucket}' on {s3.endpoint} cannot be listed with these keys (AccessDenied)",
            title=title,
            hint=f"Check the name '{bucket}' and the profile; if both are right, ask the DataOps team "
            "(dataops@aisingapore.org) to grant these keys read access to it.",
            details=details,
        )
    else:
        other_failure(s3, rec, step, listing, f"Listing bucket {bucket}", title=title)


# -- layer 5: write round trip -------------------------------------------------------------------


def write_bucket(ctx: Context, readable: list[str], listed: list[str]) -> str | None:
    """The first named bucket (all of them are readable by now), else the first listed one."""
    if ctx.settings.ecs.buckets:
        return readable[0] if readable else None
    return listed[0] if listed else None


def write_layer(ctx: Context, rec: Recorder, s3: S3, bucket: str) -> None:
    if not rec.has_time_for(WRITE_CALLS, ctx.timeout):
        # A put abandoned at the hard deadline would never reach its delete: do not start one.
        left = rec.remaining()
        rec.warn(
            WRITE,
            ECS_WRITE_NO_TIME,
            f"Write round trip not attempted: {left:.1f}s left of the check's time, less than the "
            f"{WRITE_CALLS * ctx.timeout:g}s a put, read-back and delete may take",
            details={"bucket": bucket, "seconds_left": round(left, 1)},
        )
        return
    import uuid

    key = f"{WRITE_TEST_PREFIX}{uuid.uuid4().hex}.txt"
    body = f"aisg-check write test {ctx.now().isoformat()}\n".encode()
    details: dict[str, Any] = {"bucket": bucket, "key": key, "bytes": len(body)}
    put = s3.call(lambda: s3.client.put_object(Bucket=bucket, Key=key, Body=body))
    if isinstance(put, S3Failure):
        # A put that timed out may still have landed; try to remove it, quietly.
        s3.call(lambda: s3.client.delete_object(Bucket=bucket, Key=key))
        raise _put_failed(rec, s3, put, bucket, details)
    try:
        readback = s3.call(lambda: s3.client.get_object(Bucket=bucket, Key=key)["Body"].read())
    finally:
        # Nothing is left behind, whatever the read-back did.
        deleted = s3.call(lambda: s3.client.delete_object(Bucket=bucket, Key=key))
    if isinstance(readback, S3Failure) or readback != body:
        got = (
            f"{readback.code or 'error'} (HTTP {readback.status})"
            if isinstance(readback, S3Failure)
            else f"{len(readback)} bytes that differ from the {len(body)} written"
        )
        cleaned_up = not isinstance(deleted, S3Failure)
        raise rec.fail(
            WRITE,
            ECS_WRITE_READBACK_FAILED,
            f"Wrote s3://{bucket}/{key}, but reading it back gave {got}; the object was "
            + ("deleted again" if cleaned_up else "NOT deleted"),
            details={**details, "cleaned_up": cleaned_up},
        )
    if isinstance(deleted, S3Failure):
        rec.warn(
            WRITE,
            ECS_WRITE_CLEANUP_FAILED,
            f"Wrote and read back s3://{bucket}/{key}, but could not delete it ({deleted.code or 'error'})",
            hint=f"`aws --endpoint-url {s3.endpoint} s3 rm s3://{bucket}/{key}`",
            details=details,
        )
        return
    rec.ok(WRITE, f"Wrote, read back and deleted one object in bucket '{bucket}'", details=details)


def _put_failed(rec: Recorder, s3: S3, put: S3Failure, bucket: str, details: dict[str, Any]) -> Stop:
    stop = common_failure(s3, rec, WRITE, put, f"PutObject {bucket}")
    if stop is not None:
        return stop
    if put.code == "AccessDenied" or put.status == 403:
        return rec.fail(
            WRITE,
            ECS_WRITE_DENIED,
            f"These keys may not write to bucket '{bucket}' (AccessDenied)",
            details=details,
        )
    return other_failure(s3, rec, WRITE, put, f"Writing to bucket {bucket}")

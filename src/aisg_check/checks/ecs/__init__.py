"""`ecs`: the S3 credentials from the DataOps team reach AI Singapore's ECS object storage.

The layers follow what `aws --profile p --endpoint-url https://necs.nus.edu.sg s3 ls` does:

1. profile   which profile and which keys (environment or ~/.aws files), read as botocore does;
             session keys with a written-down expiry become a Credential (`profile.py`)
2. endpoint  whether the user's own aws/boto3 setup points S3 at ECS (else they talk to Amazon);
             not applicable in a pod (`endpoint.py`)
3. list      ListBuckets with those keys (denied is only a warning: ECS hides some buckets)
4. bucket    each named bucket: HeadBucket and a one-key listing
5. write     opt-in: put, read back and delete one small object (3 to 5: `s3.py`, over the
             client of `client.py`)

In a pod (fleet mode) the keys come from the file AWS_SHARED_CREDENTIALS_FILE names (a mounted
Secret); with none mounted and none in the environment, ECS is not configured for that project.
"""

from __future__ import annotations

from aisg_check.check import Check, Recorder, declared
from aisg_check.checks.ecs import client, diagnoses, endpoint, profile, s3
from aisg_check.checks.ecs.diagnoses import NOT_CONFIGURED
from aisg_check.context import Context
from aisg_check.diagnoses import NETWORK_DIAGNOSES

STEPS = (profile.PROFILE, endpoint.ENDPOINT, s3.LIST, s3.BUCKET, s3.WRITE)


def run(ctx: Context, rec: Recorder) -> None:
    if not ctx.settings.ecs.endpoint_url.strip():
        for step in STEPS:
            rec.skip(step, NOT_CONFIGURED, "No ECS endpoint configured (ecs.endpoint_url)")
        return
    unmounted = profile.unmounted(ctx)
    if unmounted:
        for step in STEPS:
            rec.skip(
                step,
                NOT_CONFIGURED,
                unmounted,
                hint="Mount the project's ECS keys file (the aisg-check-ecs Secret, key credentials) "
                "where AWS_SHARED_CREDENTIALS_FILE points, or skip ECS for this project.",
            )
        return
    chosen = profile.profile_layer(ctx, rec)
    url = endpoint.endpoint_url(ctx, rec)
    session = client.session(ctx, chosen.files)
    endpoint.endpoint_layer(ctx, rec, session, chosen, url)
    rec.require("vpn.ecs")
    with client.ca_bundle(ctx, url) as verify:
        remote = client.connect(ctx, rec, session, chosen, url, verify)
        answers = s3.ask(ctx, rec, remote)
        if answers is None:
            return  # still waiting at the deadline: the runner reports that
        listed = s3.list_layer(ctx, rec, remote, answers[("list", "")])
        if ctx.settings.ecs.buckets:
            readable = s3.bucket_layer(ctx, rec, remote, answers)
        else:
            rec.skip(
                s3.BUCKET,
                NOT_CONFIGURED,
                "No bucket named to check",
                hint="Name the buckets you use: `aisg-check ecs --bucket NAME` (repeatable) or "
                "`ecs.buckets`.",
            )
            readable = []
        if not ctx.settings.ecs.write_test:
            rec.skip(
                s3.WRITE,
                NOT_CONFIGURED,
                "Write test not requested",
                hint="Pass --write-test to put, read back and delete one small object.",
            )
            return
        target = s3.write_bucket(ctx, readable, listed)
        if target is None:
            rec.skip(
                s3.WRITE,
                NOT_CONFIGURED,
                "No bucket to write to: none named and none listed",
                hint="Name the bucket: `aisg-check ecs --bucket NAME --write-test`.",
            )
            return
        s3.write_layer(ctx, rec, remote, target)


# What the package's checks may report: its diagnoses module, and any transport failure.
DECLARED = declared(diagnoses, NETWORK_DIAGNOSES)

CHECKS = (
    Check(
        id="ecs",
        component="ecs",
        title="ECS object storage",
        steps=STEPS,
        run=run,
        needs=("vpn.ecs",),
        diagnoses=DECLARED,
        # list (1 call) + buckets (2 each) + write (3), each up to one timeout when the server
        # answers slowly: room for three buckets and the write test. A dead server is cut short by
        # the VPN probe first; retries on failures may still reach the deadline, which is reported.
        budget=10.0,
        import_allowance_s=3.0,
    ),
)

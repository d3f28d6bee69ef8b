"""The `ecs` component's diagnosis codes, and the shared ones it reports besides any transport
failure (`NETWORK_DIAGNOSES`, added in `__init__`). The check's declared set is derived from
this module: a code defined or imported here is one the check may report."""

from __future__ import annotations

from aisg_check.diagnoses import NOT_APPLICABLE, NOT_CONFIGURED
from aisg_check.model import CONTACT_DATAOPS, Diagnosis

# Shared codes the check reports as they are (transport failures come from NETWORK_DIAGNOSES).
__all__ = ["NOT_APPLICABLE", "NOT_CONFIGURED"]

ECS_CREDENTIALS_FILE_INVALID = Diagnosis(
    "ECS_CREDENTIALS_FILE_INVALID",
    "AWS credentials or config file cannot be read",
    "~/.aws/credentials or ~/.aws/config (or the file AWS_SHARED_CREDENTIALS_FILE or AWS_CONFIG_FILE "
    "names) cannot be parsed (a line that is neither `[section]` nor `key = value`, a duplicate "
    "section or key), or a profile has an access key without its secret: aws and boto3 refuse to run "
    "with such a file. Or the path is a directory, unreadable, or far too large to be an aws file: "
    "aws then silently ignores it, and its profiles seem not to exist.",
    "Open the file at the line named in the result and fix it: each profile is a `[name]` line "
    "followed by `aws_access_key_id = ...` and `aws_secret_access_key = ...` lines. A directory or an "
    "unreadable file: put a readable file at that path, or point the variable at the right one.",
    CONTACT_DATAOPS,
)
ECS_PROFILE_NOT_FOUND = Diagnosis(
    "ECS_PROFILE_NOT_FOUND",
    "AWS profile not found",
    "The profile chosen by --profile, ecs.profile or AWS_PROFILE is in neither ~/.aws/credentials "
    "nor ~/.aws/config.",
    "Use one of the profiles listed in the result (`--profile NAME` or `export AWS_PROFILE=NAME`), or "
    "add the profile with the keys the DataOps team gave you to ~/.aws/credentials.",
    CONTACT_DATAOPS,
)
ECS_NO_CREDENTIALS = Diagnosis(
    "ECS_NO_CREDENTIALS",
    "No ECS credentials",
    "No access key and secret key were found: not in the environment (AWS_ACCESS_KEY_ID, "
    "AWS_SECRET_ACCESS_KEY) and not in the chosen profile of ~/.aws/credentials or ~/.aws/config.",
    "Put the keys the DataOps team gave you in ~/.aws/credentials as `[profile-1]`, "
    "`aws_access_key_id = ...`, `aws_secret_access_key = ...`, then run `aisg-check ecs --profile "
    "profile-1`. No keys yet? Ask the DataOps team.",
    CONTACT_DATAOPS,
)
ECS_ENV_KEYS_OVERRIDE_PROFILE = Diagnosis(
    "ECS_ENV_KEYS_OVERRIDE_PROFILE",
    "Environment keys differ from the profile's",
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are set in the environment (the MLflow setup exports "
    "them) and differ from the profile's keys. The environment wins over a profile chosen by "
    "AWS_PROFILE (and in every boto3/MLflow script), but not over `aws --profile`: a classic cause of "
    "'works in one shell, not in another'.",
    "Make them agree: `unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY` to use the profile, or export the "
    "same keys the profile holds.",
)
ECS_SESSION_EXPIRES_SOON = Diagnosis(
    "ECS_SESSION_EXPIRES_SOON",
    "ECS session keys expire soon",
    "The keys are temporary session keys (with aws_session_token) whose expiry is written next to them "
    "(AWS_CREDENTIAL_EXPIRATION, or aws_expiration / x_security_token_expires in the profile), and it "
    "falls within expiry_warning_days (14 days unless configured): ECS refuses them from then on. "
    "Static keys from the DataOps team carry no expiry and never get this warning.",
    "Get new session keys the way you got these (run again the tool that wrote them) and replace the "
    "keys, the session token and the expiry together; or ask the DataOps team for static keys.",
    CONTACT_DATAOPS,
)
ECS_SESSION_EXPIRED = Diagnosis(
    "ECS_SESSION_EXPIRED",
    "ECS session keys expired",
    "The keys are temporary session keys and they have expired: by the expiry written next to them, "
    "or ECS answered ExpiredToken. Every request with them is refused.",
    "Get new session keys the way you got these (run again the tool that wrote them) and replace the "
    "keys, the session token and the expiry together; or ask the DataOps team for static keys.",
    CONTACT_DATAOPS,
)
ECS_ENDPOINT_INVALID = Diagnosis(
    "ECS_ENDPOINT_INVALID",
    "ECS endpoint URL is not a URL",
    "ecs.endpoint_url must be an http(s) URL such as https://necs.nus.edu.sg.",
    "Fix ecs.endpoint_url in your aisg-check config (`aisg-check config` shows where it comes from).",
)
ECS_ENDPOINT_NOT_SET = Diagnosis(
    "ECS_ENDPOINT_NOT_SET",
    "AWS tools not pointed at ECS",
    "Your own AWS configuration sets no S3 endpoint for this profile, so `aws s3 ...` and boto3 "
    "(without --endpoint-url) talk to Amazon S3 instead of ECS and fail with InvalidAccessKeyId.",
    "Add `endpoint_url = https://necs.nus.edu.sg` under the profile's section in ~/.aws/config, or "
    "`export AWS_ENDPOINT_URL_S3=https://necs.nus.edu.sg`, or pass `--endpoint-url "
    "https://necs.nus.edu.sg` to every aws command.",
)
ECS_ENDPOINT_MISMATCH = Diagnosis(
    "ECS_ENDPOINT_MISMATCH",
    "AWS tools pointed elsewhere",
    "Your own AWS configuration (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or the profile's endpoint_url) "
    "sends S3 requests to another URL than the ECS endpoint this check uses.",
    "Correct the endpoint_url named in the result, or set ecs.endpoint_url if the check should use it.",
)
ECS_INVALID_ACCESS_KEY = Diagnosis(
    "ECS_INVALID_ACCESS_KEY",
    "Access key unknown to ECS",
    "ECS does not know the access key id (InvalidAccessKeyId): a typo, keys for another system "
    "(Amazon, MinIO), or keys that were revoked.",
    "Copy aws_access_key_id again exactly as the DataOps team gave it; if it is right, ask them "
    "whether it is still active.",
    CONTACT_DATAOPS,
)
ECS_SIGNATURE_MISMATCH = Diagnosis(
    "ECS_SIGNATURE_MISMATCH",
    "Secret key does not match",
    "ECS knows the access key id, but the request signature is wrong (SignatureDoesNotMatch): the "
    "secret access key is wrong, truncated or has stray characters.",
    "Copy aws_secret_access_key again (no quotes, no trailing spaces); if it still fails, ask the "
    "DataOps team for a new key pair.",
    CONTACT_DATAOPS,
)
ECS_CLOCK_SKEW = Diagnosis(
    "ECS_CLOCK_SKEW",
    "Clock is off",
    "ECS rejected the request because this machine's clock differs from the server's by more than "
    "15 minutes (RequestTimeTooSkewed); S3 signatures are only valid close to the current time.",
    "Turn on automatic time synchronisation (Linux: `sudo timedatectl set-ntp true`; macOS/Windows: "
    "Date & Time settings → set automatically) and run again.",
)
ECS_ACCESS_DENIED = Diagnosis(
    "ECS_ACCESS_DENIED",
    "Listing buckets denied",
    "The keys are valid, but they may not list buckets (AccessDenied on ListBuckets). On ECS this is "
    "common: some buckets are hidden from listing but still readable.",
    "Name the bucket you were given: `aisg-check ecs --bucket NAME` (or `ecs.buckets` in the config); "
    "the DataOps team can tell you the name.",
    CONTACT_DATAOPS,
)
ECS_BUCKET_NOT_FOUND = Diagnosis(
    "ECS_BUCKET_NOT_FOUND",
    "Bucket does not exist",
    "ECS answers that the named bucket does not exist (404 / NoSuchBucket).",
    "Check the spelling of the bucket name (bucket names are lower case); ask the DataOps team for the "
    "right name.",
    CONTACT_DATAOPS,
)
ECS_BUCKET_DENIED = Diagnosis(
    "ECS_BUCKET_DENIED",
    "Bucket not readable with these keys",
    "ECS refuses to list the named bucket with these keys (403 / AccessDenied): the keys were not "
    "granted access to it, or the name is wrong (without access, a missing bucket looks the same).",
    "Check the bucket name and the profile; if both are right, ask the DataOps team to grant the keys "
    "read access to the bucket.",
    CONTACT_DATAOPS,
)
ECS_WRITE_DENIED = Diagnosis(
    "ECS_WRITE_DENIED",
    "Writing to the bucket denied",
    "The keys may read the bucket but not write to it (AccessDenied on PutObject).",
    "If you need to write (MLflow artifacts, datasets), ask the DataOps team for write access to the bucket.",
    CONTACT_DATAOPS,
)
ECS_WRITE_READBACK_FAILED = Diagnosis(
    "ECS_WRITE_READBACK_FAILED",
    "Written object could not be read back",
    "The test object was written, but reading it back failed or returned other bytes: the keys may "
    "write but not read, or something between here and ECS alters the data.",
    "Ask the DataOps team whether the keys have s3:GetObject on the bucket; the result says what the "
    "read returned.",
    CONTACT_DATAOPS,
)
ECS_WRITE_CLEANUP_FAILED = Diagnosis(
    "ECS_WRITE_CLEANUP_FAILED",
    "Test object left behind",
    "The write test could not delete its test object again (no s3:DeleteObject, or the connection failed).",
    "Delete it with the `aws s3 rm` command in the hint, or ask the DataOps team to.",
    CONTACT_DATAOPS,
)
ECS_WRITE_NO_TIME = Diagnosis(
    "ECS_WRITE_NO_TIME",
    "Write round trip not attempted: out of time",
    "The earlier layers used up so much of the check's time limit that a put, read-back and delete "
    "might not all finish; the write test was left out rather than risk leaving its object behind.",
    "Run the write test on its own with a larger timeout: `aisg-check ecs --write-test --timeout 20` "
    "(fewer --bucket names also help).",
)
ECS_S3_ERROR = Diagnosis(
    "ECS_S3_ERROR",
    "ECS answered with an error",
    "ECS (or whatever answers at the endpoint URL) returned an S3 error this check has no specific "
    "diagnosis for; the result names the error code.",
    "Run again with --verbose and send the output (it contains no secrets) to the DataOps team.",
    CONTACT_DATAOPS,
)

"""The `auths` reader against the docker SDK's own resolution, config by config.

`dockerconfig` reads a plain `auths` login itself (importing the SDK costs more than the rest
of the Harbor check) and hands configs with a credential helper to the SDK. The reader is a
transcription of `docker.auth.AuthConfig`; these tests run both on the same files, so any
drift from the SDK fails here.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aisg_check.platform import dockerconfig
from tests.helpers import make_context

REGISTRY = "registry.example.org:8443"
PASSWORD = "Dockerconfig-Canary-3e9b"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# (id, config, registry asked for). Every config has a non-empty `auths` and no helper for the
# registry asked for (a helper for another one, or an empty credsStore, keeps the fast path).
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("exact-key", {"auths": {REGISTRY: {"auth": b64(f"alice:{PASSWORD}")}}}, REGISTRY),
    ("url-key", {"auths": {f"https://{REGISTRY}/v1/": {"auth": b64(f"alice:{PASSWORD}")}}}, REGISTRY),
    ("http-url-key", {"auths": {f"http://{REGISTRY}": {"auth": b64(f"alice:{PASSWORD}")}}}, REGISTRY),
    (
        "exact-wins-over-url",
        {
            "auths": {
                f"https://{REGISTRY}/v2/": {"auth": b64("old:stale-password")},
                REGISTRY: {"auth": b64(f"alice:{PASSWORD}")},
            }
        },
        REGISTRY,
    ),
    ("other-registry-only", {"auths": {"elsewhere.example:5000": {"auth": b64("bob:pw")}}}, REGISTRY),
    ("port-matters", {"auths": {"registry.example.org": {"auth": b64("bob:pw")}}}, REGISTRY),
    ("colon-in-password", {"auths": {REGISTRY: {"auth": b64(f"alice:{PASSWORD}:with:colons")}}}, REGISTRY),
    ("utf8-username", {"auths": {REGISTRY: {"auth": b64(f"zoë:{PASSWORD}")}}}, REGISTRY),
    ("with-email", {"auths": {REGISTRY: {"auth": b64(f"alice:{PASSWORD}"), "email": "a@b.c"}}}, REGISTRY),
    ("empty-entry", {"auths": {REGISTRY: {}}}, REGISTRY),
    ("identity-token", {"auths": {REGISTRY: {"identitytoken": f"tok-{PASSWORD}"}}}, REGISTRY),
    ("empty-password", {"auths": {REGISTRY: {"auth": b64("alice:")}}}, REGISTRY),
    ("lenient-base64", {"auths": {REGISTRY: {"auth": b64(f"alice:{PASSWORD}") + "!!"}}}, REGISTRY),
    (
        "docker-hub-aliases",
        {"auths": {"https://index.docker.io/v1/": {"auth": b64(f"alice:{PASSWORD}")}}},
        "docker.io",
    ),
    (
        "helper-for-another-registry",
        {
            "auths": {REGISTRY: {"auth": b64(f"alice:{PASSWORD}")}},
            "credHelpers": {"gcr.io": "gcloud", "us-docker.pkg.dev": "gcloud"},
        },
        REGISTRY,
    ),
    (
        "empty-creds-store",
        {"auths": {REGISTRY: {"auth": b64(f"alice:{PASSWORD}")}}, "credsStore": ""},
        REGISTRY,
    ),
    (
        "empty-entry-shadows-url-key",
        {"auths": {REGISTRY: {}, f"https://{REGISTRY}/v1/": {"auth": b64(f"alice:{PASSWORD}")}}},
        REGISTRY,
    ),
    ("no-colon", {"auths": {REGISTRY: {"auth": b64("alice-without-password")}}}, REGISTRY),
    ("bad-padding", {"auths": {REGISTRY: {"auth": "YWxpY2U6cHc"}}}, REGISTRY),
    ("not-a-string", {"auths": {REGISTRY: {"auth": 12345}}}, REGISTRY),
    ("not-utf8", {"auths": {REGISTRY: {"auth": base64.b64encode(b"al\xffce:pw").decode()}}}, REGISTRY),
    (
        "broken-entry-of-another-registry",
        {"auths": {REGISTRY: {"auth": b64(f"alice:{PASSWORD}")}, "other.example": "not-an-object"}},
        REGISTRY,
    ),
]


def sdk_answer(config: dict[str, Any], registry: str) -> tuple[str, ...] | str | None:
    """What the docker SDK resolves, in the shape compared below."""
    from docker import auth, errors

    try:
        resolved = auth.AuthConfig.load_config(None, json.loads(json.dumps(config))).resolve_authconfig(
            registry
        )
    except (errors.InvalidConfigFile, ValueError, TypeError):
        return "error"
    if not resolved:
        return None
    if resolved.get("IdentityToken"):
        return ("token", resolved["IdentityToken"])
    if not resolved.get("username") or not resolved.get("password"):
        return None  # our policy for both readers: half a login is no login
    return (resolved["username"], resolved["password"])


def our_answer(home: Path, config: dict[str, Any], registry: str) -> tuple[str, ...] | str | None:
    path = home / ".docker" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    ctx = make_context(env={"HOME": str(home), "PATH": "/nonexistent"}, home=home)
    try:
        found = dockerconfig.lookup(ctx, registry, timeout=2.0)
    except dockerconfig.DockerConfigError:
        return "error"
    assert found.store is None  # the auths path: no helper involved
    creds = found.credentials
    if creds is None:
        return None
    if creds.identity_token:
        return ("token", creds.password.reveal())
    return (creds.username, creds.password.reveal())


@pytest.mark.parametrize(("config", "registry"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_auths_reader_agrees_with_the_sdk(home: Path, config: dict[str, Any], registry: str) -> None:
    assert our_answer(home, config, registry) == sdk_answer(config, registry)


def test_the_corpus_covers_logins_misses_and_errors(home: Path) -> None:
    # The comparison above must be able to fail: the corpus holds all three outcomes, so a
    # reader that always answered "error" (or never) would disagree somewhere.
    answers = {name: sdk_answer(config, registry) for name, config, registry in CASES}
    assert answers["exact-key"] == ("alice", PASSWORD)
    assert answers["url-key"] == ("alice", PASSWORD)
    assert answers["colon-in-password"] == ("alice", f"{PASSWORD}:with:colons")
    assert answers["other-registry-only"] is None
    assert answers["identity-token"] == ("token", f"tok-{PASSWORD}")
    assert answers["no-colon"] == answers["not-a-string"] == "error"


@pytest.mark.parametrize(
    "config",
    [
        {"auths": ["not", "an", "object"]},
        {"auths": {REGISTRY: {"auth": b64("alice:pw")}}, "credHelpers": ["gcloud"]},
        {"auths": {}, "credsStore": "pass", "credHelpers": "gcloud"},
    ],
    ids=["auths-a-list", "credhelpers-a-list", "credhelpers-a-string"],
)
def test_sections_of_the_wrong_shape_are_a_config_error(home: Path, config: dict[str, Any]) -> None:
    # Where the SDK would stop with an AttributeError, both paths name the section instead.
    path = home / ".docker" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(config))
    with pytest.raises(dockerconfig.DockerConfigError, match="is not an object"):
        dockerconfig.lookup(make_context(env={"HOME": str(home)}, home=home), REGISTRY, timeout=2.0)


def test_a_helper_for_the_registry_takes_the_sdk_path(home: Path) -> None:
    # The split's other side: a helper named for this registry is run (and reported) as such.
    path = home / ".docker" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"auths": {}, "credHelpers": {REGISTRY: "aisg-missing"}}))
    ctx = make_context(env={"HOME": str(home), "PATH": str(home / "empty-bin")}, home=home)
    with pytest.raises(dockerconfig.HelperError) as raised:
        dockerconfig.lookup(ctx, REGISTRY, timeout=2.0)
    assert raised.value.helper == "docker-credential-aisg-missing"


def test_error_messages_name_the_file_and_never_the_secret(home: Path) -> None:
    config = {"auths": {REGISTRY: {"auth": b64(f"alice{PASSWORD}")}}}  # no colon: unusable
    path = home / ".docker" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(config))
    with pytest.raises(dockerconfig.DockerConfigError) as raised:
        dockerconfig.lookup(make_context(env={"HOME": str(home)}, home=home), REGISTRY, timeout=2.0)
    message = str(raised.value)
    assert str(path) in message and REGISTRY in message
    assert PASSWORD not in message and b64(f"alice{PASSWORD}") not in message


def test_a_plain_login_does_not_import_the_sdk(home: Path) -> None:
    # The reason the reader exists: `docker` (requests, urllib3) stays out of a plain login.
    path = home / ".docker" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(CASES[0][1]))
    code = (
        "import sys\n"
        "from tests.helpers import make_context\n"
        "from aisg_check.platform import dockerconfig\n"
        f"ctx = make_context(env={{'HOME': {str(home)!r}}}, home=__import__('pathlib').Path({str(home)!r}))\n"
        f"found = dockerconfig.lookup(ctx, {REGISTRY!r}, timeout=2.0)\n"
        "assert found.credentials is not None and found.credentials.username == 'alice'\n"
        "print(sorted(m for m in sys.modules if m == 'docker' or m.startswith('docker.')))\n"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr[-800:]
    assert proc.stdout.strip() == "[]"


def _write_unusable(path: Path, kind: str) -> None:
    login = json.dumps({REGISTRY: {"auth": b64(f"alice:{PASSWORD}")}})
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer forever
    elif kind == "too-large":
        path.write_text('{"auths": ' + login + ', "pad": "' + "x" * (1 << 20) + '"}')
    elif kind == "deeper-than-the-bound":
        path.write_text('{"auths": ' + login + ', "x": ' + "[" * 40 + "]" * 40 + "}")
    elif kind == "deeper-than-python-recurses":
        path.write_text('{"auths": ' + login + ', "x": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}")
    elif kind == "number-past-int-limit":
        path.write_text('{"auths": ' + login + ', "x": ' + "7" * 5000 + "}")
    else:
        path.write_bytes(b'{"auths": ' + login.encode() + b', "x": "\xff"}')


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("directory", "is a directory"),
        ("fifo", "not a regular file"),
        ("too-large", "too large"),
        ("deeper-than-the-bound", "levels deep"),
        ("deeper-than-python-recurses", "levels deep"),
        ("number-past-int-limit", "not valid JSON"),
        ("not-utf8", "not UTF-8"),
    ],
)
def test_unusable_files_are_named_and_bounded(home: Path, kind: str, words: str) -> None:
    """Every way a file can be unusable is an error naming it (never RecursionError, a blocked
    read or a whole file in memory), and never shows what it holds."""
    if kind == "fifo" and not hasattr(os, "mkfifo"):
        pytest.skip("FIFOs")
    path = home / ".docker" / "config.json"
    path.parent.mkdir(parents=True)
    _write_unusable(path, kind)
    with pytest.raises(dockerconfig.DockerConfigError) as raised:
        dockerconfig.lookup(make_context(env={"HOME": str(home)}, home=home), REGISTRY, timeout=2.0)
    message = str(raised.value)
    assert str(path) in message and words in message, message
    assert PASSWORD not in message and len(message) < 300


@pytest.mark.parametrize(
    "config",
    [
        {"auths": {REGISTRY: {}}, "credsStore": 5},
        {"auths": {REGISTRY: {}}, "credsStore": ["pass"]},
        {"auths": {REGISTRY: {}}, "credHelpers": {REGISTRY: {"name": "pass"}}},
        {"auths": {REGISTRY: {}}, "credHelpers": {"elsewhere.example": 1}},
    ],
    ids=["credsstore-a-number", "credsstore-a-list", "credhelper-an-object", "other-credhelper-a-number"],
)
def test_helpers_of_the_wrong_type_are_a_config_error(home: Path, config: dict[str, Any]) -> None:
    # The docker CLI refuses such a file whole; the SDK would crash on it (TypeError).
    path = home / ".docker" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(config))
    with pytest.raises(dockerconfig.DockerConfigError, match="is not a string") as raised:
        dockerconfig.lookup(make_context(env={"HOME": str(home)}, home=home), REGISTRY, timeout=2.0)
    assert str(path) in str(raised.value)


def test_a_null_helper_is_no_helper(home: Path) -> None:
    # As for the docker CLI (a JSON null decodes to an empty string there): `auths` is read.
    path = home / ".docker" / "config.json"
    path.parent.mkdir(parents=True)
    config = {"auths": {REGISTRY: {"auth": b64(f"alice:{PASSWORD}")}}, "credsStore": None}
    path.write_text(json.dumps({**config, "credHelpers": {REGISTRY: None}}))
    found = dockerconfig.lookup(make_context(env={"HOME": str(home)}, home=home), REGISTRY, timeout=2.0)
    assert found.credentials is not None and found.credentials.username == "alice"


def test_a_username_past_any_registrys_is_refused_not_echoed(home: Path) -> None:
    # Every row of the chain names the user: a 100 kB "username" would be a 100 kB report.
    path = home / ".docker" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"auths": {REGISTRY: {"auth": b64("u" * 100_000 + f":{PASSWORD}")}}}))
    with pytest.raises(dockerconfig.DockerConfigError, match="100000 characters long") as raised:
        dockerconfig.lookup(make_context(env={"HOME": str(home)}, home=home), REGISTRY, timeout=2.0)
    assert str(path) in str(raised.value) and len(str(raised.value)) < 300


def test_a_path_the_os_cannot_take_is_named(tmp_path: Path) -> None:
    # A setting (a robot file, DOCKER_CONFIG from a config file) may hold a NUL byte.
    with pytest.raises(dockerconfig.UnusableFile, match="not a usable path"):
        dockerconfig.read_json(tmp_path / "robot\x00.json", what="a robot account file")
    with pytest.raises(dockerconfig.UnusableFile, match="cannot be read"):
        dockerconfig.read_json(tmp_path / ("x" * 5000), what="a robot account file")  # name too long

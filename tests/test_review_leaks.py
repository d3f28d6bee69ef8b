"""Two leaks a review found: a variable meant to name a file that holds the file itself, as CI
hands over a variable that is not of type File.

- HARBOR_DOCKER_CONFIG_JSON (`harbor.auth_file`) holding the Docker config JSON: read as the file
  would be, shown as "HARBOR_DOCKER_CONFIG_JSON (inline JSON)", and masked everywhere;
- KUBECONFIG holding the kubeconfig's YAML: `runai.kubeconfig` says so (KUBECONFIG_MISSING) without
  echoing it, and the bundle neither lists its pieces as paths nor carries its credentials.

Canaries go through the real CLI: every report format, stderr, `aisg-check config` in each format,
and every member (and name) of an `aisg-check bundle` archive.
"""

from __future__ import annotations

import base64
import gzip
import json
import tarfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from aisg_check.checks.harbor import authfile
from aisg_check.credentials import (
    INLINE_DOCKER_CONFIG,
    inline_label,
    is_inline_json,
    is_inline_yaml,
    scrubber_for,
)
from tests.checks.test_harbor import ROBOT, ROBOT_SECRET, context, env_with
from tests.checks.test_harbor_ci import inline, token_registry  # noqa: F401 (the fixture)
from tests.helpers import LOOPBACK_PROFILE, assert_result, merge, run_cli, run_component, write_config

FORMATS = ("table", "json", "junit", "markdown", "prometheus")
CONFIG_FORMATS = ("table", "json", "yaml")
ROBOT_NAME = "robot$team+ci"
DOCKER_SECRET = "CANARY-inline-docker-7f3a9c"
DOCKER_PASSWORD = "CANARY-inline-password-51be"
KUBE = {
    "token": "CANARY-kube-token-2d8e",
    "password": "CANARY-kube-password-9a1c",
    "id_token": "CANARY-kube-id-token-6b4f",
    "refresh_token": "CANARY-kube-refresh-3e7d",
    "key": "CANARY-kube-client-key-0c5a",
}
# Not secrets, but pieces of the YAML: a check never quotes them (they are no paths either).
KUBE_MARKERS = ("review-marker-cluster", "review-marker-user")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _forms(secret: str, user: str | None = None) -> set[str]:
    forms = {secret, b64(secret), b64(secret).rstrip("="), quote(secret, safe="")}
    forms.add(base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="))
    if user:
        forms |= {b64(f"{user}:{secret}"), b64(f"{user}:{secret}").rstrip("=")}
    return forms


def _docker_json(registry: str = "127.0.0.1:9") -> str:
    auths = {
        registry: {"auth": b64(f"{ROBOT_NAME}:{DOCKER_SECRET}")},
        "other.example:5000": {"username": "bob", "password": DOCKER_PASSWORD},
    }
    return "  " + json.dumps({"auths": auths})  # leading space: still content, as GitLab may keep it


def _kubeconfig_yaml() -> str:
    key = f"-----BEGIN PRIVATE KEY-----\n{KUBE['key']}\n-----END PRIVATE KEY-----\n"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c",
        "clusters": [{"name": KUBE_MARKERS[0], "cluster": {"server": "https://127.0.0.1:9"}}],
        "contexts": [{"name": "c", "context": {"cluster": KUBE_MARKERS[0], "user": KUBE_MARKERS[1]}}],
        "users": [
            {"name": KUBE_MARKERS[1], "user": {"token": KUBE["token"], "client-key-data": b64(key)}},
            {"name": "basic", "user": {"username": "kubeuser", "password": KUBE["password"]}},
            {
                "name": "oidc",
                "user": {
                    "auth-provider": {
                        "name": "oidc",
                        "config": {"id-token": KUBE["id_token"], "refresh-token": KUBE["refresh_token"]},
                    }
                },
            },
        ],
    }
    import yaml

    return yaml.safe_dump(doc, sort_keys=False)


def _env(home: Path, **extra: str) -> dict[str, str]:
    """The loopback profile as the user's config file; ssh's config named under HOME (ssh finds its
    home through the password database), the daemon a closed port."""
    (home / ".ssh").mkdir(exist_ok=True)
    (home / ".ssh" / "config").touch()
    profile = merge(LOOPBACK_PROFILE, {"gitlab": {"ssh_config": str(home / ".ssh" / "config")}})
    write_config(home / ".config" / "aisg-check" / "config.yaml", profile)
    return env_with(home, **extra)


class Outputs:
    """What the CLI printed for a component in every format and for `config` in every format
    (`printed`, with the bundle's stdout and stderr), and the bundle: its whole uncompressed
    stream, and its members by name."""

    def __init__(self, env: dict[str, str], component: list[str], tmp_path: Path) -> None:
        printed: list[str] = []
        self.report: dict[str, Any] = {}
        for fmt in FORMATS:
            extra = ["--verbose"] if fmt == "table" else []
            result = run_cli([*component, "--format", fmt, *extra], env=env)
            assert result.returncode in (0, 1), result.stdout + result.stderr
            assert "Traceback" not in result.stderr, result.stderr
            printed += [result.stdout, result.stderr]
            if fmt == "json":
                self.report = json.loads(result.stdout)
        for fmt in CONFIG_FORMATS:
            result = run_cli(["config", "--format", fmt], env=env)
            assert result.returncode == 0, result.stderr
            printed += [result.stdout, result.stderr]
        out = tmp_path / "support.tar.gz"
        result = run_cli(["bundle", "--only", component[0], "--output", str(out)], env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        printed += [result.stdout, result.stderr]
        self.printed = "\n".join(printed)
        self.stream = gzip.decompress(out.read_bytes()).decode("utf-8", "replace")
        self.members: dict[str, str] = {}
        with tarfile.open(out, "r:gz") as tar:
            for info in tar.getmembers():
                handle = tar.extractfile(info) if info.isfile() else None
                name = info.name.split("/", 1)[-1]
                self.members[name] = handle.read().decode("utf-8", "replace") if handle else ""

    def everything(self) -> str:
        return "\n".join([self.printed, self.stream, *self.members, *self.members.values()])

    def results(self) -> dict[str, dict[str, Any]]:
        return {r["id"]: r for r in self.report["results"]}


# -- HARBOR_DOCKER_CONFIG_JSON holding the JSON ------------------------------------------------------


def test_inline_docker_config_json_is_never_shown(home: Path, tmp_path: Path) -> None:
    value = _docker_json()
    out = Outputs(_env(home, HARBOR_DOCKER_CONFIG_JSON=value), ["harbor", "--skip", "vpn.*"], tmp_path)
    text = out.everything()
    forbidden = {value, value.strip()} | _forms(DOCKER_SECRET, ROBOT_NAME) | _forms(DOCKER_PASSWORD, "bob")
    for form in forbidden:
        assert form not in text, form
    # Only the hint's template and the bundle's redacted copy hold `auths`; never the JSON as a path.
    assert "does not exist" not in text and '{\\"auths\\":' not in out.printed
    # Read as the file would be: the login is found and tried (on a closed port), named by the variable.
    ci = out.results()["harbor.ci.file"]
    assert ci["status"] == "pass", ci
    assert ci["details"]["file"] == INLINE_DOCKER_CONFIG and INLINE_DOCKER_CONFIG in ci["summary"]
    assert out.results()["harbor.ci.auth"]["status"] == "fail"
    assert f"harbor.auth_file          {INLINE_DOCKER_CONFIG}" in out.printed  # `config`'s table
    assert (
        json.loads(out.members["settings.json"])["settings"]["harbor.auth_file"]["value"]
        == INLINE_DOCKER_CONFIG
    )
    assert f"`{INLINE_DOCKER_CONFIG}`" in out.members["redactions.md"]
    assert "<redacted>" in out.members["files/harbor_auth.json"]  # its redacted copy, as of a file


def test_inline_docker_config_json_that_is_not_json_is_named_never_quoted(home: Path, tmp_path: Path) -> None:
    value = json.dumps(inline("127.0.0.1:9", ROBOT_NAME, DOCKER_SECRET))[:-3]  # cut short
    out = Outputs(_env(home, HARBOR_DOCKER_CONFIG_JSON=value), ["harbor", "--skip", "vpn.*"], tmp_path)
    text = out.everything()
    for form in {value, b64(f"{ROBOT_NAME}:{DOCKER_SECRET}")}:
        assert form not in text, form
    ci = out.results()["harbor.ci.file"]
    assert ci["code"] == "HARBOR_AUTH_FILE_INVALID", ci
    assert ci["summary"].startswith(f"{INLINE_DOCKER_CONFIG}:1: not valid JSON"), ci["summary"]
    assert "does not exist" not in text


def test_inline_docker_config_json_with_a_valid_login_can_push(
    token_registry: Any,  # noqa: F811 (the fixture)
    home: Path,
    ca_file: Path,
) -> None:
    """The JSON itself in the variable works like the file: on the registry stand-in, the robot
    logs in and may push; no form of its secret in any output."""
    address = token_registry.address
    value = json.dumps(inline(address))
    results = run_component(context(address, home, ca_file, auth_file=value), "harbor", only=["harbor.ci"])
    assert_result(results, "harbor.ci.file", "pass", summary_has=[ROBOT, INLINE_DOCKER_CONFIG])
    assert_result(results, "harbor.ci.auth", "pass")
    assert_result(results, "harbor.ci.push.team", "pass")

    profile = merge(LOOPBACK_PROFILE, {"ca_bundle": str(ca_file), "harbor": {"registry": address}})
    config = write_config(home / "aisg.yaml", profile)
    env = env_with(home, AISG_CHECK_CONFIG=str(config), HARBOR_DOCKER_CONFIG_JSON=value)
    outputs = []
    for fmt in FORMATS:
        result = run_cli(["harbor", "--only", "harbor.ci", "--format", fmt], env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(result.stdout + result.stderr)
        if fmt == "json":
            ci = {r["id"]: r for r in json.loads(result.stdout)["results"]}
            assert ci["harbor.ci.file"]["status"] == "pass" and ci["harbor.ci.push.team"]["status"] == "pass"
    text = "\n".join(outputs)
    for form in {value} | _forms(ROBOT_SECRET, ROBOT):
        assert form not in text, form


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"auths": {"127.0.0.1:9": {"auth": "bm90LWJhc2U2NA=="}}}', "not standard base64"),
        ('{"auths": {}, "credsStore": "desktop"}', "credsStore"),
        ('{"auths": ' + "[" * 40 + "]" * 40 + "}", "nested more than"),
        ('{"kind": "Secret", "data": {}}', "a Kubernetes Secret"),
    ],
)
def test_inline_content_gets_the_files_validation(home: Path, content: str, words: str) -> None:
    ctx = context("127.0.0.1:9", home, None, auth_file=content)
    results = run_component(ctx, "harbor", only=["harbor.ci"])
    ci = results["harbor.ci.file"]
    assert ci.code and ci.code.startswith("HARBOR_AUTH_FILE_"), ci
    assert ci.summary.startswith(INLINE_DOCKER_CONFIG) and words in ci.summary, ci.summary
    assert content not in json.dumps(ci.to_dict())


def test_a_path_stays_a_path(tmp_path: Path) -> None:
    odd = tmp_path / "{odd}.json"
    odd.write_text("{}")
    assert not is_inline_json(str(odd)) and is_inline_json(' {"auths": {}}')
    assert is_inline_json("{missing}")  # `{` first and no such file: content
    assert not is_inline_json(str(tmp_path / "config.json"))
    assert is_inline_yaml("apiVersion: v1") and is_inline_yaml("a\nb") and not is_inline_yaml("/a:/b")
    assert inline_label("harbor.auth_file", str(odd)) is None
    assert inline_label("runai.kubeconfig", "apiVersion: v1\n") == "runai.kubeconfig (inline YAML)"
    assert authfile.INLINE == INLINE_DOCKER_CONFIG


def test_the_start_up_scrubber_knows_inline_content() -> None:
    docker, kube = _docker_json(), _kubeconfig_yaml()
    scrubber = scrubber_for([], [], {"HARBOR_DOCKER_CONFIG_JSON": docker, "KUBECONFIG": kube})
    text = " | ".join(
        [docker, kube, b64(f"{ROBOT_NAME}:{DOCKER_SECRET}"), b64(f"bob:{DOCKER_PASSWORD}"), *KUBE.values()]
    )
    scrubbed = scrubber.scrub(text)
    for secret in (DOCKER_SECRET, DOCKER_PASSWORD, *KUBE.values(), b64(f"{ROBOT_NAME}:{DOCKER_SECRET}")):
        assert secret not in scrubbed, secret
    assert "apiVersion" not in scrubbed  # the whole value, masked as one
    assert scrubber_for([], [], {"KUBECONFIG": "/a/config:/b/config"}).scrub("/a/config") == "/a/config"


# -- KUBECONFIG holding the YAML ----------------------------------------------------------------------


def test_kubeconfig_content_is_named_never_echoed(home: Path, tmp_path: Path) -> None:
    value = _kubeconfig_yaml()
    out = Outputs(_env(home, KUBECONFIG=value), ["runai"], tmp_path)
    text = out.everything()
    for secret in KUBE.values():
        for form in _forms(secret, "kubeuser" if secret == KUBE["password"] else None):
            assert form not in text, form
    assert value not in text and value.strip() not in text
    step = out.results()["runai.kubeconfig"]
    assert step["status"] == "fail" and step["code"] == "KUBECONFIG_MISSING", step
    assert step["summary"] == (
        "KUBECONFIG holds YAML content, not a path: put it in a file (a GitLab File variable) and point "
        "KUBECONFIG at it"
    )
    # No report quotes a piece of the YAML (its "paths"): only the bundle's redacted copy has them,
    # and the redaction report names the users whose credentials it removed.
    reports = [out.printed] + [v for k, v in out.members.items() if k != "files/kubeconfig"]
    for marker in ("current-context", "apiVersion", "kind: Config", "No kubeconfig at"):
        assert not [r for r in reports if marker in r], marker
    for marker in KUBE_MARKERS:
        assert not [
            v for k, v in out.members.items() if marker in v and not k.startswith(("files/", "redactions"))
        ]
        assert marker not in out.printed, marker
    assert "## kubeconfig: `KUBECONFIG (inline YAML)`" in out.members["redactions.md"]
    entries = json.loads(out.members["redactions.json"])["files"]
    kube = next(e for e in entries if e["kind"] == "kubeconfig")
    assert kube["path"] == "KUBECONFIG (inline YAML)" and kube["member"] == "files/kubeconfig", kube
    copy = out.members["files/kubeconfig"]
    assert "token: <redacted>" in copy and KUBE_MARKERS[0] in copy


def test_content_that_is_not_utf8_is_a_coded_result_not_a_crash(home: Path) -> None:
    """Bytes that are not UTF-8 in the variable (Python keeps them as surrogates) cannot be
    registered with the scrubber nor printed: the checks name the variable, nothing crashes."""
    env = _env(
        home, HARBOR_DOCKER_CONFIG_JSON='{"auths": "\udcff\udcfe"}', KUBECONFIG="apiVersion: v1\n\udcff"
    )
    result = run_cli(["harbor", "--only", "harbor.ci", "--format", "json"], env=env)
    assert result.returncode == 1 and "internal error" not in result.stderr, result.stderr
    ci = {r["id"]: r for r in json.loads(result.stdout)["results"]}["harbor.ci.file"]
    assert ci["summary"] == f"{INLINE_DOCKER_CONFIG}: cannot be read (not UTF-8 text)", ci
    result = run_cli(["runai", "--skip", "vpn.*", "--format", "json"], env=env)
    assert result.returncode == 1 and "internal error" not in result.stderr, result.stderr
    step = {r["id"]: r for r in json.loads(result.stdout)["results"]}["runai.kubeconfig"]
    assert step["code"] == "KUBECONFIG_MISSING" and step["summary"].startswith(
        "KUBECONFIG holds YAML content"
    )


def test_a_secret_that_is_not_utf8_is_registered_not_a_crash() -> None:
    from aisg_check.secrets import Scrubber

    raw = "abc\udcffdefgh"  # how os.environ holds the bytes abc\xffdefgh
    scrubber = Scrubber()
    scrubber.add(raw)
    scrubber.add_login("alice", raw)
    assert scrubber.scrub(f"token {raw} here") == "token *** here"

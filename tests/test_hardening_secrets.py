"""Issue 16, secrets: every credential in every encoding a server or program may echo, messages
that never quote a credential, and paths that are not mistaken for one."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from aisg_check.credentials import is_secret_env, scrubber_for
from aisg_check.secrets import MASK, Scrubber, clip, encodings, shown, strip_credentials
from tests.helpers import LOOPBACK_PROFILE, run_cli, write_config

SECRET = "S3cr3t/pw+CANARY=x%"
USER = "alice"


def _echoes(value: str) -> dict[str, str]:
    """Every way a program may print `value`, inside other text."""
    raw = value.encode()
    out = {
        "plain": value,
        "quoted": quote(value, safe=""),
        "quoted-path": quote(value),
        "quoted-plus": quote_plus(value),
    }
    for pad in range(6):  # every alignment inside a longer base64 text, twice over
        for after in (b"", b"z", b"zz"):
            text = base64.b64encode(b"p" * pad + raw + after).decode()
            out[f"b64-{pad}-{len(after)}"] = text
            out[f"b64url-{pad}-{len(after)}"] = base64.urlsafe_b64encode(b"p" * pad + raw + after).decode()
    return out


def _leaks(text: str, value: str) -> list[str]:
    """Which echo forms of `value` survive in `text` (the part that depends on the value only)."""
    found = []
    for name, form in _echoes(value).items():
        if name.startswith("b64"):
            pad = int(name.split("-")[1])
            start = (8 * pad + 5) // 6
            core = form[start : (8 * (pad + len(value.encode()))) // 6]
            if core and core in text:
                found.append(name)
        elif form in text:
            found.append(name)
    return found


@pytest.mark.parametrize("form", sorted(_echoes(SECRET)))
def test_a_registered_credential_is_masked_in_every_encoding_and_alignment(form: str) -> None:
    scrubber = Scrubber([SECRET])
    echoed = _echoes(SECRET)[form]
    text = scrubber.scrub(f"server said: [{echoed}] and more")
    assert not _leaks(text, SECRET), text
    assert "server said" in text and MASK in text


@pytest.mark.parametrize("user", ["a", "al", "ali", "alic", "alice", "bob.smith"])
def test_basic_auth_of_user_and_password_is_masked_whatever_the_user_name_length(user: str) -> None:
    """Today only the user names whose length aligned the password in base64 were masked."""
    scrubber = Scrubber()
    scrubber.add_login(user, SECRET)
    basic = base64.b64encode(f"{user}:{SECRET}".encode()).decode()
    for text in (f"Basic {basic}", f"x{basic}y", f"reason: {basic.rstrip('=')}"):
        out = scrubber.scrub(text)
        assert basic.rstrip("=") not in out, out
        assert not _leaks(out, SECRET), out


def test_encodings_of_a_short_secret_do_not_mask_ordinary_words() -> None:
    # A base64 fragment of fewer than 6 characters could match ordinary text.
    assert all(len(form) >= 6 for form in encodings("pass") if form != "pass")
    scrubber = Scrubber(["pass"])
    assert scrubber.scrub("vpn.gitlab answered HTTP 200 in 3 ms") == "vpn.gitlab answered HTTP 200 in 3 ms"


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("AWS_SHARED_CREDENTIALS_FILE", "/home/u/.aws/credentials", False),
        ("GOOGLE_APPLICATION_CREDENTIALS", "EXISTING", False),  # a path, although the name says nothing
        ("SSH_AUTH_SOCK", "/tmp/ssh-x/agent.1", False),
        ("DOCKER_CERT_PATH", "/certs", False),
        ("GITLAB_TOKEN", "glpat-abc123", True),
        ("AWS_SECRET_ACCESS_KEY", "abc/def+ghi", True),
        ("MLFLOW_TRACKING_PASSWORD", "pw-value", True),
        ("HOME", "/root", False),
    ],
)
def test_a_variable_naming_a_file_is_not_a_secret(
    name: str, value: str, secret: bool, tmp_path: Path
) -> None:
    if value == "EXISTING":
        value = str(tmp_path / "key.json")
        Path(value).write_text("{}")
    assert is_secret_env(name, value) is secret


def test_the_seeded_scrubber_knows_url_logins_env_pairs_and_not_paths(tmp_path: Path) -> None:
    creds = tmp_path / "aws-credentials"
    env = {
        "HTTPS_PROXY": "http://proxyuser:proxy%40pw-CANARY@127.0.0.1:3128",
        "MLFLOW_TRACKING_USERNAME": "bob",
        "MLFLOW_TRACKING_PASSWORD": "mlflow-pw-CANARY",
        "AWS_SHARED_CREDENTIALS_FILE": str(creds),
    }
    scrubber = scrubber_for([], ["https://carol:url-pw-CANARY@127.0.0.1/x"], env)
    for user, secret in (
        ("proxyuser", "proxy@pw-CANARY"),
        ("bob", "mlflow-pw-CANARY"),
        ("carol", "url-pw-CANARY"),
    ):
        basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
        assert scrubber.scrub(basic) == MASK, (user, scrubber.scrub(basic))
        assert secret not in scrubber.scrub(f"said {secret}")
    assert "proxy%40pw-CANARY" not in scrubber.scrub("proxy%40pw-CANARY")
    assert scrubber.scrub(f"cannot read {creds}") == f"cannot read {creds}"


@pytest.mark.parametrize(
    "value",
    [
        "user:pw-CANARY@host",
        "user:pw-CANARY@host/x",
        "ftp://user:pw-CANARY@host",
        ["https://a:pw-CANARY@h/"],
        "  bob:pw-CANARY@127.0.0.1:5000",
    ],
)
def test_a_value_quoted_in_a_message_never_shows_a_credential(value: object) -> None:
    text = shown(value)
    assert "pw-CANARY" not in text
    assert "pw-CANARY" not in strip_credentials(str(value))


def test_quoted_values_are_capped() -> None:
    assert len(shown("x" * 100_000)) < 140
    assert "more characters" in shown("x" * 100_000)
    assert shown("short") == "'short'" and shown("glpat-x", secret=True) == "<hidden>"
    assert len(clip("y" * 10**6)) < 2100


# -- the CLI's own messages (exit 2) ---------------------------------------------------------------


@pytest.fixture()
def env(home: Path) -> dict[str, str]:
    write_config(home / ".config" / "aisg-check" / "config.yaml", LOOPBACK_PROFILE)
    return dict(os.environ)


@pytest.mark.parametrize(
    ("args", "extra_env", "says"),
    [
        (["vpn", "--set", "gitlab.token:glpat-CANARY-colon"], {}, "expected KEY=VALUE"),
        (["vpn", "--set", "gitlab.token glpat-CANARY-space"], {}, "expected KEY=VALUE"),
        (["vpn", "--set", "alice:pw-CANARY-set@host"], {}, "expected KEY=VALUE"),
        (["vpn", "--set", "gitlab.repo=alice:pw-CANARY-repo@host/x"], {}, "'gitlab.repo' must be an http"),
        (["mlflow", "--tracking-uri", "alice:pw-CANARY-flag@host"], {}, "'mlflow.tracking_uri' must be"),
        (["vpn"], {"MLFLOW_TRACKING_URI": "alice:pw-CANARY-env@host"}, "MLFLOW_TRACKING_URI"),
        (["vpn"], {"AISG_CHECK_MLFLOW_TRACKING_URI": "ftp://alice:pw-CANARY-ftp@host"}, "must be an http"),
        (["vpn", "--set", "gitlab.ssh_port=alice:pw-CANARY-port@host"], {}, "'gitlab.ssh_port' must be"),
        (["vpn", "--set", "vpn.extra=x", "--set", "timeout=alice:pw-CANARY-t@h"], {}, "'timeout' must be"),
        (["config", "--set", "gitlab.token:glpat-CANARY-config"], {}, "expected KEY=VALUE"),
    ],
)
def test_usage_errors_never_echo_a_credential(
    env: dict[str, str], args: list[str], extra_env: dict[str, str], says: str
) -> None:
    result = run_cli(args, env={**env, **extra_env})
    assert result.returncode == 2, result
    assert says in result.stderr
    assert "CANARY" not in result.stderr + result.stdout, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_huge_value_in_an_error_is_capped(env: dict[str, str]) -> None:
    result = run_cli(["vpn", "--set", "timeout=" + "9" * 100_000], env=env)
    assert result.returncode == 2 and "more characters" in result.stderr
    assert len(result.stderr) < 400


def test_a_credentials_file_path_is_shown_not_masked(env: dict[str, str], tmp_path: Path) -> None:
    """AWS_SHARED_CREDENTIALS_FILE names a file: a message about that file shows its path (it
    was registered as a secret and shown as ***)."""
    missing = tmp_path / "no-such-credentials"
    result = run_cli(
        ["ecs", "--skip", "vpn.*", "--format", "json"],
        env={**env, "AWS_SHARED_CREDENTIALS_FILE": str(missing)},
    )
    assert result.returncode == 1, result.stderr
    profile = next(r for r in result.json()["results"] if r["id"] == "ecs.profile")
    assert str(missing) in (profile["summary"] + (profile["hint"] or "")), profile


def test_config_shows_a_schemeless_login_masked_in_every_format(env: dict[str, str]) -> None:
    for fmt in ("table", "json", "yaml"):
        result = run_cli(
            ["config", "--format", fmt, "--set", "harbor.registry=bob:pw-CANARY-reg@reg.example"], env=env
        )
        assert result.returncode == 0, result.stderr
        assert "CANARY" not in result.stdout + result.stderr and "reg.example" in result.stdout


_BIG = """
import sys
from aisg_check import registry
from aisg_check.check import Check, Step
from aisg_check.model import Diagnosis

OOPS = Diagnosis("TEST_OOPS", "Oops", "A test failure.", "Do the thing.")

def big(ctx, rec):
    rec.fail("big", OOPS, "y" * 1_000_000, hint="h" * 1_000_000, details={"echo": ["z" * 1_000_000]})

registry.select = lambda *args, **kwargs: [Check("big", "vpn", "big", (Step("big", "big"),), big, (OOPS,))]
sys.argv = ["aisg-check", "all", "--format", sys.argv[1]]
from aisg_check.cli import main
main()
"""


@pytest.mark.parametrize("fmt", ["table", "json", "junit", "markdown"])
def test_every_text_of_a_result_is_capped_in_every_format(env: dict[str, str], fmt: str) -> None:
    """A program or server that answers with megabytes (a 312 MB error line was seen) gets a
    few thousand characters of it into the report."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", _BIG, fmt], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "more characters" in proc.stdout
    assert len(proc.stdout) < 40_000, len(proc.stdout)

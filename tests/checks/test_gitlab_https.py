"""`gitlab.https` against real nginx + git-http-backend (basic auth, trustme certificate) with
GitLab's two API endpoints behind the same nginx; one test per diagnosis, the secret canary,
and the whole `aisg-check gitlab` end to end through the CLI."""

from __future__ import annotations

import base64
import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aisg_check.checks.gitlab.git import foreign_repo
from aisg_check.context import CommandResult, run_command
from aisg_check.model import CheckResult
from tests.conftest import require
from tests.helpers import assert_result, make_context, run_cli, run_component, write_config
from tests.servers import gitlab_http, gitlab_ssh
from tests.servers.faults import CATEGORIES, Fault, assert_shared_code, faults
from tests.servers.gitlab_http import HELPER_USER, INVALID_TOKEN, JOB_TOKEN, TOKENS, GitlabHttpServer
from tests.servers.gitlab_ssh import GitlabSshServer


@pytest.fixture(scope="session")
def gitlab_web(tmp_path_factory: pytest.TempPathFactory, ca: Any) -> Iterator[GitlabHttpServer]:
    missing = gitlab_http.available()
    require(missing is None, missing or "")
    server = GitlabHttpServer(tmp_path_factory.mktemp("gitlab-http"), ca)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitlabSshServer]:
    missing = gitlab_ssh.available()
    require(missing is None, missing or "")
    server = GitlabSshServer(tmp_path_factory.mktemp("sshd-e2e"))
    yield server
    server.stop()


@pytest.fixture()
def git_trusts_ca(home: Path, ca_file: Path) -> Path:
    """git reads $HOME/.gitconfig (unlike ssh): make it trust the test CA, as a user would."""
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(f"[http]\n\tsslCAInfo = {ca_file}\n")
    return gitconfig


def settings(web: GitlabHttpServer, ca_file: Path, repo: str | None = "default") -> dict[str, Any]:
    return {
        "timeout": 5,
        "ca_bundle": str(ca_file),
        "gitlab": {"url": web.url, "repo": web.repo_url if repo == "default" else repo},
    }


def run_https(
    web: GitlabHttpServer,
    ca_file: Path,
    *,
    repo: str | None = "default",
    run: Callable[..., CommandResult] = run_command,
    **env: str,
) -> dict[str, CheckResult]:
    ctx = make_context(settings(web, ca_file, repo), env={**os.environ, **env}, run=run)
    return run_component(ctx, "gitlab", only=["gitlab.https"])


def statuses(results: dict[str, CheckResult]) -> list[tuple[str, str | None]]:
    return [
        (results[f"gitlab.https.{s}"].status.value, results[f"gitlab.https.{s}"].code)
        for s in ("token", "user", "git")
    ]


@pytest.mark.usefixtures("git_trusts_ca")
def test_pass_token_user_and_git(gitlab_web: GitlabHttpServer, ca_file: Path) -> None:
    results = run_https(gitlab_web, ca_file, GITLAB_TOKEN=TOKENS["valid"].value)
    assert statuses(results) == [("pass", None)] * 3
    assert results["gitlab.https.user"].details["username"] == "alice"
    assert results["gitlab.https.git"].details == {
        "repo": gitlab_web.repo_url,
        "user": "alice",
        "branches": 1,
    }
    assert "api" in results["gitlab.https.token"].details["scopes"]


@pytest.mark.usefixtures("git_trusts_ca")
def test_expires_soon_is_a_warning_and_git_still_runs(gitlab_web: GitlabHttpServer, ca_file: Path) -> None:
    results = run_https(gitlab_web, ca_file, GITLAB_TOKEN=TOKENS["soon"].value)
    assert statuses(results) == [("warn", "GITLAB_TOKEN_EXPIRES_SOON"), ("pass", None), ("pass", None)]
    assert results["gitlab.https.token"].details["expires_in_days"] == 3


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (TOKENS["expired"].value, "GITLAB_TOKEN_EXPIRED"),
        (TOKENS["revoked"].value, "GITLAB_TOKEN_REVOKED"),
        (INVALID_TOKEN, "GITLAB_TOKEN_INVALID"),
        (TOKENS["noscope"].value, "GITLAB_TOKEN_SCOPE"),
    ],
)
def test_token_rejected(gitlab_web: GitlabHttpServer, ca_file: Path, token: str, code: str) -> None:
    results = run_https(gitlab_web, ca_file, GITLAB_TOKEN=token)
    assert statuses(results)[0] == ("fail", code)
    assert results["gitlab.https.git"].blocked_by == "gitlab.https.token"
    assert token not in repr(results)


@pytest.mark.usefixtures("git_trusts_ca")
def test_token_without_api_scope_still_checks_git(gitlab_web: GitlabHttpServer, ca_file: Path) -> None:
    results = run_https(gitlab_web, ca_file, GITLAB_TOKEN=TOKENS["gitonly"].value)
    assert statuses(results) == [
        ("warn", "GITLAB_TOKEN_SCOPE"),
        ("skip", "GITLAB_TOKEN_SCOPE"),
        ("pass", None),
    ]
    assert results["gitlab.https.git"].details["user"] == "oauth2"


def test_token_missing_is_a_warning(gitlab_web: GitlabHttpServer, ca_file: Path) -> None:
    results = run_https(gitlab_web, ca_file)
    assert statuses(results) == [
        ("warn", "GITLAB_TOKEN_MISSING"),
        ("skip", "GITLAB_TOKEN_MISSING"),
        ("skip", "GITLAB_TOKEN_MISSING"),
    ]
    assert "export GITLAB_TOKEN=" in (results["gitlab.https.token"].hint or "")


@pytest.mark.usefixtures("git_trusts_ca")
def test_git_refuses_a_token_the_api_accepts(gitlab_web: GitlabHttpServer, ca_file: Path) -> None:
    results = run_https(gitlab_web, ca_file, GITLAB_TOKEN=TOKENS["nogit"].value)
    assert statuses(results)[2] == ("fail", "GITLAB_GIT_AUTH_DENIED")


@pytest.mark.usefixtures("git_trusts_ca")
def test_repository_not_found(gitlab_web: GitlabHttpServer, ca_file: Path) -> None:
    results = run_https(
        gitlab_web, ca_file, repo=f"{gitlab_web.url}/mlops/nope.git", GITLAB_TOKEN=TOKENS["valid"].value
    )
    assert statuses(results)[2] == ("fail", "GITLAB_REPO_NOT_FOUND")


def test_git_not_trusting_the_ca_is_told_apart(gitlab_web: GitlabHttpServer, ca_file: Path) -> None:
    # The API call trusts ca_bundle; git has its own settings and, here, no sslCAInfo.
    results = run_https(gitlab_web, ca_file, GITLAB_TOKEN=TOKENS["valid"].value)
    assert statuses(results)[:2] == [("pass", None), ("pass", None)]
    assert statuses(results)[2] == ("fail", "TLS_UNTRUSTED_CERT")
    assert "http.sslCAInfo" in (results["gitlab.https.git"].hint or "")


def test_no_repository_configured(gitlab_web: GitlabHttpServer, ca_file: Path) -> None:
    results = run_https(gitlab_web, ca_file, repo=None, GITLAB_TOKEN=TOKENS["valid"].value)
    assert statuses(results)[2] == ("skip", "NOT_CONFIGURED")
    assert "--repo" in (results["gitlab.https.git"].hint or "")


@pytest.mark.usefixtures("git_trusts_ca")
@pytest.mark.parametrize(
    ("repo", "why"),
    [
        ("https://localhost:{port}/mlops/demo.git", "not on GitLab's 127.0.0.1"),  # another host name
        ("https://127.0.0.1:{other}/mlops/demo.git", "not on GitLab's 127.0.0.1"),  # another port
        ("http://127.0.0.1:{port}/mlops/demo.git", "unencrypted"),  # plain http to GitLab's host
    ],
)
def test_token_is_not_sent_to_a_repository_elsewhere(
    gitlab_web: GitlabHttpServer, ca_file: Path, repo: str, why: str
) -> None:
    ran: list[tuple[str, ...]] = []

    def recording(argv: Any, **kwargs: Any) -> CommandResult:
        ran.append(tuple(str(a) for a in argv))
        return run_command(argv, **kwargs)

    repo = repo.format(port=gitlab_web.port, other=gitlab_web.port + 1)
    results = run_https(gitlab_web, ca_file, repo=repo, run=recording, GITLAB_TOKEN=TOKENS["valid"].value)
    git = results["gitlab.https.git"]
    assert (git.status.value, git.code) == ("warn", "GITLAB_REPO_FOREIGN_HOST"), git.summary
    assert why in git.summary
    assert f"--repo {gitlab_web.url}/<group>/<project>.git" in (git.hint or "")
    assert not [cmd for cmd in ran if cmd[:2] == ("git", "ls-remote")]  # git never ran: no token sent


def test_repository_on_gitlab_itself_is_accepted() -> None:
    def why(url: str, repo: str) -> str | None:
        return foreign_repo(make_context({"gitlab": {"url": url}}), repo)

    assert why("https://GitLab.example.org", "https://gitlab.example.org:443/g/p.git") is None
    assert why("http://127.0.0.1:8080", "http://127.0.0.1:8080/g/p.git") is None  # a plain-http GitLab
    assert why("http://127.0.0.1:8080", "https://127.0.0.1:8080/g/p.git") is None
    assert why("https://gitlab.example.org", "https://gitlab.example.org.evil/g/p.git")
    assert why("https://gitlab.example.org", "https://gitlab.example.org:8443/g/p.git")


@pytest.mark.usefixtures("git_trusts_ca")
def test_git_failure_not_recognised(gitlab_web: GitlabHttpServer, ca_file: Path, home: Path) -> None:
    """git stops for a reason of its own (here a broken ~/.gitconfig): its message, and how to see it."""
    with (home / ".gitconfig").open("a") as f:
        f.write("[http\n")
    results = run_https(gitlab_web, ca_file, GITLAB_TOKEN=TOKENS["valid"].value)
    git = results["gitlab.https.git"]
    assert (git.status.value, git.code) == ("fail", "GITLAB_GIT_FAILED"), git.summary
    assert "config" in git.summary
    assert f"git ls-remote {gitlab_web.repo_url}" in (git.hint or "")
    assert TOKENS["valid"].value not in repr(git)


@pytest.mark.usefixtures("git_trusts_ca")
def test_ci_job_token(gitlab_web: GitlabHttpServer, ca_file: Path) -> None:
    results = run_https(gitlab_web, ca_file, CI_JOB_TOKEN=JOB_TOKEN)
    assert statuses(results) == [("pass", None), ("skip", "GITLAB_TOKEN_JOB"), ("pass", None)]
    assert results["gitlab.https.git"].details["user"] == "gitlab-ci-token"


def _credential_store(home: Path, gitconfig: Path, web: GitlabHttpServer, token: str) -> Path:
    store = home / ".git-credentials"
    store.write_text(f"https://{HELPER_USER}:{token}@127.0.0.1:{web.port}\n")
    with gitconfig.open("a") as f:
        f.write(f"[credential]\n\thelper = store --file {store}\n")
    return store


def test_token_from_credential_helper_is_used_but_never_stored(
    gitlab_web: GitlabHttpServer, ca_file: Path, home: Path, git_trusts_ca: Path
) -> None:
    store = _credential_store(home, git_trusts_ca, gitlab_web, TOKENS["valid"].value)
    before = store.read_text()
    results = run_https(gitlab_web, ca_file)
    assert statuses(results) == [("pass", None)] * 3
    assert "credential helper" in results["gitlab.https.token"].summary
    assert results["gitlab.https.git"].details["user"] == HELPER_USER
    assert store.read_text() == before


def test_rejected_helper_token_is_not_erased(
    gitlab_web: GitlabHttpServer, ca_file: Path, home: Path, git_trusts_ca: Path
) -> None:
    store = _credential_store(home, git_trusts_ca, gitlab_web, TOKENS["nogit"].value)
    before = store.read_text()
    results = run_https(gitlab_web, ca_file)
    assert statuses(results)[2] == ("fail", "GITLAB_GIT_AUTH_DENIED")
    assert store.read_text() == before  # git's `credential reject` would have erased it


@pytest.mark.usefixtures("git_trusts_ca")
def test_token_never_on_a_command_line(gitlab_web: GitlabHttpServer, ca_file: Path) -> None:
    """`ps` shows a child's argv: record every command the check runs and look for the token."""
    seen: list[tuple[str, ...]] = []

    def recording(argv: Any, **kwargs: Any) -> CommandResult:
        seen.append(tuple(str(a) for a in argv))
        return run_command(argv, **kwargs)

    token = TOKENS["valid"].value
    results = run_https(gitlab_web, ca_file, run=recording, GITLAB_TOKEN=token)
    assert_result(results, "gitlab.https.git", "pass")
    assert any(cmd[:2] == ("git", "ls-remote") for cmd in seen)
    basic = base64.b64encode(f"alice:{token}".encode()).decode()
    assert not [cmd for cmd in seen if any(token in a or basic in a for a in cmd)]


# -- end to end through the CLI, and the canary in every output format ------------------------


def _cli_args(web: GitlabHttpServer, sshd: GitlabSshServer, ssh_config: Path, ca_file: Path) -> list[str]:
    return [
        "gitlab",
        "--ca-bundle",
        str(ca_file),
        "--timeout",
        "5",
        "--set",
        "gitlab.host=127.0.0.1",
        "--set",
        f"gitlab.ssh_port={sshd.port}",
        "--set",
        f"gitlab.ssh_user={sshd.login}",
        "--set",
        f"gitlab.ssh_config={ssh_config}",
        "--set",
        f"gitlab.url={web.url}",
        "--repo",
        web.repo_url,
    ]


def _ssh_home(sshd: GitlabSshServer, home: Path) -> Path:
    key = sshd.copy_key(sshd.key_ok, home / ".ssh")
    return sshd.client_home(home, identity=key, port=sshd.port)


@pytest.mark.usefixtures("git_trusts_ca")
def test_end_to_end_json_all_green(
    gitlab_web: GitlabHttpServer, sshd: GitlabSshServer, home: Path, ca_file: Path
) -> None:
    args = _cli_args(gitlab_web, sshd, _ssh_home(sshd, home), ca_file)
    result = run_cli([*args, "--format", "json"], env={**os.environ, "GITLAB_TOKEN": TOKENS["valid"].value})
    assert result.returncode == 0, result.stdout + result.stderr
    data = result.json()
    by_id = {r["id"]: r for r in data["results"]}
    assert {i for i in by_id if i.startswith("gitlab.")} == {
        "gitlab.ssh.config",
        "gitlab.ssh.key",
        "gitlab.ssh.hostkey",
        "gitlab.ssh.auth",
        "gitlab.https.token",
        "gitlab.https.user",
        "gitlab.https.git",
    }
    assert all(r["status"] == "pass" for r in data["results"]), data["results"]
    assert by_id["gitlab.ssh.auth"]["details"]["username"] == "alice"
    assert [c["kind"] for c in by_id["gitlab.https.token"]["credentials"]] == ["gitlab_token"]
    assert TOKENS["valid"].value not in result.stdout + result.stderr


# -- fleet mode: GITLAB_TOKEN from a Secret, as deploy/base/cronjob.yaml sets it ------------------


def _fleet_env(
    web: GitlabHttpServer, sshd: GitlabSshServer, ca_file: Path, tmp_path: Path, token: str
) -> Any:
    """The CronJob's environment: HOME an empty emptyDir (no ssh or git config), the config file
    from the ConfigMap, GITLAB_TOKEN from the aisg-check-gitlab Secret."""
    home = tmp_path / "home-aisg"
    home.mkdir()
    settings = {
        "fleet": {"mode": "cluster", "project": "example"},
        "expiry_warning_days": 14,
        "timeout": 5,
        "ca_bundle": str(ca_file),
        "gitlab": {"host": "127.0.0.1", "ssh_port": sshd.port, "url": web.url, "repo": web.repo_url},
    }
    config = write_config(tmp_path / "etc-aisg-check" / "config.yaml", settings)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GIT", "SSH_", "AISG_CHECK_", "CI_"))}
    return {**base, "HOME": str(home), "AISG_CHECK_CONFIG": str(config), "GITLAB_TOKEN": token}


@pytest.mark.parametrize("name", ["valid", "soon"])
def test_fleet_pod_checks_the_token_and_not_ssh(
    gitlab_web: GitlabHttpServer, sshd: GitlabSshServer, ca_file: Path, tmp_path: Path, name: str
) -> None:
    token = TOKENS[name]
    env = _fleet_env(gitlab_web, sshd, ca_file, tmp_path, token.value)
    result = run_cli(["gitlab", "--format", "json"], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    by_id = {r["id"]: r for r in result.json()["results"]}
    for step in ("config", "key", "hostkey", "auth"):
        assert (by_id[f"gitlab.ssh.{step}"]["status"], by_id[f"gitlab.ssh.{step}"]["code"]) == (
            "skip",
            "NOT_APPLICABLE",
        )
    # git trusts ca_bundle in a pod: there is no ~/.gitconfig to test, unlike on a laptop.
    assert [by_id[f"gitlab.https.{s}"]["status"] for s in ("user", "git")] == ["pass", "pass"]
    check = by_id["gitlab.https.token"]
    assert check["credentials"][0] | {"expires_at": None} == {
        "kind": "gitlab_token",
        "name": "GitLab token laptop",
        "owner": token.username,
        "expires_at": None,
        "source": "GITLAB_TOKEN",
    }
    if name == "soon":
        assert check["code"] == "GITLAB_TOKEN_EXPIRES_SOON"
        assert "aisg-check-gitlab" in check["hint"]  # the renewal goes into the Secret
    else:
        assert check["status"] == "pass"
    assert token.value not in result.stdout + result.stderr


def test_fleet_pod_without_the_secret_is_not_configured(
    gitlab_web: GitlabHttpServer, sshd: GitlabSshServer, ca_file: Path, tmp_path: Path
) -> None:
    env = _fleet_env(gitlab_web, sshd, ca_file, tmp_path, "")
    del env["GITLAB_TOKEN"]  # the Secret is optional: a project without one
    result = run_cli(["gitlab", "--format", "json"], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    https = [r for r in result.json()["results"] if r["id"].startswith("gitlab.https.")]
    assert [(r["status"], r["code"]) for r in https] == [("skip", "NOT_CONFIGURED")] * 3
    assert "aisg-check-gitlab" in https[0]["hint"]


# The file's format comes from its extension: table + junit, json, verbose table + markdown.
Runs = tuple[tuple[list[str], str | None], ...]
ALL_FORMATS: Runs = (([], "junit.xml"), (["--format", "json"], None), (["--verbose"], "report.md"))
SOME_FORMATS: Runs = ((["--verbose"], "report.md"),)


@pytest.mark.parametrize(
    ("source", "token_name", "runs"),
    [
        ("env", "valid", ALL_FORMATS),
        ("env", "expired", ALL_FORMATS),  # failure summaries must not carry it either
        ("config", "valid", SOME_FORMATS),
        ("helper", "valid", SOME_FORMATS),
    ],
)
def test_canary_token_in_no_output(
    gitlab_web: GitlabHttpServer,
    sshd: GitlabSshServer,
    home: Path,
    ca_file: Path,
    git_trusts_ca: Path,
    tmp_path: Path,
    source: str,
    token_name: str,
    runs: Any,
) -> None:
    token = TOKENS[token_name].value
    env = dict(os.environ)
    args = _cli_args(gitlab_web, sshd, _ssh_home(sshd, home), ca_file)
    if source == "env":
        env["GITLAB_TOKEN"] = token
    elif source == "config":
        args += ["--config", str(write_config(tmp_path / "config.yaml", {"gitlab": {"token": token}}))]
    else:
        _credential_store(home, git_trusts_ca, gitlab_web, token)
    outputs = []
    for flags, extra in runs:
        run = [*args, *flags]
        if extra:
            run += ["--output", str(tmp_path / extra)]
        result = run_cli(run, env=env)
        assert result.returncode in (0, 1) and result.stdout.strip(), result.stderr
        outputs += [result.stdout, result.stderr]
        if extra:
            outputs.append((tmp_path / extra).read_text())
    text = "\n".join(outputs)
    assert "gitlab.https.token" in text and "<details>" in text  # real outputs
    forms = {token, base64.b64encode(token.encode()).decode().rstrip("=")}
    forms |= {base64.b64encode(f"{u}:{token}".encode()).decode() for u in ("alice", "oauth2", HELPER_USER)}
    leaked = [f for f in forms if f in text]
    assert not leaked, f"token leaked in the {source} run"
    if token_name == "valid":
        assert "Token from" in text


# -- API answers the real server is not made to give ----------------------------------------------


def _api(
    routes: dict[str, Callable[[Any], None]], settings: dict[str, Any] | None = None, **ctx_kwargs: Any
) -> dict[str, CheckResult]:
    from tests.servers.tls import HTTPServer

    server = HTTPServer(routes=routes)
    try:
        ctx = make_context(
            {**(settings or {}), "gitlab": {"url": server.url("127.0.0.1").rstrip("/"), "repo": None}},
            env={**os.environ, "GITLAB_TOKEN": TOKENS["valid"].value},
            **ctx_kwargs,
        )
        return run_component(ctx, "gitlab", only=["gitlab.https"])
    finally:
        server.close()


def _api_only(handler: Callable[[Any], None], home: Path) -> dict[str, CheckResult]:
    return _api({"/api/v4/personal_access_tokens/self": handler, "/api/v4/user": handler})


def test_api_behind_an_untrusted_certificate(home: Path) -> None:
    """httpx wraps httpcore's error, which wraps the ssl error: still a TLS diagnosis, not "refused"."""
    import trustme

    from tests.servers.tls import HTTPServer, ssl_server_context

    server = HTTPServer(ssl_server_context(trustme.CA(), "127.0.0.1"))
    try:
        ctx = make_context(
            {"gitlab": {"url": server.url("127.0.0.1").rstrip("/"), "repo": None}},
            env={**os.environ, "GITLAB_TOKEN": TOKENS["valid"].value},
        )
        # Without the VPN probe, which would stop at the same certificate first.
        results = run_component(ctx, "gitlab", only=["gitlab.https"], skip=["vpn.gitlab"])
    finally:
        server.close()
    assert_result(results, "gitlab.https.token", "fail", "TLS_UNTRUSTED_CERT", summary_has=["127.0.0.1"])


def test_token_too_narrow_to_read_itself(home: Path) -> None:
    results = _api_only(lambda h: gitlab_http._insufficient_scope(h, "api read_user read_api"), home)
    assert statuses(results)[:2] == [("warn", "GITLAB_TOKEN_SCOPE"), ("skip", "GITLAB_TOKEN_SCOPE")]


def test_api_server_error(home: Path) -> None:
    results = _api_only(lambda h: gitlab_http._send(h, 502, {"message": "502 Bad Gateway"}, {}), home)
    assert statuses(results)[0] == ("fail", "ENDPOINT_HTTP_ERROR")


def test_not_gitlab_at_that_url(home: Path) -> None:
    results = _api_only(lambda h: gitlab_http._send(h, 404, {"error": "404 Not Found"}, {}), home)
    assert statuses(results)[0] == ("fail", "ENDPOINT_UNEXPECTED_ANSWER")
    assert "gitlab.url" in (results["gitlab.https.token"].hint or "")


API_ROUTES = {"/api/v4/personal_access_tokens/self": gitlab_http.token_self, "/api/v4/user": gitlab_http.user}


@pytest.mark.parametrize(
    ("days_later", "status", "code"),
    [
        (0, "pass", None),
        (285, "pass", None),  # 15 days left: outside the default window of 14
        (290, "warn", "GITLAB_TOKEN_EXPIRES_SOON"),  # 10 days left: GitLab's own 7 would not warn yet
        (298, "warn", "GITLAB_TOKEN_EXPIRES_SOON"),
        (300, "fail", "GITLAB_TOKEN_EXPIRED"),  # the expiry date itself: gone at 00:00 UTC
        (301, "fail", "GITLAB_TOKEN_EXPIRED"),
    ],
)
def test_expiry_is_judged_by_the_contexts_clock(days_later: int, status: str, code: str | None) -> None:
    """The valid token expires in 300 days; moving the context's clock moves the verdict."""
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days_later)
    results = _api(API_ROUTES, now=lambda: later)
    token = assert_result(results, "gitlab.https.token", status, code)
    assert [c.kind for c in token.credentials] == ["gitlab_token"]  # expired or not, it is recorded


def test_the_warning_window_is_expiry_warning_days() -> None:
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=290)  # 10 days left
    narrow = _api(API_ROUTES, {"expiry_warning_days": 7}, now=lambda: later)
    assert_result(narrow, "gitlab.https.token", "pass")
    wide = _api(API_ROUTES, {"expiry_warning_days": 30}, now=lambda: later)
    soon = assert_result(
        wide,
        "gitlab.https.token",
        "warn",
        "GITLAB_TOKEN_EXPIRES_SOON",
        summary_has=["in 10 days"],
        hint_has=["/-/user_settings/personal_access_tokens", "Rotate", "update GITLAB_TOKEN"],
    )
    assert soon.details["expires_in_days"] == 10


def test_token_expiry_is_a_credential() -> None:
    """What the table's Credentials section, the JSON and the metrics show: kind, whose, when,
    from where; the expiry is 00:00 UTC on GitLab's expiry date."""
    results = _api(API_ROUTES)
    (credential,) = assert_result(results, "gitlab.https.token", "pass").credentials
    expires = dt.date.today() + dt.timedelta(days=300)
    assert credential.to_dict() == {
        "kind": "gitlab_token",
        "name": "GitLab token laptop",
        "owner": "alice",
        "expires_at": f"{expires.isoformat()}T00:00:00Z",
        "source": "GITLAB_TOKEN",
    }
    assert TOKENS["valid"].value not in repr(credential)


def test_a_token_without_expiry_is_a_credential_that_never_expires(home: Path) -> None:
    def never(handler: Any) -> None:
        gitlab_http._send(
            handler, 200, {"name": "forever", "scopes": ["api"], "active": True, "expires_at": None}, {}
        )

    results = _api({"/api/v4/personal_access_tokens/self": never, "/api/v4/user": gitlab_http.user})
    token = assert_result(results, "gitlab.https.token", "pass", summary_has=["never expires"])
    assert token.credentials[0].expires_at is None


# -- each way the connection to the API can fail gets the shared code -------------------------------------


@pytest.fixture(scope="module")
def fault_endpoints() -> Iterator[dict[str, Fault]]:
    with faults() as found:
        yield found


@pytest.mark.parametrize("category", CATEGORIES)
def test_transport_failures_get_the_shared_codes(category: str, fault_endpoints: dict[str, Fault]) -> None:
    """Past its probe (skipped here), a DNS failure, refused connection, hang, reset, untrusted
    certificate or unreachable proxy on the first API call gets the code every component gives it."""
    fault = fault_endpoints[category]
    token = TOKENS["valid"].value
    ctx = make_context(
        {"timeout": 1, "gitlab": {"url": fault.url(), "repo": None}},
        env={**os.environ, "GITLAB_TOKEN": token, **fault.env},
    )
    results = run_component(ctx, "gitlab", only=["gitlab.https"], skip=["vpn.*"])
    assert_shared_code(fault, results["gitlab.https.token"])
    assert results["gitlab.https.user"].blocked_by == "gitlab.https.token"
    assert token not in repr(results)

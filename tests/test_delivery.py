"""Delivery: the pipeline file, the `preflight` CI job and its script, the conda environment.

- `.gitlab-ci.yml` (with its includes) validates against GitLab's CI schema with
  gitlab-ci-local, OFFLINE: it runs in a private network namespace (no interface but its own
  loopback, an /etc/resolv.conf pointing at that loopback), and the remote
  `template: Security/SAST.gitlab-ci.yml` include is served from a stub pre-seeded in
  gitlab-ci-local's include cache. gitlab-ci-local re-downloads a cached include only with
  `--fetch-includes`; without that flag (the default) a file present at
  `.gitlab-ci-local/includes/<url without scheme>` (remote and template includes) or
  `.gitlab-ci-local/includes/<git remote host>/<project>/<ref>/<file>` (project includes) is
  used as it is. A test without the stub proves that a fetch would fail, not leak.
- `ci/preflight.sh`, the script of the `preflight` job, runs here against servers on
  127.0.0.1 with credentials in CI variables, and must write a JUnit report and never print
  one of them.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from aisg_check import __version__
from tests.conftest import require
from tests.helpers import LOOPBACK_PROFILE, merge, run_preflight, write_config
from tests.netns import netns_problem

REPO = Path(__file__).resolve().parent.parent
CI_FILE = REPO / ".gitlab-ci.yml"
TEMPLATE = REPO / "ci" / "preflight.gitlab-ci.yml"
SCRIPT = REPO / "ci" / "preflight.sh"
CI_DOC = REPO / "docs" / "ci.md"

# Where gitlab-ci-local 4.56 looks for `template: Security/SAST.gitlab-ci.yml` before it would
# download it (ParserIncludes.covertTemplateToProjectFile + Utils.fsUrl).
SAST_CACHE = Path(
    ".gitlab-ci-local/includes/gitlab.com/gitlab-org/gitlab/-/raw/HEAD/lib/gitlab/ci/templates/"
    "Security/SAST.gitlab-ci.yml"
)
# A stand-in for GitLab's template with its shape: a configuration-only `sast` job that the
# analyzers extend, so that overriding `sast: stage:` moves them all.
SAST_STUB = """\
# Stub of GitLab's Security/SAST.gitlab-ci.yml for offline validation (tests/test_delivery.py).
variables:
  SAST_EXCLUDED_PATHS: "spec, test, tests, tmp"
sast:
  stage: test
  artifacts:
    reports:
      sast: gl-sast-report.json
  rules:
    - when: never
  script:
    - echo "sast is configuration only"
    - exit 1
.sast-analyzer:
  extends: sast
  allow_failure: true
  script:
    - /analyzer run
semgrep-sast:
  extends: .sast-analyzer
  image:
    name: "$CI_TEMPLATE_REGISTRY_HOST/security-products/semgrep:5"
  rules:
    - if: $SAST_DISABLED == 'true' || $SAST_DISABLED == '1'
      when: never
    - if: $CI_COMMIT_BRANCH
      exists:
        - '**/*.py'
"""

CANARIES = {
    "gitlab_token": "glpat-CANARY-delivery-0a1b",
    "ci_job_token": "CANARY-delivery-job-token-2c3d",
    "mlflow_password": "CANARY-delivery-mlflow-4e5f",
    "aws_key_id": "AKIACANARYDELIVERY67",
    "aws_secret": "CANARY/delivery+aws/secret0123456789ab",
    "docker_password": "CANARY-delivery-docker-8a9b",
    "kube_token": "CANARY-delivery-kube-token-cdef",
}


# -- gitlab-ci-local -------------------------------------------------------------------------------


def _gitlab_ci_local() -> str | None:
    local = REPO / ".tools" / "node_modules" / ".bin" / "gitlab-ci-local"
    return str(local) if local.exists() else shutil.which("gitlab-ci-local")


def _require_gitlab_ci_local() -> str:
    require(shutil.which("node") is not None, "node is not installed (apt-get install nodejs npm)")
    require(shutil.which("git") is not None, "git is not installed")
    binary = _gitlab_ci_local()
    require(
        binary is not None,
        "gitlab-ci-local is not installed (npm install --prefix .tools gitlab-ci-local@4.56)",
    )
    problem = netns_problem()
    require(problem is None, f"gitlab-ci-local runs only in a private network namespace: {problem}")
    assert binary is not None
    return binary


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@127.0.0.1", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )


def _project(root: Path, files: Mapping[str, str | Path], remote: str | None = None) -> Path:
    """A git work tree holding `files` (text, or a file of this repo to copy)."""
    root.mkdir(parents=True)
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy2(content, target)
        else:
            target.write_text(content)
    _git(root, "init", "-q", "-b", "main")
    if remote:
        _git(root, "remote", "add", "origin", remote)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "test")
    return root


def _this_repo(tmp: Path, seed_sast: bool = True) -> Path:
    """A copy of the pipeline files (gitlab-ci-local writes .gitlab-ci-local/ into the project)."""
    project = _project(
        tmp / "aisg-check",
        {
            ".gitlab-ci.yml": CI_FILE,
            "ci/preflight.gitlab-ci.yml": TEMPLATE,
            "ci/preflight.sh": SCRIPT,
            "scripts/test.sh": REPO / "scripts" / "test.sh",
            "pyproject.toml": REPO / "pyproject.toml",
            "src/aisg_check/__init__.py": REPO / "src" / "aisg_check" / "__init__.py",
        },
    )
    if seed_sast:
        (project / SAST_CACHE).parent.mkdir(parents=True)
        (project / SAST_CACHE).write_text(SAST_STUB)
    return project


def _run_gitlab_ci_local(
    binary: str, project: Path, args: Sequence[str], tmp: Path
) -> subprocess.CompletedProcess[str]:
    """gitlab-ci-local in a network namespace of its own: loopback only, DNS pointed at it."""
    ns = tmp / "netns"
    ns.mkdir(exist_ok=True)
    (ns / "resolv.conf").write_text("nameserver 127.0.0.1\n")
    (ns / "hosts").write_text("127.0.0.1 localhost\n::1 localhost\n")
    home = tmp / "gcl-home"
    home.mkdir(exist_ok=True)
    script = (
        'ip link set lo up && mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/hosts '
        '&& shift 2 && exec "$@"'
    )
    env = {**os.environ, "HOME": str(home), "FORCE_COLOR": "0"}
    return subprocess.run(
        [
            "unshare",
            "-n",
            "-m",
            "sh",
            "-c",
            script,
            "sh",
            str(ns / "resolv.conf"),
            str(ns / "hosts"),
            binary,
            *args,
        ],
        cwd=project,  # gitlab-ci-local takes the project from its working directory
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _assert_offline_ok(proc: subprocess.CompletedProcess[str]) -> None:
    output = proc.stdout + proc.stderr
    assert "could not be fetched" not in output, output
    assert proc.returncode == 0, output
    assert "json schema validated" in proc.stderr, proc.stderr  # the schema check did run


def _jobs(proc: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    return {job["name"]: job for job in json.loads(proc.stdout)}


def _preview(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    data = yaml.safe_load(proc.stdout)
    assert isinstance(data, dict), proc.stdout
    return data


@pytest.fixture(scope="module")
def gitlab_ci_local() -> str:
    return _require_gitlab_ci_local()


def test_pipeline_validates_offline_with_the_seeded_sast_template(
    gitlab_ci_local: str, tmp_path: Path
) -> None:
    project = _this_repo(tmp_path)
    stub_before = (project / SAST_CACHE).read_bytes()

    main = _run_gitlab_ci_local(
        gitlab_ci_local, project, ["--list-json", "--variable", "CI_COMMIT_BRANCH=main"], tmp_path
    )
    _assert_offline_ok(main)
    jobs = _jobs(main)
    stages = {name: job["stage"] for name, job in jobs.items()}
    assert stages["lint"] == "lint"
    assert stages["test"] == "test"
    assert stages["semgrep-sast"] == "sast"  # the template's analyzers moved to the sast stage
    assert stages["pages"] == "docs" and stages["docs"] == "docs"
    assert stages["preflight"] == "test"
    assert jobs["pages"]["when"] == "on_success" and jobs["docs"]["when"] == "never"
    assert jobs["preflight"]["allow_failure"] == {"exit_codes": 1}

    branch = _run_gitlab_ci_local(
        gitlab_ci_local, project, ["--list-json", "--variable", "CI_COMMIT_BRANCH=feature"], tmp_path
    )
    _assert_offline_ok(branch)
    jobs = _jobs(branch)
    assert jobs["pages"]["when"] == "never", "pages must publish from the default branch only"
    assert jobs["docs"]["when"] == "on_success"

    # Served from the cache, never downloaded again.
    assert (project / SAST_CACHE).read_bytes() == stub_before


def test_merged_pipeline_runs_the_documented_commands(gitlab_ci_local: str, tmp_path: Path) -> None:
    project = _this_repo(tmp_path)
    proc = _run_gitlab_ci_local(gitlab_ci_local, project, ["--preview"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    config = _preview(proc)
    assert config["stages"][1:5] == ["lint", "test", "sast", "docs"]

    lint = " ; ".join(config["lint"]["script"])
    for command in ("ruff check", "ruff format --check", "mypy"):
        assert command in lint

    assert config["test"]["script"] == ["./scripts/test.sh"]
    assert config["test"]["artifacts"]["reports"]["junit"] == "junit-pytest.xml"
    assert config["test"]["artifacts"]["when"] == "always"

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    docs_extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "docs"
    ]
    for job, site in (("docs", "site"), ("pages", "public")):
        assert any("mkdocs build --strict" in line and site in line for line in config[job]["script"]), job
        installed = [
            req
            for line in config[job]["before_script"]
            for req in re.findall(r'"([^"]+)"', line)
            if "pip" in line
        ]
        assert installed == docs_extra, f"{job} installs {installed}, pyproject's docs extra is {docs_extra}"
    assert config["pages"]["artifacts"]["paths"] == ["public"]

    preflight = config["preflight"]
    assert preflight["script"][-1] == 'sh "$AISG_PREFLIGHT_SRC/ci/preflight.sh"'
    assert preflight["variables"]["AISG_PREFLIGHT_SRC"] == "."  # here: the checkout, not a clone
    assert preflight["artifacts"]["when"] == "always"
    assert preflight["artifacts"]["reports"]["junit"] == "aisg-check.xml"
    assert str(preflight["image"]["name"]).startswith("python:3.11")
    for text in (CI_FILE.read_text(), TEMPLATE.read_text(), SCRIPT.read_text()):
        assert not re.search(r"(?m)^[^#]*\bset -[a-z]*x", text), "tracing would print secrets"
        assert not re.search(r"(?m)^[^#]*\b(printenv|env)\s*($|\|)", text), "an env dump would print secrets"


def test_without_the_seeded_template_nothing_is_fetched(gitlab_ci_local: str, tmp_path: Path) -> None:
    """The control: an include missing from the cache fails inside the namespace, proving the
    namespace holds and that the passing runs above used the stub."""
    project = _this_repo(tmp_path, seed_sast=False)
    proc = _run_gitlab_ci_local(gitlab_ci_local, project, ["--list"], tmp_path)
    assert proc.returncode != 0
    assert "Remote include could not be fetched" in proc.stderr, proc.stderr
    assert not (project / SAST_CACHE).exists()


def test_schema_validation_rejects_a_broken_job(gitlab_ci_local: str, tmp_path: Path) -> None:
    project = _this_repo(tmp_path)
    ci = project / ".gitlab-ci.yml"
    ci.write_text(ci.read_text().replace("exit_codes: 1", "exit_codes: one"))
    proc = _run_gitlab_ci_local(gitlab_ci_local, project, ["--list"], tmp_path)
    assert proc.returncode != 0
    assert "Invalid .gitlab-ci.yml configuration" in proc.stderr, proc.stderr
    assert "exit_codes" in proc.stderr


def _doc_include_snippet() -> dict[str, Any]:
    for block in re.findall(r"```yaml\n(.*?)```", CI_DOC.read_text(), flags=re.S):
        data = yaml.safe_load(block)
        if isinstance(data, dict) and "include" in data:
            return data
    raise AssertionError("docs/ci.md has no ```yaml block with an include:")


def test_documented_include_works_in_a_project_with_default_stages(
    gitlab_ci_local: str, tmp_path: Path
) -> None:
    snippet = _doc_include_snippet()
    include = snippet["include"][0]
    assert set(include) == {"project", "ref", "file"}
    assert include["file"] == "ci/preflight.gitlab-ci.yml"
    template = yaml.safe_load(TEMPLATE.read_text())
    assert include["ref"] == template[".aisg-preflight"]["variables"]["AISG_PREFLIGHT_REF"]

    project = _project(
        tmp_path / "consumer",
        {".gitlab-ci.yml": yaml.safe_dump(snippet, sort_keys=False), "train.py": "print('hi')\n"},
        remote="https://gitlab.aisingapore.net/mlops/consumer.git",
    )
    cached = (
        project / ".gitlab-ci-local/includes/gitlab.aisingapore.net" / include["project"] / include["ref"]
    )
    (cached / "ci").mkdir(parents=True)
    shutil.copy2(TEMPLATE, cached / include["file"])

    proc = _run_gitlab_ci_local(gitlab_ci_local, project, ["--list-json"], tmp_path)
    _assert_offline_ok(proc)
    job = _jobs(proc)["preflight"]
    assert job["stage"] == "test" and job["when"] == "on_success"
    assert job["allow_failure"] is False  # a failed check fails the project's pipeline

    preview = _preview(_run_gitlab_ci_local(gitlab_ci_local, project, ["--preview"], tmp_path))
    variables = preview["preflight"]["variables"]
    assert variables["AISG_PREFLIGHT_SRC"] == ".aisg-check-src"  # a clone of the release, not the checkout
    assert preview["preflight"]["artifacts"]["reports"]["junit"] == "aisg-check.xml"


# -- the preflight job's script ------------------------------------------------------------------


def test_template_installs_its_own_release() -> None:
    """The file at tag vX installs vX by default, so the include's ref and the tool agree."""
    template = yaml.safe_load(TEMPLATE.read_text())
    job = template[".aisg-preflight"]
    assert job["variables"]["AISG_PREFLIGHT_REF"] == f"v{__version__}"
    assert template["preflight"] == {"extends": ".aisg-preflight"}
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == "aisg-check.xml"
    assert not any(name.startswith("AISG_CHECK_") for name in job["variables"]), (
        "aisg-check rejects unknown AISG_CHECK_* variables; the job's own settings use AISG_PREFLIGHT_"
    )


@pytest.fixture(scope="module")
def tls_server(ca: Any) -> Iterator[Any]:
    from tests.servers.tls import HTTPServer, ssl_server_context

    server = HTTPServer(ssl_server_context(ca, "localhost", "127.0.0.1"))
    try:
        yield server
    finally:
        server.close()


def _job_env(home: Path, config: Path, **extra: str) -> dict[str, str]:
    """The job's environment: CI variables holding canaries, aisg-check from this venv."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "HOME": str(home),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "CI": "true",
        "AISG_PREFLIGHT_PACKAGE": "",  # use the aisg-check on PATH: no install, no network
        "AISG_CHECK_CONFIG": str(config),
        "GITLAB_TOKEN": CANARIES["gitlab_token"],
        "CI_JOB_TOKEN": CANARIES["ci_job_token"],
        "MLFLOW_TRACKING_USERNAME": "ci-bot",
        "MLFLOW_TRACKING_PASSWORD": CANARIES["mlflow_password"],
        "AWS_ACCESS_KEY_ID": CANARIES["aws_key_id"],
        "AWS_SECRET_ACCESS_KEY": CANARIES["aws_secret"],
        **extra,
    }


def _loopback_config(path: Path, **sections: Any) -> Path:
    return write_config(path, merge(LOOPBACK_PROFILE, sections))


def _assert_no_canary(*texts: str) -> None:
    docker_auth = base64.b64encode(f"ci-robot:{CANARIES['docker_password']}".encode()).decode()
    for text in texts:
        for name, value in CANARIES.items():
            assert value not in text, f"canary {name} leaked"
        assert docker_auth not in text, "the docker config's auth field leaked"


def _testcases(report: Path) -> dict[str, ET.Element]:
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert suites, "no testsuite"
    cases = {
        case.attrib["name"].split(":")[0]: case for suite in suites for case in suite.findall("testcase")
    }
    assert cases, "no testcase"
    return cases


def _release_repo(tmp: Path, ref: str) -> Path:
    """A stand-in for mlops/aisg-check: a local repository whose tag `ref` holds the script."""
    release = _project(tmp / "release", {"ci/preflight.sh": SCRIPT, "ci/preflight.gitlab-ci.yml": TEMPLATE})
    _git(release, "tag", ref)
    return release


@pytest.mark.parametrize("source", ["checkout", "release"])
def test_preflight_job_script_writes_a_junit_report(
    source: str, tls_server: Any, ca_file: Path, home: Path, tmp_path: Path
) -> None:
    """The job's own `script:` lines with its variables, as the runner would run them: from this
    checkout (this repo's pipeline), or from a clone of the release tag (a project's pipeline)."""
    config = _loopback_config(
        tmp_path / "config.yaml", ca_bundle=str(ca_file), vpn={"extra": [tls_server.url("127.0.0.1")]}
    )
    job = yaml.safe_load(TEMPLATE.read_text())[".aisg-preflight"]
    variables = dict(job["variables"])
    if source == "checkout":
        variables["AISG_PREFLIGHT_SRC"] = str(REPO)
    else:
        release = _release_repo(tmp_path, variables["AISG_PREFLIGHT_REF"])
        variables["AISG_PREFLIGHT_REPO"] = release.as_uri()
    # As the runner expands one variable in another; no install: the aisg-check on PATH is used.
    variables["AISG_PREFLIGHT_PACKAGE"] = ""
    variables["AISG_PREFLIGHT_ARGS"] = "--only vpn.extra"
    env = _job_env(home, config, **variables)
    workdir = tmp_path / "project"
    workdir.mkdir()
    proc = subprocess.run(
        ["sh", "-e", "-c", "\n".join(job["script"])],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cloned = workdir / ".aisg-check-src" / "ci" / "preflight.sh"
    assert cloned.exists() == (source == "release")
    report = workdir / "aisg-check.xml"
    cases = _testcases(report)
    extra = next(case for name, case in cases.items() if name.startswith("vpn.extra"))
    assert extra.find("failure") is None and extra.find("error") is None and extra.find("skipped") is None
    # The log shows the table, not XML.
    assert "vpn.extra" in proc.stdout and "<testsuites" not in proc.stdout
    assert "all checks passed" in proc.stderr
    _assert_no_canary(proc.stdout, proc.stderr, report.read_text())


@pytest.mark.parametrize("kind", ["content", "file-variable"])
def test_preflight_script_uses_ci_credential_variables(
    kind: str, tls_server: Any, ca_file: Path, home: Path, tmp_path: Path
) -> None:
    """Docker and kubeconfig credentials arrive as CI variables: their content, or file variables
    (a path). The script hands them to aisg-check as files, and prints none of them."""
    docker_config = json.dumps(
        {
            "auths": {
                "127.0.0.1:9": {
                    "auth": base64.b64encode(f"ci-robot:{CANARIES['docker_password']}".encode()).decode()
                }
            }
        }
    )
    kubeconfig = yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": tls_server.url("127.0.0.1").rstrip("/")}}],
            "users": [{"name": "u", "user": {"token": CANARIES["kube_token"]}}],
            "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "ctx",
        }
    )
    if kind == "content":
        extra = {"DOCKER_AUTH_CONFIG": docker_config, "KUBECONFIG": kubeconfig}
    else:
        variables = tmp_path / "variables"
        variables.mkdir()
        (variables / "DOCKER_CONFIG").write_text(docker_config)
        (variables / "KUBECONFIG").write_text(kubeconfig)
        extra = {
            "DOCKER_CONFIG": str(variables / "DOCKER_CONFIG"),
            "KUBECONFIG": str(variables / "KUBECONFIG"),
        }
    config = _loopback_config(
        tmp_path / "config.yaml", ca_bundle=str(ca_file), harbor={"registry": "127.0.0.1:9"}
    )
    env = _job_env(
        home,
        config,
        AISG_PREFLIGHT_REPORT="report.xml",
        AISG_PREFLIGHT_ARGS="--only vpn.cluster --only harbor.user",
        **extra,
    )
    proc = run_preflight(tmp_path, env)
    # The registry port is closed: a failed check is exit code 1, passed on by the script.
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "some checks failed" in proc.stderr
    cases = _testcases(tmp_path / "report.xml")
    # The kubeconfig from the variable was used: its API server (the TLS server) answered,
    # where the profile's cluster_url (a closed port) would have failed.
    assert cases["vpn.cluster"].find("failure") is None, ET.tostring(cases["vpn.cluster"], "unicode")
    # The docker config from the variable was used: the login for the registry was found.
    credentials = cases["harbor.user.credentials"]
    assert credentials.find("failure") is None, ET.tostring(credentials, "unicode")
    assert "as ci-robot" in (credentials.findtext("system-out") or "")
    assert cases["vpn.harbor"].find("failure") is not None
    _assert_no_canary(proc.stdout, proc.stderr, (tmp_path / "report.xml").read_text())
    # The variables' files live in the script's private temporary directory, removed at exit.
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("aisg-preflight.*/docker"))


def test_preflight_script_passes_on_a_usage_error(home: Path, tmp_path: Path) -> None:
    config = _loopback_config(tmp_path / "config.yaml")
    env = _job_env(home, config, AISG_PREFLIGHT_ARGS="--only no-such-check")
    proc = run_preflight(tmp_path, env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no-such-check" in proc.stderr
    assert "usage or configuration error" in proc.stderr


def test_preflight_script_without_aisg_check_says_so(home: Path, tmp_path: Path) -> None:
    path = "/usr/bin:/bin"
    if shutil.which("aisg-check", path=path):
        pytest.skip("aisg-check is installed system-wide here")
    env = {"PATH": path, "HOME": str(home), "AISG_PREFLIGHT_PACKAGE": ""}
    proc = run_preflight(tmp_path, env, timeout=30)
    assert proc.returncode == 2
    assert "no aisg-check is on PATH" in proc.stderr
    assert not (tmp_path / "aisg-check.xml").exists()


# Stands in for python3 (`-m venv DIR`) and for the venv's python (`-m pip install PACKAGE`).
_FAKE_PYTHON = r"""#!/bin/sh
set -eu
if [ "$1" = -m ] && [ "$2" = venv ]; then
    mkdir -p "$3/bin"
    cp "$0" "$3/bin/python"
    cp "$FAKE_LOG/../fake-aisg-check" "$3/bin/aisg-check"
    exit 0
fi
printf '%s\n' "$@" >"$FAKE_LOG/pip.args"
# What git (so pip's git+https clone) is handed for the CI server.
printf 'protocol=https\nhost=%s\n\n' "$CI_SERVER_HOST" |
    git credential fill >"$FAKE_LOG/credential" 2>&1 || true
"""
_FAKE_AISG_CHECK = r"""#!/bin/sh
printf '%s\n' "$@" >"$FAKE_LOG/aisg-check.args"
env >"$FAKE_LOG/aisg-check.env"
"""


def test_preflight_script_installs_the_package_with_the_job_token(home: Path, tmp_path: Path) -> None:
    """The install branch, with stand-ins for python and pip: a venv, `pip install PACKAGE`, and
    the job token handed to git by a credential helper, never in a URL or argument."""
    log = tmp_path / "log"
    log.mkdir()
    fake = tmp_path / "fake-python"
    fake.write_text(_FAKE_PYTHON)
    fake.chmod(0o755)
    (tmp_path / "fake-aisg-check").write_text(_FAKE_AISG_CHECK)
    (tmp_path / "fake-aisg-check").chmod(0o755)
    package = "git+https://127.0.0.1/mlops/aisg-check.git@v0.1.0"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "FAKE_LOG": str(log),
        "AISG_PREFLIGHT_PYTHON": str(fake),
        "AISG_PREFLIGHT_PACKAGE": package,
        "AISG_PREFLIGHT_ARGS": "--only vpn.* --skip tools",
        "CI_SERVER_HOST": "127.0.0.1",
        "CI_JOB_TOKEN": CANARIES["ci_job_token"],
    }
    proc = run_preflight(tmp_path, env, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pip_args = (log / "pip.args").read_text().splitlines()
    assert pip_args[:2] == ["-m", "pip"] and "install" in pip_args and pip_args[-1] == package
    credential = dict(
        line.split("=", 1) for line in (log / "credential").read_text().splitlines() if "=" in line
    )
    assert credential.get("username") == "gitlab-ci-token"
    assert credential.get("password") == CANARIES["ci_job_token"]
    args = (log / "aisg-check.args").read_text().splitlines()
    assert args[0] == "all" and args[args.index("--output") + 1] == "aisg-check.xml"
    assert args[-4:] == ["--only", "vpn.*", "--skip", "tools"]  # split into words, glob kept
    assert "GIT_CONFIG_KEY_0" not in (log / "aisg-check.env").read_text()  # helper gone after install
    _assert_no_canary(proc.stdout, proc.stderr, " ".join(pip_args), " ".join(args))


def test_preflight_script_is_posix_sh() -> None:
    dash = shutil.which("dash") or shutil.which("sh")
    assert dash is not None
    proc = subprocess.run([dash, "-n", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert SCRIPT.read_text().startswith("#!/bin/sh\n")
    assert os.access(SCRIPT, os.X_OK)


# -- conda-env.yaml ------------------------------------------------------------------------------


def test_conda_env_agrees_with_pyproject() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "conda-env.yaml").read_text())
    extras_known = set(pyproject["optional-dependencies"])

    conda_deps = [d for d in env["dependencies"] if isinstance(d, str)]
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "one pip: section"
    assert any(re.fullmatch(r"pip([<>=!~ ].*)?", d) for d in conda_deps), "pip must be a conda dependency"

    pythons = [d for d in conda_deps if re.match(r"python\b", d)]
    assert len(pythons) == 1
    version = re.fullmatch(r"python\s*=*\s*([\d.]+)\*?", pythons[0])
    assert version, pythons[0]
    assert SpecifierSet(pyproject["requires-python"]).contains(version.group(1)), (
        f"{pythons[0]} does not satisfy requires-python {pyproject['requires-python']}"
    )

    extras_used: set[str] = set()
    for entry in pip_lists[0]:
        spec = re.sub(r"^-e\s+", "", entry.strip())
        assert spec.startswith("."), f"pip entry {entry!r} is not this package"
        requirement = Requirement("aisg-check" + spec[1:])
        assert not requirement.specifier and requirement.url is None
        unknown = requirement.extras - extras_known
        assert not unknown, f"extras {unknown} are not in pyproject's optional-dependencies"
        extras_used |= requirement.extras
    # Every development extra: the environment runs the tests, the linters and the docs build.
    assert extras_used == extras_known

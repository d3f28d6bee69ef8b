"""Install without the VPN: the release pipeline (a tag builds once, publishes to the GitLab
package registry and to the public index through trusted publishing), the token exchange it runs,
and the wheel itself installed into a fresh environment away from the source tree."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import require
from tests.netns import clean_env, netns_problem
from tests.test_delivery import _assert_offline_ok, _jobs, _preview, _run_gitlab_ci_local, _this_repo

REPO = Path(__file__).resolve().parent.parent
MINT = REPO / "ci" / "pypi_token.py"


@pytest.fixture(scope="module")
def gitlab_ci_local() -> str:
    from tests.test_delivery import _require_gitlab_ci_local

    return _require_gitlab_ci_local()


def test_a_version_tag_builds_once_and_publishes_to_both_indexes(
    gitlab_ci_local: str, tmp_path: Path
) -> None:
    project = _this_repo(tmp_path)
    tagged = _run_gitlab_ci_local(
        gitlab_ci_local, project, ["--list-json", "--variable", "CI_COMMIT_TAG=v1.2.3"], tmp_path
    )
    _assert_offline_ok(tagged)
    jobs = _jobs(tagged)
    for name in ("dist", "publish-gitlab", "publish-pypi"):
        assert jobs[name]["stage"] == "release" and jobs[name]["when"] == "on_success", name
    branch = _run_gitlab_ci_local(
        gitlab_ci_local, project, ["--list-json", "--variable", "CI_COMMIT_BRANCH=main"], tmp_path
    )
    _assert_offline_ok(branch)
    for name in ("dist", "publish-gitlab", "publish-pypi"):
        assert _jobs(branch)[name]["when"] == "never", f"{name} must run on version tags only"

    config = _preview(_run_gitlab_ci_local(gitlab_ci_local, project, ["--preview"], tmp_path))
    assert config["publish-pypi"]["id_tokens"] == {"PYPI_ID_TOKEN": {"aud": "pypi"}}
    for job in ("publish-gitlab", "publish-pypi"):
        assert [need["job"] for need in config[job]["needs"]] == ["dist"], job
    upload = " ".join(config["publish-gitlab"]["script"])
    assert "packages/pypi" in upload and "$CI_JOB_TOKEN" in upload
    assert "python -m build" in config["dist"]["script"]
    for job in ("publish-gitlab", "publish-pypi"):  # a token never on a command line as an argument
        assert not any("-p " in line or "--password" in line for line in config[job]["script"]), job


class _Mint(http.server.BaseHTTPRequestHandler):
    """PyPI's mint-token endpoint: the identity token in, an upload token out."""

    received: ClassVar[list[Any]] = []
    answer: ClassVar[tuple[int, bytes]] = (200, b'{"success": true, "token": "pypi-minted-canary"}')

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        type(self).received.append(json.loads(self.rfile.read(length)))
        status, body = type(self).answer
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture()
def mint_server() -> Iterator[tuple[str, type[_Mint]]]:
    handler = type("Mint", (_Mint,), {"received": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/_/oidc/mint-token", handler
    finally:
        server.shutdown()
        server.server_close()


def _mint(url: str, identity: str | None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "PYPI_MINT_URL": url}
    if identity is not None:
        env["PYPI_ID_TOKEN"] = identity
    return subprocess.run([sys.executable, str(MINT)], env=env, capture_output=True, text=True, timeout=30)


def test_the_identity_token_is_exchanged_for_an_upload_token(mint_server: tuple[str, type[_Mint]]) -> None:
    url, handler = mint_server
    proc = _mint(url, "oidc-identity-canary")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "pypi-minted-canary"
    assert handler.received == [{"token": "oidc-identity-canary"}]


def test_a_refused_exchange_says_why_and_prints_no_token(mint_server: tuple[str, type[_Mint]]) -> None:
    url, handler = mint_server
    handler.answer = (422, b'{"message": "invalid token oidc-identity-canary"}')
    proc = _mint(url, "oidc-identity-canary")
    assert proc.returncode != 0 and "HTTP 422" in proc.stderr and "trusted publisher" in proc.stderr
    assert "canary" not in proc.stdout + proc.stderr
    missing = _mint(url, None)
    assert missing.returncode == 2 and "PYPI_ID_TOKEN" in missing.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from this tree without the network and installed into a fresh venv that
    sees no source tree: its dependencies come from the test environment's site-packages (a
    plain path, so the editable install's finder there is not loaded)."""
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    # Only what git tracks, as a fresh clone has it: an in-tree build would reuse build/ and pick
    # up deleted or untracked modules.
    source = tmp / "source"
    tracked = (
        subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True, timeout=60
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    # No index and no self-version check: pip must not resolve or contact anything.
    offline = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "-q",
            "-w",
            str(dist),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=offline,
    )
    require(build.returncode == 0, f"cannot build the wheel here: {build.stderr[-500:]}")
    wheels = list(dist.glob("aisg_check-*.whl"))
    assert len(wheels) == 1, wheels
    import zipfile

    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "aisg_check/checks/harbor/__init__.py" in names and "aisg_check/checks/harbor.py" not in names
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = [p for p in sys.path if p.endswith("site-packages")]
    Path(site, "aisg-check-test-deps.pth").write_text("\n".join(deps) + "\n")
    install = subprocess.run(
        env=offline,
        args=[
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--disable-pip-version-check",
            str(wheels[0]),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    return env_dir


def _run_installed(
    env_dir: Path, args: list[str], home: Path, cwd: Path, netns: bool = False
) -> subprocess.CompletedProcess[str]:
    env = clean_env(home)
    env.pop("PYTHONPATH", None)
    command = [str(env_dir / "bin" / "aisg-check"), *args]
    if netns:
        command = ["unshare", "-n", "-m", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *command]
    return subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def test_the_wheel_runs_without_the_source_tree(installed: Path, home: Path, tmp_path: Path) -> None:
    from aisg_check import __version__

    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import aisg_check; print(aisg_check.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(home),
    )
    assert where.stdout.startswith(str(installed)), f"imported from {where.stdout}: not the installed wheel"
    version = _run_installed(installed, ["--version"], home, tmp_path)
    assert version.returncode == 0 and __version__ in version.stdout, version.stderr
    listing = _run_installed(installed, ["list"], home, tmp_path)
    assert listing.returncode == 0 and "harbor.user" in listing.stdout, listing.stderr
    # The embedded profile and the JSON schema come with the wheel.
    assert (Path(where.stdout.strip()).parent / "profiles" / "aisg.yaml").is_file()
    assert (Path(where.stdout.strip()).parent / "schema" / "report-v1.json").is_file()


def test_the_wheel_checks_the_vpn_in_a_private_network_namespace(
    installed: Path, home: Path, tmp_path: Path
) -> None:
    problem = netns_problem()
    require(problem is None, problem or "")
    proc = _run_installed(installed, ["vpn", "--format", "json"], home, tmp_path, netns=True)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    status = {r["id"]: r for r in data["results"]}["vpn.status"]
    assert status["code"] == "VPN_NOT_CONNECTED" and status["hint"]


def test_the_readme_opens_with_the_install_that_works_from_a_clone() -> None:
    """The first lines a new user reads are the command the wheel test above proves: a venv, `pip
    install .` (which builds that wheel) and `aisg-check all`; then the ways without a clone."""
    text = (REPO / "README.md").read_text()
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0].strip()
    assert first_block == "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/aisg-check all"
    assert text.index(first_block) < text.index("Preflight checks")
    assert "pipx install aisg-check" in text and "uv tool install aisg-check" in text

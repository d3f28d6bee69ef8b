"""Run:ai check cost against kubectl doing the same by hand, side by side in one run.

`aisg-check runai` minus `aisg-check --help` (its own start-up) is compared with
`kubectl version` + `kubectl auth can-i create pods -n <ns>` against the same local
Kubernetes API stand-in with the same kubeconfig (a bearer-token user: kubectl ≥ 1.26 no
longer has the oidc auth-provider the guide's kubeconfig uses). The guide-shaped OIDC
kubeconfig is measured too, for information, and so is a user with only Run:ai's improved CLI
(the stand-in `runai` of tests/servers/runai_cli, set up as documented; no kubeconfig) against
that CLI's own `runai project list`. Loopback only.
"""

from __future__ import annotations

import base64
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import trustme  # noqa: E402
import yaml  # noqa: E402
from tests.servers.kube_api import KubeAPIServer, KubeState  # noqa: E402
from tests.servers.oidc import OIDCIssuer  # noqa: E402
from tests.servers.runai_cli import install, runai, set_up  # noqa: E402
from tests.servers.tls import HTTPServer  # noqa: E402

from benchmarks.common import AISG, Row, bench_env, print_rows, wall  # noqa: E402

GOAL = 2.0
NAMESPACE = "runai-bench"
TOKEN = "bench-token-0123456789"
EMAIL = "bench@aisingapore.org"


def _kubeconfig(server: str, ca_pem: bytes, user: dict[str, object]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "runai",
                    "cluster": {
                        "server": server,
                        "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                    },
                }
            ],
            "contexts": [{"name": "runai", "context": {"cluster": "runai", "user": "me"}}],
            "current-context": "runai",
            "users": [{"name": "me", "user": user}],
        }
    )


def rows(runs: int = 5) -> list[Row]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl is not on PATH (the baseline)")
    ca = trustme.CA()
    issuer = OIDCIssuer(ca)
    kube = KubeAPIServer(ca, KubeState(oidc_issuer=issuer.issuer))
    control_plane = HTTPServer()
    try:
        kube.state.tokens[TOKEN] = (EMAIL, ())
        for verb, group, resource in (
            ("create", "", "pods"),
            ("list", "", "pods"),
            ("create", "batch", "jobs"),
        ):
            kube.grant(EMAIL, NAMESPACE, verb, resource, group)
        with tempfile.TemporaryDirectory(prefix="bench-runai-") as tmp:
            home = Path(tmp) / "home"
            home.mkdir()
            ca_file = Path(tmp) / "ca.pem"
            ca.cert_pem.write_to_path(str(ca_file))
            token_kc = Path(tmp) / "token.yaml"
            token_kc.write_text(_kubeconfig(kube.url(), ca.cert_pem.bytes(), {"token": TOKEN}))
            oidc_kc = Path(tmp) / "oidc.yaml"
            oidc_kc.write_text(
                _kubeconfig(
                    kube.url(),
                    ca.cert_pem.bytes(),
                    {
                        "auth-provider": {
                            "name": "oidc",
                            "config": {
                                "client-id": "runai-cli",
                                "idp-issuer-url": issuer.issuer,
                                "id-token": issuer.mint("bench", expires_in=7200),
                                "refresh-token": "opaque-refresh",
                            },
                        }
                    },
                )
            )
            env = bench_env(
                home,
                AISG_CHECK_CA_BUNDLE=str(ca_file),
                AISG_CHECK_RUNAI_URL="http://127.0.0.1:9",
                AISG_CHECK_RUNAI_CLUSTER_URL="https://127.0.0.1:9",
            )
            project = NAMESPACE.removeprefix("runai-")

            def aisg(kc: Path) -> list[str]:
                return [*AISG, "runai", "--kubeconfig", str(kc), "--project", project, "--format", "json"]

            help_s = wall([*AISG, "--help"], env=env, runs=runs, check=True)
            token_s = wall(aisg(token_kc), env=env, runs=runs, check=True)
            oidc_s = wall(aisg(oidc_kc), env=env, runs=runs, check=True)
            version_s = wall(
                [kubectl, "--kubeconfig", str(token_kc), "version", "--request-timeout=5s"],
                env=env,
                runs=runs,
                check=True,
            )
            can_i_s = wall(
                [
                    kubectl,
                    "--kubeconfig",
                    str(token_kc),
                    "auth",
                    "can-i",
                    "create",
                    "pods",
                    "-n",
                    NAMESPACE,
                    "--request-timeout=5s",
                ],
                env=env,
                runs=runs,
                check=True,
            )
            improved_s, project_list_s = _improved_cli(Path(tmp), control_plane.url("127.0.0.1"), runs)
    finally:
        kube.close()
        issuer.close()
        control_plane.close()
    baseline = version_s + can_i_s
    name = "kubectl version + kubectl auth can-i"
    return [
        Row(
            "aisg-check runai − --help (token kubeconfig)",
            token_s - help_s,
            name,
            baseline,
            f"ratio <= {GOAL}",
            token_s - help_s <= GOAL * baseline,
        ),
        Row(
            "aisg-check runai − --help (guide's OIDC shape)",
            oidc_s - help_s,
            name,
            baseline,
            f"ratio <= {GOAL}",
            oidc_s - help_s <= GOAL * baseline,
        ),
        Row("aisg-check runai (whole, token kubeconfig)", token_s, "aisg-check --help", help_s, "info", True),
        Row(
            "aisg-check runai − --help (improved CLI only)",
            improved_s - help_s,
            "runai project list (stand-in)",
            project_list_s,
            "info",
            True,
        ),
    ]


def _improved_cli(tmp: Path, control_plane: str, runs: int) -> tuple[float, float]:
    """A HOME with only the improved CLI, logged in and with a default project; no kubeconfig."""
    home = tmp / "improved-home"
    home.mkdir()
    bin_dir = install(tmp / "improved-bin")
    env = bench_env(
        home,
        PATH=os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
        AISG_CHECK_RUNAI_URL="http://127.0.0.1:9",
        AISG_CHECK_RUNAI_CLUSTER_URL="https://127.0.0.1:9",
    )
    set_up(bin_dir, env, control_plane.rstrip("/"))
    assert runai(bin_dir, env, "project", "list", "--json").returncode == 0
    improved_s = wall([*AISG, "runai", "--skip", "vpn.*", "--format", "json"], env=env, runs=runs, check=True)
    listing_s = wall([str(bin_dir / "runai"), "project", "list", "--json"], env=env, runs=runs, check=True)
    return improved_s, listing_s


if __name__ == "__main__":
    print_rows("runai: aisg-check vs kubectl by hand", rows())

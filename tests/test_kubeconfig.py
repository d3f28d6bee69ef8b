"""Kubeconfig resolution with kubectl's semantics (no network, no kubernetes import)."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisg_check.platform import kubeconfig
from tests.helpers import make_context


def _doc(
    current: str | None,
    *,
    cluster: str = "c",
    server: str = "https://127.0.0.1:6443",
    user: dict[str, Any] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server}}],
        "contexts": [{"name": current or "ctx", "context": {"cluster": cluster, "user": "u"}}],
        "users": [{"name": "u", "user": user or {"token": "t"}}],
    }
    if current:
        doc["current-context"] = current
    return doc


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def _select(env: dict[str, str], **runai: Any) -> kubeconfig.Selection:
    ctx = make_context({"runai": runai} if runai else {}, env={**os.environ, **env})
    return kubeconfig.select(ctx, kubeconfig.load(ctx))


def test_first_current_context_and_first_definition_win(tmp_path: Path) -> None:
    a = _write(tmp_path / "a", _doc(None, cluster="shared", server="https://127.0.0.1:1111"))
    b = _write(tmp_path / "b", _doc("ctx", cluster="shared", server="https://127.0.0.1:2222"))
    c = _write(tmp_path / "c", _doc("later"))
    sel = _select({"KUBECONFIG": os.pathsep.join(map(str, (a, b, c)))})
    assert sel.context == "ctx"  # a sets none; b's is the first set; c's is ignored
    assert sel.server == "https://127.0.0.1:1111"  # 'shared' as a defines it
    assert sel.cluster_file == a


def test_context_flag_overrides_current_context(tmp_path: Path) -> None:
    doc = _doc("ctx")
    doc["contexts"].append(
        {"name": "other", "context": {"cluster": "c", "user": "u", "namespace": "runai-x"}}
    )
    path = _write(tmp_path / "kc", doc)
    sel = _select({}, kubeconfig=str(path), context="other")
    assert (sel.context, sel.namespace) == ("other", "runai-x")
    with pytest.raises(kubeconfig.ContextMissing) as info:
        _select({}, kubeconfig=str(path), context="nope")
    assert info.value.available == ("ctx", "other")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["contexts"][0]["context"].pop("user"), "contexts['ctx'].context.user is not set"),
        (
            lambda d: d["clusters"][0]["cluster"].update(server="runai-cluster:6443"),
            "must be an https:// URL",
        ),
        (lambda d: d["users"].clear(), "names user 'u', which no kubeconfig file defines"),
    ],
)
def test_structure_errors_name_the_file_and_key(tmp_path: Path, change: Any, message: str) -> None:
    doc = _doc("ctx")
    change(doc)
    path = _write(tmp_path / "kc", doc)
    with pytest.raises(kubeconfig.KubeconfigError) as info:
        _select({}, kubeconfig=str(path))
    assert info.value.path == path
    assert message in info.value.message


def test_ca_from_data_or_a_file_relative_to_the_kubeconfig(tmp_path: Path, ca: Any) -> None:
    pem = ca.cert_pem.bytes().decode()
    doc = _doc("ctx")
    doc["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(pem.encode()).decode()
    assert kubeconfig.ca_pem(_select({}, kubeconfig=str(_write(tmp_path / "one" / "kc", doc)))) == pem
    doc["clusters"][0]["cluster"] = {"server": "https://127.0.0.1:6443", "certificate-authority": "ca.pem"}
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "ca.pem").write_text(pem)
    assert kubeconfig.ca_pem(_select({}, kubeconfig=str(_write(tmp_path / "two" / "kc", doc)))) == pem
    doc["clusters"][0]["cluster"] = {"server": "https://127.0.0.1:6443", "certificate-authority-data": "%%%"}
    with pytest.raises(kubeconfig.KubeconfigError, match="not base64"):
        kubeconfig.ca_pem(_select({}, kubeconfig=str(_write(tmp_path / "three" / "kc", doc))))


def test_insecure_flag_accepts_yaml_bool_and_string(tmp_path: Path) -> None:
    for value, expected in ((True, True), ("true", True), (False, False)):
        doc = _doc("ctx")
        doc["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = value
        assert _select({}, kubeconfig=str(_write(tmp_path / f"{value}" / "kc", doc))).insecure is expected


def test_loading_a_kubeconfig_does_not_import_the_kubernetes_client() -> None:
    # kubeconfig.py is imported by the vpn probe: it must stay light.
    source = Path(kubeconfig.__file__).read_text()
    assert "import kubernetes" not in source and "from kubernetes" not in source

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


# -- hardening: bounded, typed, every credential registered ------------------------------------------


def _alias_bomb(levels: int) -> bytes:
    """A "billion laughs": each anchor holds ten aliases of the one before."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]")
    return ("\n".join(lines) + "\n").encode()


def _load(path: Path) -> tuple[kubeconfig.Kubeconfig, Any]:
    ctx = make_context({"runai": {"kubeconfig": str(path)}})
    return kubeconfig.load(ctx), ctx


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"apiVersion: v1\nusers:\n- name: \xff\xfe\n", "is not UTF-8 text (byte 0xff at offset 30)"),
        (b"# " + b"x" * (4 * 1024 * 1024), "larger than 4 MiB"),
        (_alias_bomb(7), "aliases (*name) expand"),
        (
            b"clusters: [{name: [1, 2], cluster: {server: 'https://x'}}]\n",
            "clusters[0].name must be a string",
        ),
        (b"current-context: {a: 1}\n", "current-context must be a string"),
    ],
    ids=["not-utf8", "huge", "alias-bomb", "name-type", "current-context-type"],
)
def test_malformed_files_are_errors_naming_the_file(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "kc"
    path.write_bytes(content)
    with pytest.raises(kubeconfig.KubeconfigError) as info:
        _load(path)
    assert info.value.path == path
    assert words in info.value.message


def test_a_directory_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "kc").mkdir()
    with pytest.raises(kubeconfig.KubeconfigError, match="Is a directory"):
        _load(tmp_path / "kc")


def test_server_of_the_wrong_type_is_invalid_and_not_echoed_at_length(tmp_path: Path) -> None:
    doc = _doc("ctx")
    doc["clusters"][0]["cluster"]["server"] = ["https://x"] * 100
    with pytest.raises(kubeconfig.KubeconfigError, match="must be an https:// URL") as info:
        _select({}, kubeconfig=str(_write(tmp_path / "kc", doc)))
    assert len(info.value.message) < 200


def test_a_ca_file_that_is_not_text_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(b"\x80\x81 not a certificate")
    doc = _doc("ctx")
    doc["clusters"][0]["cluster"]["certificate-authority"] = "ca.pem"
    sel = _select({}, kubeconfig=str(_write(tmp_path / "kc", doc)))
    with pytest.raises(kubeconfig.KubeconfigError) as info:
        kubeconfig.ca_pem(sel)
    assert str(tmp_path / "ca.pem") in info.value.message and "not ASCII" in info.value.message


def test_loading_registers_every_users_credentials(tmp_path: Path) -> None:
    """As soon as a file is read, whatever user holds them, also one a first file shadows."""
    key_pem = (
        "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n"
        "-----END PRIVATE KEY-----\n"
    )
    first = _doc("ctx", user={"token": "token-of-the-chosen-user"})
    second = _doc("ctx")
    second["users"] = [
        {"name": "u", "user": {"token": "token-of-a-shadowed-user"}},
        {"name": "basic", "user": {"username": "bob", "password": "basic-pass-99"}},
        {
            "name": "plugin",
            "user": {
                "exec": {
                    "command": "kubelogin",
                    "args": [
                        "get-token",
                        "--oidc-issuer-url=https://issuer.example/realms/x",
                        "--oidc-client-secret",
                        "plugin-secret-77",
                        "--extra=inline-value-1234",
                        "--v",
                        "9",
                    ],
                    "env": [{"name": "PLUGIN_KEY", "value": "env-secret-55"}, {"name": "MODE", "value": "a"}],
                }
            },
        },
        {"name": "cert", "user": {"client-key-data": base64.b64encode(key_pem.encode()).decode()}},
        {
            "name": "oidc",
            "user": {"auth-provider": {"name": "oidc", "config": {"refresh-token": "rt-in-file"}}},
        },
    ]
    a, b = _write(tmp_path / "a", first), _write(tmp_path / "b", second)
    ctx = make_context(env={**os.environ, "KUBECONFIG": os.pathsep.join(map(str, (a, b)))})
    config = kubeconfig.load(ctx)
    assert config.users["u"]["token"] == "token-of-the-chosen-user"
    secrets = [
        "token-of-the-chosen-user",
        "token-of-a-shadowed-user",
        "basic-pass-99",
        base64.b64encode(b"bob:basic-pass-99").decode(),
        "plugin-secret-77",
        "inline-value-1234",
        "env-secret-55",
        "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg",
        "rt-in-file",
    ]
    for secret in secrets:
        assert ctx.scrubber.scrub(f"echo {secret} end") == "echo *** end", secret
    # Subcommands, flags, plain URLs and short values stay readable in every message.
    for word in ("get-token", "--oidc-client-secret", "https://issuer.example/realms/x", "kubelogin"):
        assert ctx.scrubber.scrub(word) == word


def test_the_vpn_probe_api_keeps_working(tmp_path: Path, ca: Any) -> None:
    """vpn.cluster reads the kubeconfig through load → select → ca_pem; its errors are the two
    exceptions it catches, whatever is wrong with the file."""
    doc = _doc("ctx")
    doc["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
        ca.cert_pem.bytes()
    ).decode()
    ctx = make_context({"runai": {"kubeconfig": str(_write(tmp_path / "kc", doc))}})
    assert kubeconfig.ca_pem(kubeconfig.select(ctx, kubeconfig.load(ctx))) == ca.cert_pem.bytes().decode()
    (tmp_path / "bad").write_bytes(b"\xff")
    ctx = make_context({"runai": {"kubeconfig": str(tmp_path / "bad")}})
    with pytest.raises(kubeconfig.KubeconfigError):
        kubeconfig.load(ctx)

"""Bounded input: a YAML "billion laughs" of a few hundred bytes, a recursive alias, absurd
nesting and a huge file are refused at once with a clear message, in the tool's config and in
every reader that parses through `config.YAML_LOADER` (the kubeconfig)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from aisg_check import bounds
from aisg_check.config import YAML_LOADER, ConfigError, load
from tests.helpers import LOOPBACK_PROFILE, run_cli, write_config


def bomb(levels: int, key: str = "vpn") -> str:
    """Each level: a list of nine aliases of the level before; 9**levels values once expanded."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def config_bomb(levels: int) -> str:
    """The bomb inside the tool's own config: a value of vpn.extra."""
    anchors = ['  - &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        anchors.append(f"  - &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]")
    return "vpn:\n  extra:\n" + "\n".join(anchors) + "\n"


@pytest.mark.parametrize("levels", [7, 8, 9])
def test_a_billion_laughs_is_refused_at_once_by_the_shared_loader(levels: int) -> None:
    text = bomb(levels)
    assert len(text) < 600
    t0 = time.monotonic()
    with pytest.raises(yaml.YAMLError) as info:
        yaml.load(text, Loader=YAML_LOADER)
    assert time.monotonic() - t0 < 0.2
    assert "aliases" in str(info.value) and len(str(info.value)) < 400
    with pytest.raises(yaml.YAMLError):
        list(yaml.load_all("a: 1\n---\n" + text, Loader=YAML_LOADER))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("&a [*a]\n", "recursive alias"),
        ("a: &a {b: *a}\n", "recursive alias"),
        ("[" * 200 + "]" * 200 + "\n", "nested more than"),
        ("a:\n" + "".join("  " * i + "- \n" for i in range(1, 150)), "nested more than"),
    ],
)
def test_recursive_aliases_and_absurd_nesting_are_refused(text: str, says: str) -> None:
    with pytest.raises(yaml.YAMLError) as info:
        yaml.load(text, Loader=YAML_LOADER)
    assert says in str(info.value)


def test_ordinary_anchors_and_merge_keys_still_load() -> None:
    text = (
        "defaults: &d {server: https://127.0.0.1:6443, insecure-skip-tls-verify: true}\n"
        "clusters:\n  - {name: a, cluster: {<<: *d}}\n  - {name: b, cluster: {<<: *d, server: https://x}}\n"
        "shared: &s [1, 2, 3]\nagain: [*s, *s, *s]\n"
    )
    doc = yaml.load(text, Loader=YAML_LOADER)
    assert doc["clusters"][1]["cluster"] == {"server": "https://x", "insecure-skip-tls-verify": True}
    assert doc["again"] == [[1, 2, 3]] * 3


@pytest.fixture()
def env(home: Path) -> dict[str, str]:
    write_config(home / ".config" / "aisg-check" / "config.yaml", LOOPBACK_PROFILE)
    return dict(os.environ)


@pytest.mark.parametrize("levels", [7, 9])
def test_a_bomb_in_the_config_file_is_exit_2_with_a_short_line(
    env: dict[str, str], home: Path, levels: int
) -> None:
    path = home / ".config" / "aisg-check" / "config.yaml"
    path.write_text(config_bomb(levels))
    t0 = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load(env={**env, "HOME": str(home)})
    assert time.monotonic() - t0 < 0.5
    assert str(path) in str(info.value) and "aliases" in str(info.value)
    t0 = time.monotonic()
    result = run_cli(["all"], env=env, timeout=30)
    took = time.monotonic() - t0
    assert result.returncode == 2, result
    assert f"{path}:" in result.stderr and "aliases" in result.stderr
    assert len(result.stderr) < 400 and result.stdout == ""
    assert took < 5, f"{took:.1f} s (CLI start-up included)"  # not the 4-50 s of the expansion


def test_a_bomb_in_a_kubeconfig_is_named_not_expanded(
    env: dict[str, str], home: Path, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n" + bomb(9))
    t0 = time.monotonic()
    result = run_cli(
        ["runai", "--skip", "vpn.*", "--kubeconfig", str(kubeconfig), "--format", "json"], env=env, timeout=60
    )
    assert time.monotonic() - t0 < 20
    assert result.returncode == 1, result.stderr
    first = result.json()["results"][0]
    assert first["status"] == "fail" and first["code"] != "CHECK_CRASHED", first
    assert str(kubeconfig) in first["summary"] + (first["hint"] or "") and "aliases" in first["summary"]
    assert len(result.stdout) < 20_000


def test_a_huge_config_file_is_refused_without_reading_it_all(env: dict[str, str], home: Path) -> None:
    path = home / ".config" / "aisg-check" / "config.yaml"
    with path.open("w") as handle:
        handle.write("# " + "x" * 1000 + "\n")
        handle.truncate(bounds.MAX_FILE_BYTES + 10)  # sparse: no disk used
    result = run_cli(["vpn"], env=env, timeout=30)
    assert result.returncode == 2
    assert str(path) in result.stderr and "larger than" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_read_bytes_caps_any_file(tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.write_bytes(b"x" * 10)
    assert bounds.read_bytes(small, limit=10) == b"x" * 10
    with pytest.raises(OSError) as info:
        bounds.read_bytes(small, limit=9)
    assert isinstance(info.value, bounds.FileTooLarge) and info.value.filename == str(small)
    assert "larger than" in (info.value.strerror or "")

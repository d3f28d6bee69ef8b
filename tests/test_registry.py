from __future__ import annotations

import pytest

from aisg_check import registry


def test_ids_are_unique_dotted_and_steps_live_under_their_check() -> None:
    checks = registry.all_checks()
    by_id = {c.id: c for c in checks}
    ids = [c.id for c in checks]
    assert len(ids) == len(set(ids))
    components = {c.name for c in registry.COMPONENTS}
    for check in checks:
        assert check.component in components
        assert check.id == check.component or check.id.startswith(check.component + ".")
        for step in check.steps:
            assert step.id == check.id or step.id.startswith(check.id + "."), step.id
        for need in check.needs:
            assert need in by_id, f"{check.id} needs unknown {need}"


def test_select_component_pulls_in_needs() -> None:
    ids = [c.id for c in registry.select(["rancher"])]
    assert ids == ["vpn.rancher", "rancher"]


def test_select_only_and_skip() -> None:
    assert [c.id for c in registry.select(None, only=["vpn.gitlab"])] == ["vpn.gitlab"]
    assert [c.id for c in registry.select(None, only=["rancher.dashboard"])] == ["vpn.rancher", "rancher"]
    assert "tools" not in [c.id for c in registry.select(None, skip=["tools"])]
    assert [c.id for c in registry.select(["rancher"], skip=["vpn.rancher"])] == ["rancher"]
    assert {c.id for c in registry.select(None, only=["vpn.*"])} >= {"vpn.gitlab", "vpn.status"}


def test_a_check_id_sharing_a_prefix_is_not_a_step() -> None:
    """`runai.cli` is a check of its own: skipping it keeps `runai`, and --only runs it alone."""
    assert "runai" in [c.id for c in registry.select(["runai"], skip=["runai.cli"])]
    assert "runai.cli" not in [c.id for c in registry.select(["runai"], skip=["runai.cli"])]
    only = [c.id for c in registry.select(None, only=["runai.cli"])]
    assert "runai.cli" in only and "runai" not in only


def test_an_item_of_a_group_step_selects_its_check() -> None:
    assert "harbor.user" in [c.id for c in registry.select(None, only=["harbor.user.push.myteam"])]


def test_unknown_selection_is_a_usage_error() -> None:
    with pytest.raises(registry.SelectionError, match="names no check"):
        registry.select(None, only=["nope"])


def test_flags_map_to_real_config_keys() -> None:
    from aisg_check.config import KEYS_BY_PATH

    for component in registry.COMPONENTS:
        for flag in component.flags:
            assert flag.key in KEYS_BY_PATH, flag

"""A stand-in `runai` executable: Run:ai's improved CLI (or the first one) as far as aisg-check
and its tests use it, answering with the texts of answers.yaml (which names the docs it follows).

The improved CLI keeps its state where the real one does: the directory RUNAI_CLI_CONFIG_PATH
(default ~/.runai/), file RUNAI_CLI_CONFIG_FILE (default config.json); what is in that file is
the stand-in's own business, as it is the real CLI's (aisg-check never reads it). Commands that
need the control plane (login, cluster set, project set, project list) open a TCP connection to
the configured control-plane URL first, so an unreachable control plane is a real refused
connection on 127.0.0.1.

Chosen by the wrapper `install()` writes: RUNAI_STANDIN_CLI (improved | first),
RUNAI_STANDIN_VERSION; RUNAI_STANDIN_TENANT names a tenant file to use instead of answers.yaml's;
RUNAI_STANDIN_SESSION_S overrides the session's lifetime at login (negative: already expired);
RUNAI_STANDIN_LIST_NEEDS_CLUSTER makes `project list` refuse to run without a default cluster;
RUNAI_STANDIN_CONFIG_TOKEN makes `config generate` print the session's token.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ANSWERS = yaml.safe_load((Path(__file__).with_name("answers.yaml")).read_text())
VERSION = os.environ.get("RUNAI_STANDIN_VERSION", "2.19.14")


def say(text: str, *, error: bool = False, code: int = 0, **values: Any) -> int:
    (sys.stderr if error else sys.stdout).write(text.format(version=VERSION, **values))
    return code


def fail(name: str, **values: Any) -> int:
    return say(ANSWERS["improved"]["errors"][name], error=True, code=1, **values)


def state_path() -> Path:
    folder = os.environ.get("RUNAI_CLI_CONFIG_PATH") or str(Path(os.environ["HOME"]) / ".runai")
    return Path(folder) / os.environ.get("RUNAI_CLI_CONFIG_FILE", "config.json")


def load() -> dict[str, Any]:
    path = state_path()
    return json.loads(path.read_text()) if path.is_file() else {"cpUrl": "https://127.0.0.1:9"}


def save(state: dict[str, Any]) -> None:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2))


def tenant() -> dict[str, Any]:
    override = os.environ.get("RUNAI_STANDIN_TENANT")
    return yaml.safe_load(Path(override).read_text()) if override else ANSWERS["tenant"]  # type: ignore[no-any-return]


def reachable(state: dict[str, Any]) -> int | None:
    """Connect to the control plane as the real CLI would before any request; its error if not."""
    url = state.get("cpUrl", "")
    split = urlsplit(url)
    port = split.port or (443 if split.scheme == "https" else 80)
    try:
        socket.create_connection((split.hostname or "", port), timeout=2).close()
    except OSError:
        return fail("unreachable", url=url.rstrip("/"), address=f"{split.hostname}:{port}")
    return None


def session(state: dict[str, Any]) -> tuple[dict[str, Any] | None, int | None]:
    found = state.get("session")
    if not found:
        return None, fail("not_logged_in")
    if found["expires_at"] <= time.time():
        return None, fail("expired")
    return found, reachable(state)


def arg(args: list[str], flag: str) -> str | None:
    for i, value in enumerate(args):
        if value == flag and i + 1 < len(args):
            return args[i + 1]
        if value.startswith(flag + "="):
            return value.split("=", 1)[1]
    return None


def login(args: list[str], state: dict[str, Any]) -> int:
    if (failed := reachable(state)) is not None:
        return failed
    users = tenant()["users"]
    user = arg(args, "-u") or arg(args, "--username") or next(iter(users))
    password = arg(args, "-p") or arg(args, "--password") or users.get(user, {}).get("password")
    if user not in users or users[user]["password"] != password:
        return fail("bad_credentials")
    lifetime = float(os.environ.get("RUNAI_STANDIN_SESSION_S", ANSWERS["improved"]["session_s"]))
    state["session"] = {
        "user": user,
        "token": "rsi-" + secrets.token_hex(16),
        "expires_at": time.time() + lifetime,
    }
    clusters = tenant()["clusters"]
    if len(clusters) == 1 and not state.get("cluster"):  # documented: one cluster is the default
        state["cluster"] = dict(clusters[0])
    save(state)
    return say(ANSWERS["improved"]["login_success"])


def visible(state: dict[str, Any], user: str) -> list[str]:
    per_cluster = tenant()["users"][user]["projects"]
    cluster = (state.get("cluster") or {}).get("name")
    return list(per_cluster.get(cluster, [])) if cluster else [p for ps in per_cluster.values() for p in ps]


def cluster_set(args: list[str], state: dict[str, Any]) -> int:
    found, failed = session(state)
    if found is None or failed is not None:
        return failed or 1
    name, ident = arg(args, "--name"), arg(args, "--id")
    if name is None and ident is None and len(args) > 2 and not args[2].startswith("-"):
        name = args[2]
    match = [c for c in tenant()["clusters"] if c["name"] == name or c["id"] == ident]
    if not match:
        return fail("unknown_cluster", name=name or ident)
    state["cluster"] = dict(match[0])
    save(state)
    return say(ANSWERS["improved"]["cluster_set"], name=match[0]["name"])


def project(args: list[str], state: dict[str, Any]) -> int:
    found, failed = session(state)
    if found is None or failed is not None:
        return failed or 1
    names = visible(state, found["user"])
    if (
        args[1:2] == ["list"]
        and os.environ.get("RUNAI_STANDIN_LIST_NEEDS_CLUSTER")
        and not state.get("cluster")
    ):
        return fail("no_cluster")
    if args[1:2] == ["list"]:
        cluster = (state.get("cluster") or {}).get("name")
        rows = [{"name": n, "clusterName": cluster, "status": "Ready"} for n in names]
        return say(json.dumps(rows, indent=2).replace("{", "{{").replace("}", "}}") + "\n")
    name = arg(args, "--name") or (args[2] if len(args) > 2 else None)
    if not state.get("cluster"):
        return fail("no_cluster")
    if name not in names:
        return fail("unknown_project", name=name)
    state["project"] = name
    save(state)
    return say(ANSWERS["improved"]["project_set"], name=name)


def config(args: list[str], state: dict[str, Any]) -> int:
    answers = ANSWERS["improved"]
    if args[1:2] == ["set"]:
        for flag, key in (("--cp-url", "cpUrl"), ("--auth-url", "authUrl")):
            if arg(args, flag):
                state[key] = arg(args, flag)
        save(state)
        return say(answers["config_set"])
    keys = answers["config_keys"]
    doc = {
        keys["control_plane"]: state.get("cpUrl"),
        keys["auth"]: state.get("authUrl", state.get("cpUrl")),
        keys["cluster"]: state.get("cluster"),
        keys["project"]: state.get("project", ""),
        **answers["config_extra"],
    }
    if os.environ.get("RUNAI_STANDIN_CONFIG_TOKEN") and state.get("session"):
        doc["accessToken"] = state["session"]["token"]  # as a CLI that prints its token would
    return say(json.dumps(doc, indent=2).replace("{", "{{").replace("}", "}}") + "\n")


def kubeconfig_set(state: dict[str, Any]) -> int:
    found, failed = session(state)
    if found is None or failed is not None:
        return failed or 1
    paths = os.environ.get("KUBECONFIG", "").split(os.pathsep)
    path = Path(paths[0]) if paths[0] else Path(os.environ["HOME"]) / ".kube" / "config"
    doc = yaml.safe_load(path.read_text())
    context = next(c for c in doc["contexts"] if c["name"] == doc["current-context"])
    for user in doc["users"]:
        if user["name"] == context["context"]["user"]:
            user["user"] = {"token": found["token"]}
    path.write_text(yaml.safe_dump(doc))
    return say(ANSWERS["improved"]["kubeconfig_set"])


def improved(args: list[str]) -> int:
    state = load()
    command = args[0] if args else ""
    if command == "version":
        return say(ANSWERS["improved"]["version_wide" if "--wide" in args else "version"])
    if command == "login":
        return login(args, state)
    if command == "logout":
        state.pop("session", None)
        save(state)
        return say(ANSWERS["improved"]["logout_success"])
    if command == "cluster" and args[1:2] == ["set"]:
        return cluster_set(args, state)
    if command == "project":
        return project(args, state)
    if command == "config":
        return config(args, state)
    if command == "kubeconfig" and args[1:2] == ["set"]:
        return kubeconfig_set(state)
    return say(f'Error: unknown command "{command}" for "runai"\n', error=True, code=1)


def first(args: list[str]) -> int:
    answers = ANSWERS["first"]
    command = args[0] if args else ""
    if command == "version":
        flags = [a for a in args[1:] if a.startswith("-")]
        if any(flag != "--short" for flag in flags):
            return say(answers["unknown_flag"], error=True, code=1, flag=flags[0])
        return say(answers["version_short" if "--short" in flags else "version"])
    if command == "whoami":
        user = os.environ.get("RUNAI_STANDIN_WHOAMI")
        if user:
            return say(answers["whoami"], user=user)
        return say(answers["whoami_not_logged_in"], error=True, code=1)
    return say(f'Error: unknown command "{command}" for "runai"\n', error=True, code=1)


if __name__ == "__main__":
    kind = os.environ.get("RUNAI_STANDIN_CLI", "improved")
    sys.exit((improved if kind == "improved" else first)(sys.argv[1:]))

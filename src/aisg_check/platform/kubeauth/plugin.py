"""An exec credential plugin (the newer Run:ai CLI, kubelogin), run as kubectl runs it (no
stdin: never interactive), but with its failure reported instead of going on anonymously as
the Python client does."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aisg_check.context import Context
from aisg_check.platform import kubeconfig
from aisg_check.platform.kubeauth.base import (
    Credential,
    InvalidEntry,
    PluginFailed,
    exp_of,
    name_of,
    string_field,
)
from aisg_check.platform.kubeauth.static import register_pem
from aisg_check.platform.kubeconfig import Selection
from aisg_check.secrets import Secret, jwt_claims

EXEC_INFO_API = "client.authentication.k8s.io/v1"


@dataclass(frozen=True)
class ExecSpec:
    argv: tuple[str, ...]
    env: Mapping[str, str]
    api_version: str
    install_hint: str | None

    @property
    def name(self) -> str:
        return Path(self.argv[0]).name


def exec_spec(sel: Selection) -> ExecSpec:
    """The plugin's command line and environment, checked for the types kubectl requires."""
    spec = sel.user["exec"]
    where = f"users['{sel.user_name}'].user.exec"

    def invalid(message: str) -> InvalidEntry:
        return InvalidEntry(sel.user_file, f"{where}.{message}")

    command = spec.get("command")
    if not isinstance(command, str) or not command:
        raise invalid("command must be a program name or path")
    if ("/" in command or "\\" in command) and not Path(command).is_absolute():
        command = str(kubeconfig.relative_to(sel.user_file, command))
    args = spec.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise invalid("args must be a list of strings")
    env: dict[str, str] = {}
    for i, item in enumerate(spec.get("env") or []):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise invalid(f"env[{i}] must have a string 'name'")
        env[item["name"]] = (
            string_field(sel, f"exec.env[{i}].value", item.get("value")) if "value" in item else ""
        )
    api_version = spec.get("apiVersion") or EXEC_INFO_API
    install = spec.get("installHint")
    return ExecSpec(
        (command, *args),
        env,
        str(api_version),
        install.strip() if isinstance(install, str) and install.strip() else None,
    )


def exec_plugin(ctx: Context, sel: Selection, *, timeout: float) -> Credential:
    """Run the credential plugin as kubectl would (no stdin: never interactive), but report its
    failure instead of going on anonymously as the Python client does."""
    spec = exec_spec(sel)
    env = {**ctx.env, **spec.env}
    env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": spec.api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
    )
    # Only the command's name: its arguments may carry a client secret (`--oidc-client-secret X`).
    details: dict[str, Any] = {"auth": "exec", "command": spec.name}
    result = ctx.run(list(spec.argv), timeout=timeout, env=env)
    if result.not_found:
        raise PluginFailed(
            f"The credential plugin `{spec.argv[0]}` of user '{sel.user_name}' is not installed",
            details,
            command=spec.name,
            install_hint=spec.install_hint,
        )
    if result.timed_out:
        raise PluginFailed(
            f"The credential plugin `{spec.name}` did not finish within {timeout:g}s "
            "(it may be waiting for a browser login)",
            details,
            command=spec.name,
        )
    status = _exec_status(result.stdout) if result.returncode == 0 else None
    if status is None:
        ctx.scrubber.add(result.stdout.strip())  # unparsed output may still carry a token
    else:
        _register_exec_output(ctx, status)
    token = status.get("token") if status else None
    cert = status.get("clientCertificateData") if status else None
    if not (isinstance(token, str) and token) and not (isinstance(cert, str) and cert):
        message = ctx.scrubber.scrub_external((result.stderr.strip() or result.stdout.strip())[-300:])
        why = f"exited with {result.returncode}" if result.returncode else "gave no credential"
        raise PluginFailed(
            f"The credential plugin `{spec.name}` {why}: {message or 'no output'}", details, command=spec.name
        )
    expires = status.get("expirationTimestamp") if status else None
    details["expires"] = expires if isinstance(expires, str) else None
    expires_at = _timestamp(expires)
    if isinstance(token, str) and token:
        claims = jwt_claims(token)
        name = name_of(claims)
        details["username"] = name
        return Credential(
            "exec",
            Secret(token),
            username=name,
            details=details,
            expires_at=expires_at if expires_at is not None else exp_of(claims),
        )
    key = status.get("clientKeyData") if status else None
    details["username"] = None
    return Credential(
        "exec",
        cert_pem=Secret(str(cert)),
        key_pem=Secret(key if isinstance(key, str) else ""),
        details=details,
        expires_at=expires_at,
    )


def _timestamp(value: Any) -> float | None:
    """An ExecCredential's expirationTimestamp (RFC 3339), as epoch seconds; None if unreadable."""
    from datetime import datetime, timezone

    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _exec_status(stdout: str) -> Mapping[str, Any] | None:
    try:
        doc = json.loads(stdout)
    except ValueError:
        return None
    status = doc.get("status") if isinstance(doc, dict) else None
    return status if isinstance(status, Mapping) else None


def _register_exec_output(ctx: Context, status: Mapping[str, Any]) -> None:
    for key in ("token", "clientCertificateData"):
        if isinstance(status.get(key), str):
            ctx.scrubber.add(status[key])
    if isinstance(status.get("clientKeyData"), str):
        register_pem(ctx, status["clientKeyData"])

"""Settings: embedded profile < user file < environment < command-line flags.

The keys are a public contract (DESIGN.md §5): users' files and scripts depend on them.
The schema is the dataclasses of settings.py; each field's metadata says what it is for and
which environment variables of other tools feed it. Every value remembers where it came from,
so `aisg-check config` can say so. Files are read with a size cap and YAML through the bounded
loader (bounds.py): a config file cannot make the tool expand an alias bomb.
"""

from __future__ import annotations

import dataclasses
import os
import pkgutil
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from aisg_check.bounds import YAML_LOADER, read_text
from aisg_check.secrets import Secret, clip, shown, strip_credentials
from aisg_check.settings import Settings

# The schema (settings.py) and the YAML loader (bounds.py) are imported from here by the rest
# of the tool, as before they moved.
__all__ = [
    "KEYS",
    "KEYS_BY_PATH",
    "YAML_LOADER",
    "ConfigError",
    "KeySpec",
    "LoadedConfig",
    "Settings",
    "Value",
    "display_value",
    "load",
    "parse_set_option",
    "user_config_path",
]

ENV_PREFIX = "AISG_CHECK_"
MAX_TIMEOUT = 600.0  # a bound, so that "inf" or 1e12 is a clear error rather than an overflow
CONFIG_ENV = "AISG_CHECK_CONFIG"
PROFILE_NAME = "aisg"


class ConfigError(Exception):
    """A configuration problem the user must fix; printed as one line, exit code 2."""


@dataclass(frozen=True)
class KeySpec:
    path: str
    type: Any
    help: str
    env: tuple[str, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def env_name(self) -> str:
        return ENV_PREFIX + self.path.replace(".", "_").upper()

    @property
    def secret(self) -> bool:
        return _base_type(self.type) is Secret

    @property
    def url(self) -> bool:
        return bool(self.metadata.get("url"))

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self.metadata.get("choices", ()))


def _base_type(tp: Any) -> Any:
    """`str | None` → `str`."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _nullable(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType) and type(None) in typing.get_args(tp)


def _walk(cls: type, prefix: str = "") -> list[KeySpec]:
    hints = typing.get_type_hints(cls)
    specs: list[KeySpec] = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            specs.extend(_walk(tp, f"{prefix}{f.name}."))  # type: ignore[arg-type]
        else:
            specs.append(
                KeySpec(
                    prefix + f.name, tp, f.metadata.get("help", ""), f.metadata.get("env", ()), f.metadata
                )
            )
    return specs


KEYS: tuple[KeySpec, ...] = tuple(_walk(Settings))
KEYS_BY_PATH: Mapping[str, KeySpec] = {k.path: k for k in KEYS}
SECTIONS: frozenset[str] = frozenset(p.split(".")[0] for p in KEYS_BY_PATH if "." in p)


@dataclass(frozen=True)
class Value:
    value: Any
    source: str  # "profile aisg", "file /x/config.yaml:12", "env AISG_CHECK_TIMEOUT", "flag --timeout"


@dataclass(frozen=True)
class LoadedConfig:
    settings: Settings
    values: Mapping[str, Value]
    config_file: Path | None

    def secrets(self) -> list[Secret]:
        return [v.value for v in self.values.values() if isinstance(v.value, Secret)]


# ---------------------------------------------------------------------------------------------
# coercion


def _coerce(spec: KeySpec, raw: Any, where: str, *, from_text: bool) -> Any:
    """Turn a YAML value (or an env/flag string when `from_text`) into the key's type."""
    tp = _base_type(spec.type)
    if raw is None or (from_text and raw == "" and _nullable(spec.type)):
        if _nullable(spec.type):
            return None
        raise ConfigError(f"{where}: '{spec.path}' must not be empty (expected {_type_name(spec.type)})")
    try:
        if tp is bool:
            return _to_bool(raw, from_text)
        if tp is int:
            if isinstance(raw, bool) or (not from_text and not isinstance(raw, int)):
                raise ValueError
            return int(raw)
        if tp is float:
            if isinstance(raw, bool) or (not from_text and not isinstance(raw, (int, float))):
                raise ValueError
            value = float(raw)
            if spec.path == "timeout" and not 0 < value <= MAX_TIMEOUT:
                raise ConfigError(
                    f"{where}: 'timeout' must be a number of seconds greater than 0 and at most "
                    f"{MAX_TIMEOUT:g}, got {shown(raw)}"
                )
            return value
        if tp is str:
            if (not from_text and not isinstance(raw, (str, int, float))) or isinstance(raw, bool):
                raise ValueError
            if spec.url and raw != "":  # an empty URL means "not configured": its check skips
                _check_url(spec, str(raw), where)
            if spec.choices and raw not in spec.choices:
                raise ConfigError(
                    f"{where}: '{spec.path}' must be one of {', '.join(spec.choices)}, got {shown(raw)}"
                )
            return str(raw)
        if tp is Secret:
            if not isinstance(raw, str):
                raise ValueError
            return Secret(raw)
        if typing.get_origin(tp) is tuple:
            if from_text and isinstance(raw, str):
                return tuple(item.strip() for item in raw.split(",") if item.strip())
            if not isinstance(raw, list) or not all(isinstance(i, (str, int)) for i in raw):
                raise ValueError
            return tuple(str(i) for i in raw)
    except ValueError:
        raise ConfigError(
            f"{where}: '{spec.path}' must be {_type_name(spec.type)}, got {shown(raw, secret=spec.secret)}"
        ) from None
    raise AssertionError(f"unhandled type {tp!r} for {spec.path}")


def _check_url(spec: KeySpec, value: str, where: str) -> None:
    from urllib.parse import urlsplit

    try:
        split = urlsplit(value)
        split.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        split = None
    if split is None or split.scheme not in ("http", "https") or not split.hostname:
        raise ConfigError(f"{where}: '{spec.path}' must be an http:// or https:// URL, got {shown(value)}")


def _to_bool(raw: Any, from_text: bool) -> bool:
    if isinstance(raw, bool):
        return raw
    if from_text and isinstance(raw, str):
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
    raise ValueError


def _type_name(tp: Any) -> str:
    base = _base_type(tp)
    names = {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        str: "a string",
        Secret: "a string",
    }
    name = names.get(base) or ("a list of strings" if typing.get_origin(base) is tuple else str(base))
    return f"{name} or null" if _nullable(tp) else name


def _nearest(word: str, candidates: list[str], cutoff: float) -> str | None:
    """The closest valid name, for a typo's error message (difflib only on that path)."""
    import difflib

    near = difflib.get_close_matches(word, candidates, n=1, cutoff=cutoff)
    return near[0] if near else None


def _unknown_key(path: str, where: str) -> ConfigError:
    candidates = list(KEYS_BY_PATH) + sorted(SECTIONS)
    near = _nearest(path[:100], candidates, 0.6)
    hint = f"; did you mean '{near}'?" if near else "; see `aisg-check config` for the valid keys"
    return ConfigError(f"{where}: unknown key {shown(path)}{hint}")


# ---------------------------------------------------------------------------------------------
# sources


def _read_yaml(text: str, name: str) -> dict[str, tuple[Any, int]]:
    """Parse a config document into {dotted key: (python value, line)}; errors name file and line."""
    try:
        loader = YAML_LOADER(text)  # the pure-Python reader refuses control characters here
    except yaml.YAMLError as exc:
        raise ConfigError(f"{name}: invalid YAML: {_unmarked(exc)}") from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = f":{mark.line + 1}" if mark else ""
            problem = exc.problem or exc.context or "invalid YAML"
            if exc.context and exc.context_mark and exc.context_mark is not mark:
                problem += f" ({exc.context} at line {exc.context_mark.line + 1})"
            lines = text.splitlines()
            if mark and mark.line < len(lines) and "\t" in lines[mark.line] and "token" in problem:
                problem += " (a tab: YAML indents and separates with spaces only)"
            raise ConfigError(f"{name}{line}: invalid YAML: {problem}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{name}: invalid YAML: {_unmarked(exc)}") from None
        if root is None:
            raise ConfigError(f"{name}: the file is empty; add settings to it or remove it")
        if not isinstance(root, yaml.MappingNode):
            raise ConfigError(f"{name}:{root.start_mark.line + 1}: expected a mapping of settings at the top")
        out: dict[str, tuple[Any, int]] = {}
        _flatten_node(loader, root, "", name, out)
        return out
    finally:
        loader.dispose()


def _unmarked(exc: yaml.YAMLError) -> str:
    """An error without a line mark (a control character): its first line, never a quote."""
    return getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]


def _flatten_node(
    loader: yaml.SafeLoader, node: yaml.MappingNode, prefix: str, name: str, out: dict[str, tuple[Any, int]]
) -> None:
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        key = f"{prefix}{key_node.value}"
        where = f"{name}:{line}"
        if not prefix and key in SECTIONS:
            if isinstance(value_node, yaml.ScalarNode) and value_node.tag == "tag:yaml.org,2002:null":
                continue  # an empty section ("harbor:") is harmless
            if not isinstance(value_node, yaml.MappingNode):
                raise ConfigError(f"{where}: '{key}' must be a mapping of settings")
            _flatten_node(loader, value_node, key + ".", name, out)
            continue
        if key not in KEYS_BY_PATH:
            raise _unknown_key(key, where)
        if key in out:
            raise ConfigError(f"{where}: '{key}' is set twice")
        try:
            value = loader.construct_object(value_node, deep=True)
        except yaml.YAMLError as exc:
            # The problem only: PyYAML's own text quotes the offending line, which may be a token.
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise ConfigError(f"{where}: '{key}': invalid value: {problem}") from None
        out[key] = (value, line)


def _embedded_profile() -> str:
    # pkgutil, not importlib.resources: the same loader-aware read (wheels, zips), without the
    # ~5 ms importlib.resources spends importing tempfile and zipfile on every run.
    data = pkgutil.get_data("aisg_check", f"profiles/{PROFILE_NAME}.yaml")
    if data is None:  # only for a loader that cannot read data files; none of pip's do
        raise ConfigError(f"the built-in profile {PROFILE_NAME}.yaml is missing from the installation")
    return data.decode("utf-8")


def user_config_path(env: Mapping[str, str]) -> Path:
    """Where the user file lives when neither --config nor AISG_CHECK_CONFIG says otherwise."""
    if env.get("XDG_CONFIG_HOME") and os.name != "nt":
        return Path(env["XDG_CONFIG_HOME"]) / "aisg-check" / "config.yaml"
    import platformdirs

    return Path(platformdirs.user_config_dir("aisg-check", appauthor=False)) / "config.yaml"


def _locate_user_file(explicit: Path | None, env: Mapping[str, str]) -> tuple[Path | None, bool]:
    """Return (path, required): a file named by the user must exist; the default may not."""
    if explicit is not None:
        return explicit, True
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser(), True
    return user_config_path(env), False


def _read_user_file(path: Path, required: bool) -> str | None:
    try:
        return read_text(path, "utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: config file not found") from None
        return None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a YAML config file") from None
    except PermissionError:
        raise ConfigError(f"{path}: cannot read the config file (permission denied)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the config file is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None


def load(
    *,
    env: Mapping[str, str],
    config_file: Path | None = None,
    overrides: Sequence[tuple[str, Any, str]] = (),
) -> LoadedConfig:
    """Build the effective settings.

    `overrides` are command-line values as (dotted key, value, flag name); string values
    are parsed like environment values, other values are taken as typed.
    """
    values: dict[str, Value] = {}

    profile_name = f"profile {PROFILE_NAME}"
    for key, (raw, _line) in _read_yaml(_embedded_profile(), f"<embedded {PROFILE_NAME} profile>").items():
        values[key] = Value(_coerce(KEYS_BY_PATH[key], raw, profile_name, from_text=False), profile_name)

    path, required = _locate_user_file(config_file, env)
    used_file: Path | None = None
    if path is not None:
        text = _read_user_file(path, required)
        if text is not None:
            used_file = path
            for key, (raw, line) in _read_yaml(text, str(path)).items():
                where = f"{path}:{line}"
                values[key] = Value(_coerce(KEYS_BY_PATH[key], raw, where, from_text=False), f"file {where}")

    for spec in KEYS:
        # Other tools' own variables first, so that our explicit AISG_CHECK_* wins over them.
        for name in (*spec.env, spec.env_name):
            if name in env and env[name] != "":
                where = f"environment variable {name}"
                values[spec.path] = Value(_coerce(spec, env[name], where, from_text=True), f"env {name}")

    known_env = {k.env_name for k in KEYS} | {CONFIG_ENV}
    for env_name in env:
        if env_name.startswith(ENV_PREFIX) and env_name not in known_env:
            dotted = env_name[len(ENV_PREFIX) :].lower()
            near = _nearest(env_name[:100], sorted(known_env), 0.7)
            hint = f"; did you mean {near}?" if near else ""
            raise ConfigError(f"environment variable {clip(env_name, 80)}: no setting {shown(dotted)}{hint}")

    for key, raw, flag in overrides:
        if key not in KEYS_BY_PATH:
            raise _unknown_key(key, f"flag {flag}")
        spec = KEYS_BY_PATH[key]
        values[key] = Value(
            _coerce(spec, raw, f"flag {flag}", from_text=isinstance(raw, str)), f"flag {flag}"
        )

    return LoadedConfig(settings=_build(values), values=values, config_file=used_file)


def parse_set_option(item: str) -> tuple[str, str]:
    """`--set harbor.projects=a,b` → ('harbor.projects', 'a,b'). A malformed one is named by its
    key when it has a valid one, never by its value: `--set gitlab.token:VALUE` is a typo away
    from a token on the terminal and in CI logs."""
    key, sep, value = item.partition("=")
    if sep and key.strip():
        return key.strip(), value
    head = re.split(r"[\s:]", item.strip(), maxsplit=1)[0]
    if head in KEYS_BY_PATH and head != item.strip():
        raise ConfigError(f"flag --set: expected KEY=VALUE, got '{head}' and a value (not shown) without '='")
    got = f"'{head}'" if head in KEYS_BY_PATH or head in SECTIONS else "an argument (not shown)"
    raise ConfigError(f"flag --set: expected KEY=VALUE, got {got} without '='")


def _build(values: Mapping[str, Value]) -> Settings:
    sections: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, value in values.items():
        section, _, name = key.rpartition(".")
        if section:
            sections.setdefault(section, {})[name] = value.value
        else:
            top[key] = value.value
    hints = typing.get_type_hints(Settings)
    for section, fields in sections.items():
        top[section] = hints[section](**fields)
    return Settings(**top)


def display_value(value: Any) -> str:
    if isinstance(value, Secret):
        return "***"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(strip_credentials(v) for v in value) + "]"
    return strip_credentials(str(value))

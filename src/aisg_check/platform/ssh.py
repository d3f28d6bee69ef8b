"""OpenSSH's own view of the user's setup, read without a Recorder: the settings `ssh -G` prints,
the config file ssh really reads, and the private key files it would offer.

ssh finds `~` (its config file, default keys, known_hosts) through the password database
(`getpwuid`), not $HOME: under `sudo -E` or in a container the two differ. So both come from
ssh itself: `ssh -G -v` names each configuration file as it opens it ("Reading configuration
data <path>", the user's own first), and when there is no user file to name, `ssh -G` expands
`%d` (its home directory) in a ControlPath given on the command line.
"""

from __future__ import annotations

import base64
import binascii
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

_READING = re.compile(r"^debug\d: Reading configuration data (.+?)\s*$", re.M)
_TOKENS = re.compile(r"%[%durh]")
_OPENSSH_MAGIC = b"openssh-key-v1\x00"


@dataclass(frozen=True)
class SshConfig:
    """What `ssh -G` says ssh would do for `user@host`, and where it read that from."""

    target: str  # user@host, as git passes it
    hostname: str
    port: int
    user: str
    identity_files: tuple[Path, ...]
    known_hosts: tuple[str, ...]
    identity_agent: str
    config_file: Path  # the user config ssh reads (or would read, when it does not exist)
    home: Path  # ssh's home directory: what `~` and `%d` mean in its config


def effective_argv(options: Sequence[str], target: str) -> list[str]:
    """`ssh -G` with `-v`: the effective settings on stdout, the files read on stderr."""
    return ["ssh", *options, "-G", "-v", target]


def home_argv(options: Sequence[str], target: str) -> list[str]:
    """Asks ssh for its home directory: `-G` prints ControlPath with `%d` expanded (OpenSSH ≥ 8.4;
    older ones refuse the token, and the caller falls back on $HOME)."""
    return ["ssh", *options, "-G", "-o", "ControlPath=%d", target]


def user_config_read(stderr: str) -> Path | None:
    """The user config file ssh opened, from `ssh -G -v`: it reads that file first (includes
    follow it, the system file comes last), and it is always named `.ssh/config`."""
    match = _READING.search(stderr)
    if match is None:
        return None
    path = PurePath(match.group(1))
    if (path.parent.name, path.name) != (".ssh", "config"):
        return None  # no user file: the first file read is the system one
    return Path(match.group(1))


def home_from_probe(stdout: str) -> Path | None:
    """ssh's home directory from the output of `home_argv`, if this ssh expanded `%d`."""
    value = _values(stdout).get("controlpath", [""])[0]
    if not value or "%" in value or not PurePath(value).is_absolute():
        return None
    return Path(value)


def mentions_home(stdout: str) -> bool:
    """Whether an identity file in `ssh -G` output is relative to ssh's home (`~`, `%d`)."""
    return any(v.startswith("~") or "%d" in v for v in _values(stdout).get("identityfile", []))


def parse(stdout: str, target: str, *, home: Path, config_file: Path, local_user: str) -> SshConfig:
    values = _values(stdout)

    def first(key: str, default: str = "") -> str:
        return values.get(key, [default])[0]

    user, hostname = first("user"), first("hostname")
    identities = tuple(
        dict.fromkeys(
            expand(v, home=home, local_user=local_user, user=user, host=hostname)
            for v in values.get("identityfile", [])
        )
    )
    known = tuple(p for v in values.get("userknownhostsfile", []) for p in v.split())
    try:
        port = int(first("port", "22"))
    except ValueError:
        port = 22
    return SshConfig(
        target, hostname, port, user, identities, known, first("identityagent"), config_file, home
    )


def expand(value: str, *, home: Path, local_user: str, user: str, host: str) -> Path:
    """Expand what `ssh -G` leaves in IdentityFile (~, %d, %u, %r, %h, %%) as ssh will."""
    swaps = {"%%": "%", "%d": str(home), "%u": local_user, "%r": user, "%h": host}
    text = _TOKENS.sub(lambda m: swaps[m.group(0)], value)
    if text == "~" or text.startswith(("~/", "~\\")):
        return home / text[2:]
    return Path(text)


def _values(output: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in output.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            values.setdefault(key.lower(), []).append(value.strip())
    return values


def config_problem(path: Path) -> str | None:
    """Why ssh cannot use its config file (it skips such a file without a word), or None when
    the file is fine or absent. Only regular files are opened: /dev/null is a fine config."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:  # a symlink loop, a directory on the way that cannot be searched
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if not stat.S_ISREG(mode):
        return None
    try:
        with path.open("rb") as file:
            file.read(1)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return None


def message(stderr: str) -> str:
    """ssh's own last word, without the `-v` debug lines."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith("debug")]
    return lines[-1] if lines else "no output"


def key_is_encrypted(path: Path) -> bool:
    """Whether a private key file needs a passphrase, read from its header (never decrypted)."""
    try:
        text = path.read_text("ascii", errors="replace")
    except OSError:
        return False
    if "ENCRYPTED" in "\n".join(text.splitlines()[:3]):
        return True  # PEM: "Proc-Type: 4,ENCRYPTED" or "BEGIN ENCRYPTED PRIVATE KEY"
    match = re.search(r"-----BEGIN OPENSSH PRIVATE KEY-----(.*?)-----END", text, re.S)
    if not match:
        return False
    try:
        blob = base64.b64decode("".join(match.group(1).split())[:200] + "===")
    except (binascii.Error, ValueError):
        return False
    if not blob.startswith(_OPENSSH_MAGIC):
        return False
    rest = blob[len(_OPENSSH_MAGIC) :]
    length = int.from_bytes(rest[:4], "big")
    return rest[4 : 4 + length] != b"none"


def loose_mode(path: Path) -> int | None:
    """The file's mode when group or others may use it (ssh refuses such a private key), else None.
    POSIX modes only: on Windows ssh checks ACLs, which are not read here."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return mode & 0o777 if mode & (stat.S_IRWXG | stat.S_IRWXO) else None

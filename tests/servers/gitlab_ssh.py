"""A real OpenSSH server (Debian's /usr/sbin/sshd) on 127.0.0.1 that greets like GitLab's.

Its own host key; an authorized_keys whose forced command prints gitlab-shell's greeting
("Welcome to GitLab, @alice!"), so `ssh -T` behaves as against gitlab.aisingapore.net.
Client keys for the tests are made here too: one authorised, one not, one authorised but
with a passphrase. `passwd_home_runner` runs the ssh client as if the password database gave
this user another home than $HOME (ssh reads ~/.ssh/config from there).
"""

from __future__ import annotations

import functools
import getpass
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aisg_check.context import CommandResult, run_command
from tests.servers.process import ServerProcess, free_port, port_open

SSHD = "/usr/sbin/sshd"
USERNAME = "alice"  # the GitLab user the greeting names
PASSPHRASE = "correct horse battery staple"


def available() -> str | None:
    """None when sshd can run here, else why not."""
    if not os.path.exists(SSHD):
        return "openssh-server is not installed (/usr/sbin/sshd)"
    if not shutil.which("ssh") or not shutil.which("ssh-keygen"):
        return "the OpenSSH client (ssh, ssh-keygen) is not installed"
    return None


def keygen(path: Path, passphrase: str = "", comment: str = "aisg-check-test") -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=20,
    )
    return path


class GitlabSshServer:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.port = free_port()
        self.login = getpass.getuser()  # a non-root sshd can only log in the user running it
        self.host_key = keygen(workdir / "host_ed25519", comment="host")
        self.other_host_key = keygen(workdir / "other_host_ed25519", comment="impostor")
        self.key_ok = keygen(workdir / "id_ok")
        self.key_denied = keygen(workdir / "id_denied")
        self.key_passphrase = keygen(workdir / "id_passphrase", PASSPHRASE)
        greeting = (
            f"command=\"printf 'Welcome to GitLab, @{USERNAME}!\\n'\","
            "no-pty,no-port-forwarding,no-agent-forwarding"
        )
        authorized = workdir / "authorized_keys"
        authorized.write_text(
            "".join(
                f"{greeting} {Path(str(k) + '.pub').read_text()}" for k in (self.key_ok, self.key_passphrase)
            )
        )
        # The session's shell runs the authorized_keys command with `bash -c`, and bash run by
        # sshd reads ~/.bashrc: the password database's home is the machine's own (root's, whose
        # rc may start pyenv and print), so the server would measure and depend on it. An empty
        # home of the server's own keeps each connection to what a GitLab server does.
        self.session_home = workdir / "session-home"
        self.session_home.mkdir(exist_ok=True)
        config = workdir / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.host_key}",
                    f"PidFile {workdir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized}",
                    "StrictModes no",  # pytest's temp dirs are not laid out the way sshd insists on
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "PermitRootLogin prohibit-password",
                    "LogLevel VERBOSE",
                    f"SetEnv HOME={self.session_home}",
                    "",
                ]
            )
        )
        if os.geteuid() == 0:
            # As root, sshd insists on its privilege separation directory (systemd makes it at boot).
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.process = ServerProcess(
            [SSHD, "-D", "-e", "-f", str(config)],
            ready=lambda: port_open(self.port),
            log=workdir / "sshd.log",
            timeout=20,
        )

    def known_hosts_line(self, key: Path | None = None) -> str:
        public = Path(str(key or self.host_key) + ".pub").read_text().split()
        return f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n"

    def client_home(
        self,
        home: Path,
        *,
        identity: Path | None = None,
        port: int | None = None,
        known: str = "right",
    ) -> Path:
        """Write ~/.ssh/config and known_hosts under a test's HOME; returns the config path.

        known: "right" (the server's key), "none" (empty), "changed" (another key).
        """
        ssh_dir = home / ".ssh"
        ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        known_hosts = ssh_dir / "known_hosts"
        lines = {
            "right": self.known_hosts_line(),
            "none": "",
            "changed": self.known_hosts_line(self.other_host_key),
        }
        known_hosts.write_text(lines[known])
        block = ["Host 127.0.0.1"]
        if port is not None:
            block.append(f"    Port {port}")
        if identity is not None:
            block.append(f"    IdentityFile {identity}")
        block += [f"    UserKnownHostsFile {known_hosts}", "    GlobalKnownHostsFile /dev/null", ""]
        config = ssh_dir / "config"
        config.write_text("\n".join(block))
        return config

    def copy_key(self, key: Path, dest_dir: Path, mode: int = 0o600) -> Path:
        """A copy of a client key (and its .pub) with the given file mode, under a test's HOME."""
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / key.name
        shutil.copyfile(key, dest)
        shutil.copyfile(str(key) + ".pub", str(dest) + ".pub")
        os.chmod(dest, mode)
        return dest

    def stop(self) -> None:
        self.process.stop()


# -- the ssh client under another home in the password database ---------------------------------


@functools.lru_cache(maxsize=1)
def passwd_home_problem() -> str | None:
    """None when a child can be given its own /etc/passwd here (a private mount namespace)."""
    if not sys.platform.startswith("linux") or not shutil.which("unshare"):
        return "a private mount namespace needs Linux and unshare (util-linux)"
    if not any(line.split(":")[2:3] == [str(os.getuid())] for line in _passwd_lines()):
        return f"uid {os.getuid()} has no entry in /etc/passwd"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True, timeout=20)
    if probe.returncode != 0:
        return f"unshare -m is not permitted here: {probe.stderr.strip()}"
    return None


def _passwd_lines() -> list[str]:
    return Path("/etc/passwd").read_text().splitlines()


def passwd_home_runner(pw_home: Path, workdir: Path) -> Callable[..., CommandResult]:
    """A `Context.run` whose children see `pw_home` as this user's home in the password database
    (what ssh reads, whatever $HOME says), as under `sudo -E` or in a container: each command
    runs in a private mount namespace with a copy of /etc/passwd bound over the real one."""
    lines = []
    for line in _passwd_lines():
        fields = line.split(":")
        if len(fields) >= 7 and fields[2] == str(os.getuid()):
            fields[5] = str(pw_home)
        lines.append(":".join(fields))
    passwd = workdir / "passwd"
    passwd.write_text("\n".join(lines) + "\n")
    script = f'mount --bind {shlex.quote(str(passwd))} /etc/passwd && exec "$@"'

    def run(argv: Sequence[str], **kwargs: Any) -> CommandResult:
        return run_command(["unshare", "-m", "sh", "-c", script, "sh", *argv], **kwargs)

    return run

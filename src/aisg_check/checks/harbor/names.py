"""Harbor robot names and shells. Harbor names a robot `robot$<project>+<name>` (system and
pre-2.2 robots `robot$<name>`); typed unquoted in bash, zsh or PowerShell, or kept in a GitLab
CI/CD variable that expands references, `$<project>` is an (empty) variable and the name that
reaches the registry is `robot+<name>`. Both shells end a variable's name at the first character
that is not a letter, digit or underscore, so `robot$my-team+ci` becomes `robot-team+ci`.

Pure functions: whether a name looks like that, and the hint that shows it quoted."""

from __future__ import annotations

import re
from collections.abc import Sequence

PREFIX = "robot$"
_SHELL_VARIABLE = r"[A-Za-z_][A-Za-z0-9_]*"  # what `$` takes with it in bash, zsh and PowerShell


def looks_expanded(name: str) -> bool:
    """`robot` without `$`, alone or before a `+`: what an unquoted robot name leaves behind.
    A user named `robotics` is not one (no `+`)."""
    if "$" in name or not name.startswith("robot"):
        return False
    rest = name[len("robot") :]
    return rest == "" or "+" in rest


def restored(name: str, projects: Sequence[str]) -> str:
    """The name as Harbor gave it: the one configured project that explains what is left, by its
    shell-eaten head (`robot-team+ci` and project `my-team` → `robot$my-team+ci`) or whole (only
    the `$` dropped: `robotteam+ci`), else with placeholders."""
    left, plus, tail = name[len("robot") :].partition("+")
    if not plus:
        return f"{PREFIX}<name>"
    fits = []
    for project in projects:
        eaten = re.match(_SHELL_VARIABLE, project)
        if left == project or (eaten and project[eaten.end() :] == left):
            fits.append(project)
    return f"{PREFIX}{fits[0]}+{tail}" if len(fits) == 1 else f"{PREFIX}<project>+{tail}"


def bash_quoted(text: str) -> str:
    """Single quotes, in which bash and zsh expand nothing (a quote inside closes and reopens)."""
    return "'" + text.replace("'", "'\\''") + "'"


def powershell_quoted(text: str) -> str:
    """PowerShell's verbatim string: single quotes, a quote inside doubled."""
    return "'" + text.replace("'", "''") + "'"


def quoting_hint(registry: str, name: str, projects: Sequence[str]) -> str:
    """How to pass the name so that nothing expands it, for bash/zsh, PowerShell and GitLab CI."""
    real = restored(name, projects)
    login = f"docker login {registry} -u"
    placeholder = " (with your project's and robot's names in place of <...>)" if "<" in real else ""
    escaped = real.replace("$", "`$")
    return (
        f"Harbor's name for this robot is {real}{placeholder}: quote it in single quotes so that no shell "
        f"expands `$`. bash/zsh: `{login} {bash_quoted(real)}`; PowerShell: "
        f'`{login} {powershell_quoted(real)}` (in double quotes write "{escaped}"). In a GitLab CI/CD '
        f'variable clear "Expand variable reference".'
    )


def expanded_summary(name: str, projects: Sequence[str]) -> str:
    return (
        f"The name {name} looks like the robot {restored(name, projects)} with `$...` expanded by a shell "
        "(or a CI variable): Harbor knows no account by that name"
    )

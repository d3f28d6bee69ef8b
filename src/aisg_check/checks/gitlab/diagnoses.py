"""The diagnosis codes of `gitlab`: its own, and the shared ones its layers report besides the
network codes (`NETWORK_DIAGNOSES`, which the package adds as a whole). The checks' declared set
is derived from this module (`declared(diagnoses, NETWORK_DIAGNOSES)` in `__init__`).
"""

from __future__ import annotations

from aisg_check.checks.tools import TOOL_MISSING
from aisg_check.diagnoses import NOT_CONFIGURED
from aisg_check.model import CONTACT_MLOPS, Diagnosis

__all__ = ["NOT_CONFIGURED", "TOOL_MISSING"]  # shared codes the layers report, re-exported

GITLAB_SSH_CONFIG_INVALID = Diagnosis(
    "GITLAB_SSH_CONFIG_INVALID",
    "ssh config cannot be read",
    "`ssh -G` rejected the ssh configuration (a typo or an unknown option in ~/.ssh/config), so "
    "neither ssh nor git can use it.",
    "Fix the line ssh names (run `ssh -G <host>` to see the error), then run again.",
)
GITLAB_SSH_CONFIG_UNREADABLE = Diagnosis(
    "GITLAB_SSH_CONFIG_UNREADABLE",
    "ssh config is not a readable file",
    "The file ssh reads its settings from (.ssh/config in the home directory of the password database, "
    "which is not always $HOME, e.g. under `sudo -E` or in a container) is a directory or cannot be "
    "read: ssh then uses none of its Host blocks, so git goes to port 22 without your key.",
    "Make the file the summary names a readable file (`chmod 600 <file>`; a directory: move it away) "
    "holding the GitLab Host block, then run again.",
)
GITLAB_SSH_PORT_NOT_CONFIGURED = Diagnosis(
    "GITLAB_SSH_PORT_NOT_CONFIGURED",
    "GitLab's SSH port not configured",
    "GitLab answers SSH on port 2222, but ~/.ssh/config has no Host block that sets that port for "
    "gitlab.aisingapore.net, so `git clone git@gitlab.aisingapore.net:...` goes to port 22.",
    "Add the Host block the hint shows to ~/.ssh/config (Windows: C:\\Users\\<you>\\.ssh\\config).",
    CONTACT_MLOPS,
)
GITLAB_SSH_KEY_MISSING = Diagnosis(
    "GITLAB_SSH_KEY_MISSING",
    "No SSH key",
    "None of the identity files ssh would offer exists, and no ssh-agent holds a key.",
    "Create a key with `ssh-keygen -t ed25519`, add its .pub to GitLab (Preferences → SSH Keys) "
    "and name it with IdentityFile in the GitLab Host block of ~/.ssh/config.",
)
GITLAB_SSH_KEY_PERMISSIONS = Diagnosis(
    "GITLAB_SSH_KEY_PERMISSIONS",
    "Private key readable by others",
    "The private key file is readable or writable by other users; OpenSSH refuses to use such a key "
    '("UNPROTECTED PRIVATE KEY FILE").',
    "Make it private: `chmod 600 <key file>`.",
)
GITLAB_SSH_KEY_PASSPHRASE = Diagnosis(
    "GITLAB_SSH_KEY_PASSPHRASE",
    "Key has a passphrase and no agent holds it",
    "The private key is protected by a passphrase and no ssh-agent holds it: git asks for the "
    "passphrase on every fetch and push, and non-interactive runs (scripts, CI, this check) cannot "
    "use the key at all.",
    'Load it into an agent once per session: `eval "$(ssh-agent -s)" && ssh-add <key file>` '
    "(macOS: `ssh-add --apple-use-keychain <key file>`; Windows PowerShell as admin: "
    "`Get-Service ssh-agent | Set-Service -StartupType Automatic; Start-Service ssh-agent; ssh-add`).",
)
GITLAB_SSH_HOSTKEY_UNKNOWN = Diagnosis(
    "GITLAB_SSH_HOSTKEY_UNKNOWN",
    "GitLab's SSH host key not yet known",
    "known_hosts has no key for GitLab's SSH endpoint, so git (run without a terminal) stops with "
    '"Host key verification failed".',
    "Compare the fingerprint ssh shows with the one on GitLab's Help → Instance configuration page "
    "(/help/instance_configuration) or from the MLOps team, then connect once by hand "
    "(`ssh -T -p 2222 git@gitlab.aisingapore.net`) and answer yes.",
    CONTACT_MLOPS,
)
GITLAB_SSH_HOSTKEY_CHANGED = Diagnosis(
    "GITLAB_SSH_HOSTKEY_CHANGED",
    "GitLab's SSH host key changed",
    "The key GitLab presents differs from the one in known_hosts: either the server's key was "
    "replaced, or someone is intercepting the connection. ssh refuses to connect.",
    "Ask the MLOps team whether the key changed. Only if it did: remove the old entry with "
    "`ssh-keygen -R '[gitlab.aisingapore.net]:2222'` and accept the new key after checking its "
    "fingerprint.",
    CONTACT_MLOPS,
)
GITLAB_SSH_AUTH_DENIED = Diagnosis(
    "GITLAB_SSH_AUTH_DENIED",
    "GitLab does not accept your SSH key",
    "ssh reached GitLab and the host key is right, but GitLab refused every key offered "
    '("Permission denied (publickey)"): the public key is not added to your GitLab profile.',
    "Add the public key (the .pub file next to your private key) on GitLab under Preferences → SSH "
    "Keys, then run again.",
    CONTACT_MLOPS,
)
GITLAB_TOKEN_MISSING = Diagnosis(
    "GITLAB_TOKEN_MISSING",
    "No GitLab token",
    "No token was found for git over HTTPS: GITLAB_TOKEN and gitlab.token are unset and no git "
    "credential helper holds one for GitLab. (Fine if you only use git over SSH.)",
    "Create a personal access token (Preferences → Access tokens) with the scopes read_repository, "
    "write_repository and read_user, then `export GITLAB_TOKEN=<token>` (or store it in your git "
    "credential helper).",
)
GITLAB_TOKEN_INVALID = Diagnosis(
    "GITLAB_TOKEN_INVALID",
    "GitLab rejects the token",
    "GitLab answered 401 Unauthorized: the token is mistyped, belongs to another GitLab instance, "
    "or has been deleted.",
    "Create a new personal access token (Preferences → Access tokens) and use it instead.",
)
GITLAB_TOKEN_EXPIRED = Diagnosis(
    "GITLAB_TOKEN_EXPIRED",
    "GitLab token expired",
    "The personal access token has passed its expiry date; GitLab rejects it for the API and git.",
    "Create a new token (Preferences → Access tokens), or rotate the old one, and use it instead.",
)
GITLAB_TOKEN_REVOKED = Diagnosis(
    "GITLAB_TOKEN_REVOKED",
    "GitLab token revoked",
    "The personal access token was revoked (by you, an administrator, or a rotation); GitLab rejects it.",
    "Create a new token (Preferences → Access tokens) and use it instead.",
)
GITLAB_TOKEN_SCOPE = Diagnosis(
    "GITLAB_TOKEN_SCOPE",
    "GitLab token lacks a scope",
    "The token lacks a scope a git or API call needs: read_repository/write_repository (or api) "
    "for git over HTTPS, read_user/read_api (or api) for the API.",
    "Scopes cannot be added to an existing token: create a new one with read_repository, "
    "write_repository and read_user.",
)
GITLAB_TOKEN_EXPIRES_SOON = Diagnosis(
    "GITLAB_TOKEN_EXPIRES_SOON",
    "GitLab token expires soon",
    "The personal access token expires within expiry_warning_days (14 days unless configured); git "
    "and API calls fail from then on (GitLab ends a token at 00:00 UTC on its expiry date).",
    "Rotate it now (Preferences → Access tokens → Rotate) and update GITLAB_TOKEN or your credential helper "
    "(in fleet mode: the aisg-check-gitlab Secret).",
)
GITLAB_TOKEN_JOB = Diagnosis(
    "GITLAB_TOKEN_JOB",
    "CI job token: no user to look up",
    "Inside GitLab CI the check uses CI_JOB_TOKEN, which cannot read the token or user API; only the "
    "git round trip tells whether it works.",
    "Nothing to do in CI. To check a personal token instead, set GITLAB_TOKEN.",
)
GITLAB_GIT_AUTH_DENIED = Diagnosis(
    "GITLAB_GIT_AUTH_DENIED",
    "git over HTTPS refused the token",
    "The token is valid for the API, but git over HTTPS was refused (HTTP 401/403): the token lacks "
    "read_repository, or you are not a member of the project.",
    "Check that you are a member of the project (ask its owner or the MLOps team) and that the token "
    "has read_repository.",
    CONTACT_MLOPS,
)
GITLAB_REPO_NOT_FOUND = Diagnosis(
    "GITLAB_REPO_NOT_FOUND",
    "Repository not found",
    "GitLab says the repository does not exist; it says the same when you are not allowed to see it.",
    "Check the URL (copy it from the project's Clone button); if it is right, ask the project's owner "
    "to add you as a member.",
    CONTACT_MLOPS,
)
GITLAB_REPO_FOREIGN_HOST = Diagnosis(
    "GITLAB_REPO_FOREIGN_HOST",
    "Repository is not on the configured GitLab",
    "The repository URL for the git round trip (--repo, gitlab.repo) is not an HTTPS URL on the host "
    "and port of gitlab.url, so the check does not send your GitLab token to it.",
    "Use the project's HTTPS clone URL from GitLab (Clone → Clone with HTTPS), or set gitlab.url to the "
    "GitLab that hosts the repository.",
)
GITLAB_GIT_FAILED = Diagnosis(
    "GITLAB_GIT_FAILED",
    "git ls-remote failed",
    "`git ls-remote` over HTTPS failed for a reason not recognised above.",
    "Run the command in the hint yourself to see git's message; send it to the MLOps team if unclear.",
    CONTACT_MLOPS,
)

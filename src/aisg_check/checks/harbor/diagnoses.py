"""The codes `harbor` reports: its own, and the shared ones it reports as they are (any transport
failure comes through `net.failures`, declared in `__init__.py` with NETWORK_DIAGNOSES)."""

from __future__ import annotations

from aisg_check.diagnoses import NOT_APPLICABLE, NOT_CONFIGURED, TLS_UNTRUSTED_CERT
from aisg_check.model import CONTACT_MLOPS, Diagnosis

__all__ = [
    "DOCKER_DAEMON_UNAVAILABLE",
    "HARBOR_AUTH_FAILED",
    "HARBOR_AUTH_FILE_HELPER",
    "HARBOR_AUTH_FILE_INVALID",
    "HARBOR_AUTH_FILE_NO_LOGIN",
    "HARBOR_CREDHELPER_FAILED",
    "HARBOR_DOCKER_CONFIG_INVALID",
    "HARBOR_NOT_LOGGED_IN",
    "HARBOR_NO_PROJECT_ACCESS",
    "HARBOR_NO_PUSH",
    "HARBOR_REGISTRY_ERROR",
    "HARBOR_ROBOT_AUTH_FAILED",
    "HARBOR_ROBOT_EXPIRED",
    "HARBOR_ROBOT_EXPIRES_SOON",
    "HARBOR_ROBOT_FILE_INVALID",
    "HARBOR_ROBOT_NAME_EXPANDED",
    "HARBOR_USERNAME_HAS_DOMAIN",
    "NOT_APPLICABLE",
    "NOT_CONFIGURED",
    "TLS_UNTRUSTED_CERT",
]

HARBOR_NOT_LOGGED_IN = Diagnosis(
    "HARBOR_NOT_LOGGED_IN",
    "Not logged in to the registry",
    "Docker's config (DOCKER_CONFIG, else ~/.docker/config.json) holds no login for the registry, "
    "so `docker push` and `docker pull` of private images will be refused.",
    "Run `docker login registry.aisingapore.net` with your username without the email domain "
    "(user, not user@aisingapore.org).",
    CONTACT_MLOPS,
)
HARBOR_DOCKER_CONFIG_INVALID = Diagnosis(
    "HARBOR_DOCKER_CONFIG_INVALID",
    "Docker config file unusable",
    "Docker's config.json cannot be used: it is not valid JSON (or too large or too deeply nested "
    "to be one), a section has the wrong type (`credsStore` or a `credHelpers` value that is not a "
    "string), or an `auths` entry's `auth` field is not base64 of user:password.",
    "Fix or move the file named in the summary, then run `docker login registry.aisingapore.net` again.",
)
HARBOR_CREDHELPER_FAILED = Diagnosis(
    "HARBOR_CREDHELPER_FAILED",
    "Credential helper failed",
    "Docker's config names a credential helper (credHelpers or credsStore) for the registry, but "
    "`docker-credential-<name> get` is not installed, failed or hung (a locked keychain, a missing "
    "`pass` store).",
    "Install the helper or unlock its store (run `docker-credential-<name> list` to see its error), "
    "or remove the credsStore/credHelpers entry and run `docker login registry.aisingapore.net` again.",
)
HARBOR_USERNAME_HAS_DOMAIN = Diagnosis(
    "HARBOR_USERNAME_HAS_DOMAIN",
    "Username includes the email domain",
    "The stored username contains '@'. Harbor knows you by your username without the domain "
    "(user, not user@aisingapore.org), as the onboarding guide says.",
    "Run `docker login registry.aisingapore.net -u <user without domain>`.",
)
HARBOR_AUTH_FAILED = Diagnosis(
    "HARBOR_AUTH_FAILED",
    "Registry refused the login",
    "The registry (or its token service) refused the stored username and password: a changed "
    "password, a username with the domain, or, for SSO users, the account password where Harbor "
    "expects the CLI secret.",
    "Run `docker login registry.aisingapore.net -u <user without domain>`; as password use your "
    "account password, or, if you sign in to Harbor through SSO, the CLI secret from your Harbor "
    "profile page (top right, User Profile, CLI secret).",
    CONTACT_MLOPS,
)
HARBOR_NO_PUSH = Diagnosis(
    "HARBOR_NO_PUSH",
    "Pull only: no push permission",
    "You may pull from the project but not push: your role in it is Guest or Limited Guest (or the "
    "project is public and you are not a member). Only Project Admin, Maintainer and Developer "
    "can push.",
    "Ask the project's admin, or the MLOps team (mlops@aisingapore.org), for the Developer role in "
    "the project.",
    CONTACT_MLOPS,
)
HARBOR_NO_PROJECT_ACCESS = Diagnosis(
    "HARBOR_NO_PROJECT_ACCESS",
    "No access to the project",
    "The registry grants you nothing in the project: you are not a member, or the name is wrong. "
    "Harbor can add only users who have logged in to its web UI at least once.",
    "Log in to the Harbor web UI once, then ask the MLOps team (mlops@aisingapore.org) to add you "
    "to the project as Developer; check the project's name too.",
    CONTACT_MLOPS,
)
HARBOR_REGISTRY_ERROR = Diagnosis(
    "HARBOR_REGISTRY_ERROR",
    "Registry answered unexpectedly",
    "The registry or its token service answered in a way no working Harbor does: a server error, "
    "no usable token, a token the registry then rejects, or a failure to talk to it that is not a "
    "DNS, connection, TLS, proxy or timeout failure.",
    "Try again in a few minutes; if it persists, send the output of "
    "`aisg-check harbor --format markdown` to the MLOps team.",
    CONTACT_MLOPS,
)
HARBOR_ROBOT_FILE_INVALID = Diagnosis(
    "HARBOR_ROBOT_FILE_INVALID",
    "Robot account file unusable",
    "The robot account file is missing, not JSON (or too large or too deeply nested to be Harbor's "
    "export), or lacks `name` and `secret` (Harbor 2.2 and later) or `name` and `token` (older Harbor).",
    "Use the .json file exactly as Harbor exported it (or as the MLOps team sent it); ask them for a "
    "new one if it is lost.",
    CONTACT_MLOPS,
)
HARBOR_ROBOT_EXPIRED = Diagnosis(
    "HARBOR_ROBOT_EXPIRED",
    "Robot account expired",
    "The robot account's `expires_at` is in the past; Harbor refuses an expired robot.",
    "Ask the project's admin or the MLOps team (mlops@aisingapore.org) to refresh the robot's secret "
    "or extend its expiry, and use the new file.",
    CONTACT_MLOPS,
)
HARBOR_ROBOT_EXPIRES_SOON = Diagnosis(
    "HARBOR_ROBOT_EXPIRES_SOON",
    "Robot account expires soon",
    "The robot account's `expires_at` falls within expiry_warning_days (default 14); from then on "
    "Harbor refuses it and every pipeline, build and pull that uses it fails.",
    "Ask the project's admin (or the MLOps team) to extend it before then: in Harbor, Projects → <project> "
    "→ Robot Accounts → select the robot → Action → Edit → a new expiration time (the secret stays the "
    "same). A system robot is under Administration → Robot Accounts. If they refresh the secret instead, "
    "update every file and CI variable that holds it.",
    CONTACT_MLOPS,
)
HARBOR_ROBOT_NAME_EXPANDED = Diagnosis(
    "HARBOR_ROBOT_NAME_EXPANDED",
    "Robot name lost its `$` to a shell",
    "The name in use starts with `robot` but has no `$` (`robot+ci`, `robot-team+ci`, `robot`): Harbor "
    "names robots `robot$<project>+<name>`, and typed unquoted in bash, zsh or PowerShell (or in a GitLab "
    "CI/CD variable that expands references) `$<project>` is replaced by an empty variable. Harbor "
    "knows no account by the name that is left.",
    "Quote the name in single quotes: bash and zsh `docker login registry.aisingapore.net -u "
    "'robot$<project>+<name>'`, PowerShell the same (in double quotes escape the dollar: "
    '"robot`$<project>+<name>"); in a GitLab CI/CD variable clear "Expand variable reference".',
)
HARBOR_AUTH_FILE_INVALID = Diagnosis(
    "HARBOR_AUTH_FILE_INVALID",
    "Docker config JSON for CI unusable",
    "The Docker config JSON named by harbor.auth_file (HARBOR_DOCKER_CONFIG_JSON) is missing, not a "
    'small regular file of JSON, not shaped as `{"auths": {...}}`, or its `auth` is not standard base64 '
    "of user:secret (a secret encoded with its trailing newline, by `echo` instead of `printf '%s'`, is "
    "one). Builders such as kaniko and crane read the same file and fail on it too.",
    'Write it as `{"auths": {"registry.aisingapore.net": {"auth": "<base64 of user:secret>"}}}`, '
    "the auth made with `printf '%s' 'robot$<project>+<name>:<secret>' | base64 -w0`, and update the CI "
    "file variable or the Secret that holds it.",
    CONTACT_MLOPS,
)
HARBOR_AUTH_FILE_NO_LOGIN = Diagnosis(
    "HARBOR_AUTH_FILE_NO_LOGIN",
    "Docker config JSON has no login for the registry",
    "The Docker config JSON for CI holds no inline login for the registry: no `auths` entry for it, an "
    "empty entry (the login was in a credential store where it was made), or an identity token, which "
    "Harbor does not issue.",
    'Add an entry with an inline `auth` for registry.aisingapore.net: `{"auths": '
    '{"registry.aisingapore.net": {"auth": "<base64 of user:secret>"}}}`.',
)
HARBOR_AUTH_FILE_HELPER = Diagnosis(
    "HARBOR_AUTH_FILE_HELPER",
    "Docker config JSON for CI names a credential helper",
    "The Docker config JSON for CI names a credential helper for the registry (`credsStore`, or a "
    "`credHelpers` entry): Docker then asks `docker-credential-<name>` instead of reading `auths`, and "
    "builders in CI and pods (kaniko, crane) run no credential helper, so they cannot log in with it. "
    "This happens when a laptop's ~/.docker/config.json is copied into a CI variable.",
    'Remove `credsStore` and `credHelpers` from the file and put the login inline: `{"auths": '
    '{"registry.aisingapore.net": {"auth": "<base64 of user:secret>"}}}`.',
)
HARBOR_ROBOT_AUTH_FAILED = Diagnosis(
    "HARBOR_ROBOT_AUTH_FAILED",
    "Registry refused the robot account",
    "The registry refused the robot's name and secret: the secret was refreshed, or the robot was "
    "disabled, deleted or expired. (A name that lost its `$...` to a shell is HARBOR_ROBOT_NAME_EXPANDED.)",
    "Use the name and secret from the latest robot file, and update the CI variable or Secret that holds "
    "them; quote the name in single quotes on a command line "
    "(`docker login -u 'robot$project+name' registry.aisingapore.net`).",
    CONTACT_MLOPS,
)
DOCKER_DAEMON_UNAVAILABLE = Diagnosis(
    "DOCKER_DAEMON_UNAVAILABLE",
    "No Docker daemon answers",
    "No Docker daemon answers at DOCKER_HOST (or the default socket). Logging in and the checks "
    "here do not need one; building, pulling and pushing images do.",
    "Start Docker Desktop (macOS, Windows) or the docker service (`sudo systemctl start docker`), "
    "and make sure your user may use it (`docker version` shows a Server section).",
)

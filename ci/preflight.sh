#!/bin/sh
# The `preflight` CI job (ci/preflight.gitlab-ci.yml): install aisg-check, run every check
# non-interactively, print the table to the job log and write the JUnit report that
# `artifacts:reports:junit` publishes. POSIX sh, so it runs in any image with Python 3.10+;
# tests/test_delivery.py runs this very file against servers on 127.0.0.1.
#
# Read from the environment (all optional):
#   AISG_PREFLIGHT_PACKAGE  pip requirement to install; empty: use the `aisg-check` on PATH
#   AISG_PREFLIGHT_PYTHON   interpreter for the virtual environment (default: python3)
#   AISG_PREFLIGHT_REPORT   JUnit report file (default: aisg-check.xml)
#   AISG_PREFLIGHT_ARGS     extra arguments for `aisg-check all`, e.g. "--skip tools --strict"
#   DOCKER_AUTH_CONFIG      a Docker config.json: its content, or a file variable's path
#   DOCKER_CONFIG           Docker's config directory, or a file variable holding config.json
#   HARBOR_DOCKER_CONFIG_JSON  the Docker config JSON your builds (kaniko, crane) log in to
#                           Harbor with: a file variable's path, or the JSON itself; checked
#                           by harbor.ci
#   KUBECONFIG              a file variable (path), or the kubeconfig's YAML itself
# Everything else (GITLAB_TOKEN or CI_JOB_TOKEN, MLFLOW_TRACKING_USERNAME/PASSWORD,
# AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AISG_CHECK_*) is read by aisg-check itself.
#
# Secrets: this script never traces (no `set -x`) and never prints a variable's value; the
# credentials it must turn into files are written with printf to mode-600 files in a private
# temporary directory that is removed on exit. aisg-check redacts whatever it reports.
# The prefix AISG_PREFLIGHT_ is deliberate: aisg-check rejects unknown AISG_CHECK_* names.
set -eu
umask 077

report=${AISG_PREFLIGHT_REPORT:-aisg-check.xml}
work=$(mktemp -d "${TMPDIR:-/tmp}/aisg-preflight.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '%s\n' "preflight: $*" >&2; }

# -- install ---------------------------------------------------------------------------------
if [ -n "${AISG_PREFLIGHT_PACKAGE:-}" ]; then
    say "installing $(printf '%s' "$AISG_PREFLIGHT_PACKAGE" | sed 's#//[^/@]*@#//#')"
    "${AISG_PREFLIGHT_PYTHON:-python3}" -m venv "$work/venv"
    if [ -n "${CI_JOB_TOKEN:-}" ] && [ -n "${CI_SERVER_HOST:-}" ] && [ -z "${GIT_CONFIG_COUNT:-}" ]; then
        # A private repository is cloned with the job token through a credential helper that
        # reads it from the environment: it never appears in a URL, a command line or the log.
        export GIT_CONFIG_COUNT=1
        export GIT_CONFIG_KEY_0="credential.https://${CI_SERVER_HOST}.helper"
        # shellcheck disable=SC2016  # expanded by git's shell, from the environment
        export GIT_CONFIG_VALUE_0='!f() { echo username=gitlab-ci-token; echo "password=${CI_JOB_TOKEN}"; }; f'
    fi
    "$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$AISG_PREFLIGHT_PACKAGE"
    if [ "${GIT_CONFIG_KEY_0:-}" = "credential.https://${CI_SERVER_HOST:-}.helper" ]; then
        unset GIT_CONFIG_COUNT GIT_CONFIG_KEY_0 GIT_CONFIG_VALUE_0
    fi
    aisg_check="$work/venv/bin/aisg-check"
elif command -v aisg-check >/dev/null 2>&1; then
    aisg_check=aisg-check
else
    say "AISG_PREFLIGHT_PACKAGE is empty and no aisg-check is on PATH"
    exit 2
fi

# -- credentials from CI variables -----------------------------------------------------------
if [ -n "${DOCKER_CONFIG:-}" ] && [ -f "$DOCKER_CONFIG" ]; then
    # A file variable: GitLab gives the path of a file holding config.json; Docker wants a directory.
    mkdir "$work/docker"
    cp "$DOCKER_CONFIG" "$work/docker/config.json"
    DOCKER_CONFIG="$work/docker"
    export DOCKER_CONFIG
elif [ -z "${DOCKER_CONFIG:-}" ] && [ -n "${DOCKER_AUTH_CONFIG:-}" ]; then
    # GitLab's convention for registry logins: the config.json content (or a file variable's path).
    mkdir "$work/docker"
    if [ -f "$DOCKER_AUTH_CONFIG" ]; then
        cp "$DOCKER_AUTH_CONFIG" "$work/docker/config.json"
    else
        printf '%s\n' "$DOCKER_AUTH_CONFIG" >"$work/docker/config.json"
    fi
    DOCKER_CONFIG="$work/docker"
    export DOCKER_CONFIG
fi

if [ -n "${HARBOR_DOCKER_CONFIG_JSON:-}" ] && [ ! -e "$HARBOR_DOCKER_CONFIG_JSON" ]; then
    case $HARBOR_DOCKER_CONFIG_JSON in
        *'{'*)
            # A variable holding the JSON itself rather than a file variable: aisg-check reads a file.
            printf '%s\n' "$HARBOR_DOCKER_CONFIG_JSON" >"$work/harbor-auth.json"
            HARBOR_DOCKER_CONFIG_JSON="$work/harbor-auth.json"
            export HARBOR_DOCKER_CONFIG_JSON
            ;;
    esac
fi

if [ -n "${KUBECONFIG:-}" ] && [ ! -e "$KUBECONFIG" ]; then
    case $KUBECONFIG in
        *apiVersion:* | *clusters:*)
            # A variable holding the YAML itself rather than a file variable.
            printf '%s\n' "$KUBECONFIG" >"$work/kubeconfig"
            KUBECONFIG="$work/kubeconfig"
            export KUBECONFIG
            ;;
    esac
fi

# -- run -------------------------------------------------------------------------------------
# One run, two outputs: the table on stdout for the log, and the JUnit report, whose format
# `--output` takes from the .xml extension (the same as `--format junit --output FILE`, which
# would put XML in the log instead of the table).
case $report in
    *.xml) ;;
    *) report_format="--format=junit" ;;
esac
set -f # AISG_PREFLIGHT_ARGS is split into words, but its globs (--only 'vpn.*') stay as written
status=0
# shellcheck disable=SC2086  # word splitting of AISG_PREFLIGHT_ARGS is intended
"$aisg_check" all ${report_format:-} --output "$report" --verbose ${AISG_PREFLIGHT_ARGS:-} || status=$?
set +f
case $status in
    0) say "all checks passed; report: $report" ;;
    1) say "some checks failed (exit 1); see the table above or the test report ($report)" ;;
    2) say "usage or configuration error (exit 2); see the message above" ;;
    *) say "aisg-check exited with $status" ;;
esac
exit "$status"

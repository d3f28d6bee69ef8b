#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian/Ubuntu machine, then run lint, types and
# the whole test suite. As root it also installs the Debian packages of the real test servers
# (sshd, Distribution's registry, nginx + fcgiwrap + git-http-backend, Prometheus and its
# Pushgateway with promtool); without root, tests
# whose server is missing skip with a reason (and fail under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  python3-venv git openssh-client openssh-server docker-registry nginx-light fcgiwrap apache2-utils
  iproute2 util-linux rsync g++ make prometheus prometheus-pushgateway
)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "== apt-get install ${missing[*]}"
    apt-get update -qq
    # The tests start each server themselves on 127.0.0.1; packaged services (Prometheus, the
    # Pushgateway, nginx, sshd) must not start on all interfaces of a machine with systemd.
    policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      policy=/usr/sbin/policy-rc.d
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
    fi
    status=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      status=$?
    [ -z "$policy" ] || rm -f "$policy"
    [ "$status" = 0 ] || exit "$status"
  fi
fi

# Node for gitlab-ci-local (validates .gitlab-ci.yml offline). A NodeSource nodejs bundles npm
# and conflicts with Debian's npm package, so npm is installed only when it is missing.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && ! command -v npm >/dev/null 2>&1; then
  echo "== apt-get install nodejs npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
# gitlab-ci-local builds re2 from source (~6 min on 2 cores), so it lives outside the clone
# and is reused by later runs on the same machine.
TOOLS=${AISG_TOOLS_DIR:-$HOME/.cache/aisg-check-tools}
if command -v npm >/dev/null 2>&1 && [ ! -x "$TOOLS/node_modules/.bin/gitlab-ci-local" ]; then
  echo "== npm install gitlab-ci-local@4.56 into $TOOLS"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --silent gitlab-ci-local@4.56
fi
export PATH="$TOOLS/node_modules/.bin:$PATH"

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
echo "== pip install -e .[test,lint,docs]"
# Two steps: resolving the runtime set first keeps pip's resolver from backtracking over the
# (much larger) server-side test dependencies.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e .
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test,lint,docs]'

echo "== ruff"
"$VENV/bin/ruff" check src tests benchmarks
"$VENV/bin/ruff" format --check src tests benchmarks
echo "== mypy"
"$VENV/bin/mypy"
echo "== mkdocs build --strict"
site=$(mktemp -d)
NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build --strict --quiet --site-dir "$site"
rm -rf "$site"
echo "== pytest"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider --junitxml=junit-pytest.xml "$@"

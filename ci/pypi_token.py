"""Exchange this job's OIDC identity token for a short-lived PyPI upload token (PyPI trusted
publishing, https://docs.pypi.org/trusted-publishers/using-a-publisher/): no long-lived PyPI
secret is stored anywhere. Standard library only, so it runs before anything is installed.

Reads the identity token from PYPI_ID_TOKEN (the job's `id_tokens:` entry with `aud: pypi`),
posts it to the mint endpoint (PYPI_MINT_URL, default PyPI's), and prints the API token on
stdout for `TWINE_PASSWORD=$(python ci/pypi_token.py)`. Errors name the step and the HTTP status,
never a token.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

MINT_URL = "https://pypi.org/_/oidc/mint-token"


def mint(identity_token: str, url: str, timeout: float = 30) -> str:
    request = urllib.request.Request(
        url,
        data=json.dumps({"token": identity_token}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise SystemExit(
            f"pypi_token: {url} refused the identity token (HTTP {exc.code}); is this "
            "project a trusted publisher on PyPI for this job?"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SystemExit(f"pypi_token: cannot reach {url}: {type(exc).__name__}") from None
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise SystemExit(f"pypi_token: {url} answered without a token")
    return token


def main() -> int:
    identity = os.environ.get("PYPI_ID_TOKEN", "")
    if not identity:
        print(
            "pypi_token: PYPI_ID_TOKEN is not set (add `id_tokens: {PYPI_ID_TOKEN: {aud: pypi}}` to the job)",
            file=sys.stderr,
        )
        return 2
    print(mint(identity, os.environ.get("PYPI_MINT_URL") or MINT_URL))
    return 0


if __name__ == "__main__":
    sys.exit(main())

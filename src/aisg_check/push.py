"""Pushing a run's metrics to a Prometheus Pushgateway: fleet mode's batch runs (a CronJob's pod
lives too short to be scraped).

One group per project: job `aisg-check`, grouping key `project` (`fleet.project`, empty when
unset), replaced as a whole by each push (HTTP PUT), so a step that no longer runs leaves no
stale series behind. The Pushgateway stamps each group with `push_time_seconds`, which the
"not running" alert watches. The request goes through the run's own HTTP client: the proxies of
its environment and the CA files it trusts (`ca_bundle`). A `user:password@` in the URL becomes
Basic auth and is never shown: a failure is one line naming the URL without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

from aisg_check.secrets import clip, strip_userinfo

if TYPE_CHECKING:
    import httpx

    from aisg_check.context import Context
    from aisg_check.model import RunReport

JOB = "aisg-check"


class PushError(Exception):
    """The metrics did not reach the Pushgateway: one line for the user."""


def _split_login(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without its userinfo, and the Basic-auth login it carried."""
    split = urlsplit(url)
    if split.username is None and split.password is None:
        return url, None
    host = split.netloc.rpartition("@")[2]
    bare = urlunsplit((split.scheme, host, split.path, split.query, split.fragment))
    return bare, (unquote(split.username or ""), unquote(split.password or ""))


def _handler(
    client: httpx.Client, login: tuple[str, str] | None, shown: str, scrub: Callable[[str], str]
) -> Callable[..., Callable[[], None]]:
    """prometheus_client's handler hook: the request through our client, not urllib's own."""

    def handler(
        url: str, method: str, timeout: float | None, headers: Sequence[tuple[str, str]], data: bytes
    ) -> Callable[[], None]:
        def send() -> None:
            response = client.request(method, url, content=data, headers=dict(headers), auth=login)
            if response.status_code >= 300:
                # The Pushgateway says why in one line (inconsistent metrics, a bad grouping key).
                reason = " ".join(response.text.split())
                said = f": {clip(scrub(reason), 200)}" if reason else ""
                raise PushError(f"{shown} answered HTTP {response.status_code}{said}")

        return send

    return handler


def push(ctx: Context, report: RunReport, url: str, project: str) -> None:
    """PUT this run's metrics into the project's group; PushError says why it could not."""
    from prometheus_client.exposition import push_to_gateway

    from aisg_check.net.failures import transport_failure
    from aisg_check.reporters.prometheus import registry_for

    bare, login = _split_login(url.strip())
    shown = strip_userinfo(bare)
    scrub = ctx.scrubber.scrub_external
    if login is not None:
        ctx.scrubber.add_login(login[0] or None, login[1])
    where = f"the Pushgateway {shown} (job {JOB}, project {project or '(none)'})"
    try:
        with ctx.http() as client:
            push_to_gateway(
                bare,
                job=JOB,
                registry=registry_for(report, project),
                grouping_key={"project": project},
                timeout=ctx.timeout,
                handler=_handler(client, login, shown, scrub),
            )
    except PushError as exc:
        raise PushError(f"cannot push the metrics to {where}: {exc}") from None
    except Exception as exc:  # a transport failure, classified as the checks classify theirs
        failure = transport_failure(ctx, exc, bare)
        raise PushError(f"cannot push the metrics to {where}: {failure.summary}") from None

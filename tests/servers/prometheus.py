"""Real Prometheus and Pushgateway (Debian's `prometheus` and `prometheus-pushgateway`) on
127.0.0.1 for the fleet-mode tests: a run pushes to the gateway, Prometheus scrapes it every
second and evaluates alert rules every second, and tests query Prometheus's HTTP API
(https://prometheus.io/docs/prometheus/latest/querying/api/)."""

from __future__ import annotations

import json
import shutil
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.servers.process import ServerProcess, free_port


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def binaries() -> tuple[str | None, str | None]:
    return shutil.which("prometheus"), shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")


class Pushgateway:
    def __init__(self, tmp: Path) -> None:
        _prometheus, gateway = binaries()
        assert gateway is not None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = ServerProcess(
            # Its own persistence file: Debian's default under /var/lib is shared by every run.
            [
                gateway,
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--persistence.file={tmp / 'pushgateway.data'}",
            ],
            ready=lambda: _ready(f"{self.url}/-/ready"),
            log=tmp / "pushgateway.log",
        )

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:
            return str(response.read().decode())

    def stop(self) -> None:
        self.process.stop()


class Prometheus:
    """Scrapes `gateway` (honour_labels, as a Pushgateway job must be) and evaluates `rules`."""

    def __init__(self, tmp: Path, gateway: Pushgateway, rules: dict[str, Any] | None = None) -> None:
        prometheus, _gateway = binaries()
        assert prometheus is not None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config: dict[str, Any] = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "pushgateway",
                    "honor_labels": True,
                    "static_configs": [{"targets": [f"127.0.0.1:{gateway.port}"]}],
                }
            ],
        }
        if rules is not None:
            (tmp / "rules.yml").write_text(yaml.safe_dump(rules))
            config["rule_files"] = [str(tmp / "rules.yml")]
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.process = ServerProcess(
            [
                prometheus,
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            ready=lambda: _ready(f"{self.url}/-/ready"),
            log=tmp / "prometheus.log",
            timeout=60,
        )

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=5) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return list(self.api("query", query=expr)["result"])

    def wait_for(self, expr: str, timeout: float = 30) -> list[dict[str, Any]]:
        """The query's result once it is not empty (scrapes and rule evaluations take seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(expr)
            if result:
                return result
            time.sleep(0.5)
        raise AssertionError(f"no result for {expr} within {timeout}s")

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.api("alerts")["alerts"])

    def stop(self) -> None:
        self.process.stop()

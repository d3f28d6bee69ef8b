"""The diagnosis codes every component shares: the runner's own (a crash, a deadline, a step
not reached) and the network's (DNS, TCP, TLS, proxy, HTTP), so that one failure always gets the
same code in every component. A component's own codes live in its package's `diagnoses.py`,
which imports from here the shared ones it reports; the check's declared set is derived from
that module (`aisg_check.check.declared`), never kept by hand.
"""

from __future__ import annotations

from aisg_check.model import CONTACT_MLOPS, Diagnosis

BLOCKED = Diagnosis(
    "BLOCKED",
    "Skipped because an earlier layer failed",
    "A layer this step depends on failed, so running it would only repeat that failure.",
    "Fix the failure named in blocked_by first; this step runs once it passes.",
)
NOT_CONFIGURED = Diagnosis(
    "NOT_CONFIGURED",
    "Nothing configured to check",
    "The setting this step needs is empty, so there is nothing to check.",
    "Set it in your config file, the environment or a flag (see `aisg-check config`).",
)
NOT_RUN = Diagnosis(
    "NOT_RUN",
    "Step not run",
    "The check ended without reaching this step and without a failure.",
    "Run again with --verbose; if it persists, report it with the output.",
    CONTACT_MLOPS,
)
CHECK_CRASHED = Diagnosis(
    "CHECK_CRASHED",
    "The check itself crashed",
    "aisg-check hit an unexpected error while running this step; this is a bug in the tool.",
    "Run again with --verbose and send the output (it contains no secrets) to the maintainers.",
    CONTACT_MLOPS,
)
CHECK_DEADLINE = Diagnosis(
    "CHECK_DEADLINE",
    "The check did not finish in time",
    "A library or program ignored its own timeout and the step hung past the check's hard deadline.",
    "Run again with a larger --timeout; if it still hangs, the service is answering very slowly.",
)
INTERRUPTED = Diagnosis(
    "INTERRUPTED",
    "Interrupted",
    "The run was stopped (Ctrl-C, SIGTERM or SIGHUP) before this step finished.",
    "Run the command again and let it finish.",
)

CORE_DIAGNOSES = (BLOCKED, NOT_CONFIGURED, NOT_RUN, CHECK_CRASHED, CHECK_DEADLINE, INTERRUPTED)

NOT_APPLICABLE = Diagnosis(
    "NOT_APPLICABLE",
    "Not applicable here",
    "This check is about a laptop's own setup (its ssh config, local tools, a Docker daemon) and "
    "aisg-check is running in a pod (fleet mode or a workspace on the cluster), where it does not apply.",
    "Nothing to do. To run it anyway, set `fleet.mode: laptop` (or --set fleet.mode=laptop).",
)

# The runner records these itself; every check may report them without declaring them.
RUNNER_DIAGNOSES = (BLOCKED, NOT_RUN, CHECK_CRASHED, CHECK_DEADLINE, INTERRUPTED, NOT_APPLICABLE)

VPN_DNS_FAILED = Diagnosis(
    "VPN_DNS_FAILED",
    "Host name does not resolve",
    "The internal host name could not be resolved: this machine is most likely not connected to the "
    "NUS VPN, or the VPN's DNS servers are not in use.",
    "Connect to the NUS VPN and run again. If you are connected, check that the VPN's DNS is used "
    "(`nslookup <host>`); on Windows/macOS disconnect and reconnect the VPN client.",
    CONTACT_MLOPS,
)
VPN_CONNECT_TIMEOUT = Diagnosis(
    "VPN_CONNECT_TIMEOUT",
    "Connection timed out",
    "The host name resolves but nothing answered the TCP connection in time: the VPN is down or "
    "a firewall drops the traffic.",
    "Connect to (or reconnect) the NUS VPN and run again; on a corporate network, ask whether the "
    "port is blocked.",
    CONTACT_MLOPS,
)
VPN_CONNECT_REFUSED = Diagnosis(
    "VPN_CONNECT_REFUSED",
    "Connection refused",
    "The host answered but refused the connection on that port: a wrong port in the settings, or the "
    "service is down.",
    "Check the port in your settings (`aisg-check config`); if it is right, the service is down: "
    "tell the MLOps team.",
    CONTACT_MLOPS,
)
VPN_NO_ROUTE = Diagnosis(
    "VPN_NO_ROUTE",
    "No route to the host",
    "The network has no route to the host's address: the VPN is not connected or routes only part "
    "of the traffic.",
    "Connect to the NUS VPN (full tunnel) and run again.",
    CONTACT_MLOPS,
)
ENDPOINT_NO_ANSWER = Diagnosis(
    "ENDPOINT_NO_ANSWER",
    "Connected, but no answer",
    "The TCP connection was accepted but the server sent nothing within the timeout: an overloaded "
    "service, or a middlebox that swallows the traffic.",
    "Run again with a larger --timeout; if it persists, tell the MLOps team which host hangs.",
    CONTACT_MLOPS,
)
ENDPOINT_UNEXPECTED_ANSWER = Diagnosis(
    "ENDPOINT_UNEXPECTED_ANSWER",
    "Unexpected answer",
    "Something answered on the port, but not the protocol expected (HTTP, TLS or SSH): a captive "
    "portal, a proxy, or a wrong port.",
    "Check the URL and port in your settings; on hotel or guest Wi-Fi, sign in to the portal first.",
)
ENDPOINT_HTTP_ERROR = Diagnosis(
    "ENDPOINT_HTTP_ERROR",
    "Server error",
    "The server answered with an HTTP 5xx error: it is up but broken, or a gateway in front of it is.",
    "Try again in a few minutes; if it persists, tell the MLOps team.",
    CONTACT_MLOPS,
)
TLS_UNTRUSTED_CERT = Diagnosis(
    "TLS_UNTRUSTED_CERT",
    "Certificate not trusted",
    "The server's TLS certificate is signed by a CA this machine does not trust: a TLS-inspecting "
    "proxy or antivirus, or a private CA.",
    "Get the root CA certificate (PEM) and trust it: `ca_bundle: /path/ca.pem` in the aisg-check "
    "config (or --ca-bundle); for Python tools and MLflow `export REQUESTS_CA_BUNDLE=/path/ca.pem`; "
    "for aws `export AWS_CA_BUNDLE=/path/ca.pem`; for git `git config --global http.sslCAInfo "
    "/path/ca.pem`; for Docker copy it to /etc/docker/certs.d/<host>/ca.crt.",
    CONTACT_MLOPS,
)
TLS_HOSTNAME_MISMATCH = Diagnosis(
    "TLS_HOSTNAME_MISMATCH",
    "Certificate is for another name",
    "The certificate the server presented does not name the host you asked for: a wrong host in the "
    "settings, a captive portal, or an intercepting proxy.",
    "Check the host name in your settings (`aisg-check config`); if it is right, tell the MLOps team.",
    CONTACT_MLOPS,
)
TLS_CERT_EXPIRED = Diagnosis(
    "TLS_CERT_EXPIRED",
    "Certificate expired",
    "The server's certificate has expired (or this machine's clock is wrong).",
    "Check this machine's date and time; if it is right, tell the MLOps team the certificate expired.",
    CONTACT_MLOPS,
)
TLS_HANDSHAKE_FAILED = Diagnosis(
    "TLS_HANDSHAKE_FAILED",
    "TLS handshake failed",
    "The TLS handshake failed for a reason other than trust: a protocol or cipher mismatch, or a "
    "middlebox that breaks TLS.",
    "Run again with --verbose to see the TLS error, and send it to the MLOps team.",
    CONTACT_MLOPS,
)
PROXY_UNREACHABLE = Diagnosis(
    "PROXY_UNREACHABLE",
    "Proxy unreachable",
    "HTTPS_PROXY (or ALL_PROXY) names a proxy that cannot be reached from here.",
    "Fix or unset HTTPS_PROXY/ALL_PROXY, or add the internal domains to NO_PROXY: "
    "`export NO_PROXY=$NO_PROXY,.aisingapore.net,.nus.edu.sg,.run.ai`.",
)
PROXY_INTERCEPTS_INTERNAL = Diagnosis(
    "PROXY_INTERCEPTS_INTERNAL",
    "Proxy in the way of an internal host",
    "Requests to this internal host go through the proxy in HTTPS_PROXY, which cannot reach it.",
    "Bypass the proxy for internal hosts: `export NO_PROXY=$NO_PROXY,.aisingapore.net,.nus.edu.sg,"
    ".run.ai` (Windows: `setx NO_PROXY ...`), then run again.",
)

ENDPOINT_CONNECTION_FAILED = Diagnosis(
    "ENDPOINT_CONNECTION_FAILED",
    "Connection failed",
    "Talking to the server failed in a way that is not a DNS, TCP, TLS, proxy or timeout failure; "
    "the summary gives the library's own words.",
    "Run again with --verbose; if it persists, send the output (it contains no secrets) to the MLOps team.",
    CONTACT_MLOPS,
)

NETWORK_DIAGNOSES = (
    VPN_DNS_FAILED,
    VPN_CONNECT_TIMEOUT,
    VPN_CONNECT_REFUSED,
    VPN_NO_ROUTE,
    ENDPOINT_NO_ANSWER,
    ENDPOINT_UNEXPECTED_ANSWER,
    ENDPOINT_HTTP_ERROR,
    TLS_UNTRUSTED_CERT,
    TLS_HOSTNAME_MISMATCH,
    TLS_CERT_EXPIRED,
    TLS_HANDSHAKE_FAILED,
    PROXY_UNREACHABLE,
    PROXY_INTERCEPTS_INTERNAL,
    ENDPOINT_CONNECTION_FAILED,
)

"""The network layer every check shares: `probe` (DNS → TCP → TLS → answer), `failures` (the one
classifier of transport exceptions) and `proxies` (HTTPS_PROXY / NO_PROXY as curl reads them)."""

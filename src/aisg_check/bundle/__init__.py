"""`aisg-check bundle`: one `.tar.gz` for the MLOps team with everything they ask for first.

- make.py       the command's work: plan → copy the files → run `all` → pack → write
- collect.py    which files the checks read (found as the tools find them), read and redacted
- sshconfig.py kubeconfig.py aws.py docker.py harbor.py mlflow.py
                one redactor per kind of file: text in, `Redacted` (the copy and what was
                removed) out, or `Unparseable` (the file is not copied)
- report.py     the redaction report (redactions.md / .json)
- versions.py   OS, Python, libraries and the tools (asked as the tools check asks them)
- effective.py  the effective settings with their sources, secrets as `***`
- archive.py    the tar.gz: safe member names, written where --output says (output.py's rules)

Redactors keep what is known to be harmless and replace everything else, so a field they do
not know cannot carry a secret out. Every credential they remove is also registered with the
run's scrubber, which masks it in the reports, and every member passes through the scrubber.
"""

"""The ssh config file ssh really reads, without what may hold a secret: comments, the values of
`SetEnv`, the arguments of commands (`ProxyCommand`, `LocalCommand`, `RemoteCommand`,
`KnownHostsCommand`, `Match exec`) that do not look like a flag, a host, a path or a `%` token,
and the value of any keyword OpenSSH does not define. Hosts, ports, users, key paths and
options are what the MLOps team needs to read, and stay as they are.

Commands are judged word by word, which is a heuristic: the value after a flag is kept only
when it is a number, a host, a path, a URL without userinfo or a `%` token, and anything that
follows a flag named like a credential (`--password`, `--token`) is removed and masked
everywhere else in the bundle too.
"""

from __future__ import annotations

import re
import shlex

from aisg_check.bundle.report import REDACTED, Redacted, Unparseable
from aisg_check.secrets import Scrubber

# ssh_config(5), OpenSSH 9.x, with the older names it still accepts (lower case, as ssh compares).
_KEYWORDS = """
    host match addkeystoagent addressfamily batchmode bindaddress bindinterface canonicaldomains
    canonicalizefallbacklocal canonicalizehostname canonicalizemaxdots canonicalizepermittedcnames
    casignaturealgorithms certificatefile channeltimeout checkhostip ciphers cipher
    clearallforwardings compression connectionattempts connecttimeout controlmaster controlpath
    controlpersist dynamicforward enableescapecommandline enablesshkeysign escapechar
    exitonforwardfailure fingerprinthash forkafterauthentication forwardagent forwardx11
    forwardx11timeout forwardx11trusted gatewayports globalknownhostsfile gssapiauthentication
    gssapidelegatecredentials gssapikeyexchange gssapitrustdns hashknownhosts
    hostbasedacceptedalgorithms hostbasedkeytypes hostbasedauthentication hostkeyalgorithms
    hostkeyalias hostname identitiesonly identityagent identityfile ignoreunknown include ipqos
    kbdinteractiveauthentication kbdinteractivedevices challengeresponseauthentication
    kexalgorithms knownhostscommand localcommand localforward loglevel logverbose macs
    nohostauthenticationforlocalhost numberofpasswordprompts obscurekeystroketiming
    passwordauthentication permitlocalcommand permitremoteopen pkcs11provider port
    preferredauthentications protocol proxycommand proxyjump proxyusefdpass
    pubkeyacceptedalgorithms pubkeyacceptedkeytypes pubkeyauthentication rekeylimit remotecommand
    remoteforward requesttty requiredrsasize revokedhostkeys securitykeyprovider sendenv
    serveralivecountmax serveraliveinterval sessiontype setenv stdinnull streamlocalbindmask
    streamlocalbindunlink stricthostkeychecking syslogfacility tag tcpkeepalive tunnel
    tunneldevice updatehostkeys usekeychain useprivilegedport user userknownhostsfile
    verifyhostkeydns visualhostkey xauthlocation
"""
KEYWORDS = frozenset(_KEYWORDS.split())
_COMMANDS = frozenset({"proxycommand", "localcommand", "remotecommand", "knownhostscommand"})
_LINE = re.compile(r"(?P<indent>\s*)(?P<key>[A-Za-z][A-Za-z0-9]*)(?P<sep>\s*=\s*|\s+|$)(?P<rest>.*)")
_SECRET_NAME = re.compile(r"passw|secret|token|key|auth|cred|cookie|session", re.I)
_FLAG = re.compile(r"-[A-Za-z0-9]{1,3}|--[a-z][a-z0-9-]*")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.S)
_PROGRAM = re.compile(r"[\w./~%+-]+")
_WORD = re.compile(r"[a-z][a-z0-9-]{0,23}")  # a subcommand: `access`, `get-token`
_PLAIN = (
    re.compile(r"\d+"),
    re.compile(r"[\w.:@/%-]*%[\w.:@/%-]*"),  # %h:%p, %r@%h
    re.compile(r"(~|\.{1,2})?/[\w./~%+@:-]*"),  # a path
    re.compile(r"[a-z][a-z0-9+.-]*://[^@?\s]+"),  # a URL without userinfo or query
    re.compile(r"([\w.-]+@)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?"),  # host.name[:port]
)


def redact(text: str, scrubber: Scrubber) -> Redacted:
    removed: list[str] = []
    out: list[str] = []
    comments = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            out.append("")
            continue
        if stripped.startswith("#"):
            comments += 1
            continue
        match = _LINE.fullmatch(line.rstrip())
        if match is None:
            raise Unparseable(f"line {number} is not `Keyword value`")
        rest, trailing = _without_comment(match["rest"])
        comments += trailing
        value = _value(match["key"], rest, f"line {number} ({match['key']})", removed, scrubber)
        out.append(f"{match['indent']}{match['key']}{match['sep']}{value}".rstrip())
    if comments:
        removed.insert(0, f"{comments} comment{'s' if comments != 1 else ''} (comments are never copied)")
    return Redacted("\n".join(out) + "\n", tuple(removed))


def _value(key: str, rest: str, where: str, removed: list[str], scrubber: Scrubber) -> str:
    lower = key.lower()
    if lower in _COMMANDS:
        return _command(rest, where, removed, scrubber)
    if lower == "match":
        return _match(rest, where, removed, scrubber)
    if lower == "setenv":
        return _setenv(rest, where, removed, scrubber)
    if lower == "include":
        removed.append(f"{where}: nothing, but the files it names are not copied")
    if lower in KEYWORDS or not rest:
        return rest
    removed.append(f"{where}: the value of a keyword OpenSSH does not define")
    return REDACTED


def _without_comment(rest: str) -> tuple[str, int]:
    """`value # note` → `value`: a `#` starting a word outside quotes begins a comment."""
    quote = ""
    for i, char in enumerate(rest):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#" and (i == 0 or rest[i - 1].isspace()):
            return rest[:i].rstrip(), 1
    return rest, 0


def _split(text: str) -> list[str] | None:
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:  # unbalanced quotes
        return None


def _join(words: list[str]) -> str:
    return " ".join(w if _bare(w) else shlex.quote(w) for w in words)


def _bare(word: str) -> bool:
    """A word that needs no quotes, or one already quoted as ssh quotes (`"cmd args"`)."""
    quoted = len(word) > 1 and word[0] == word[-1] == '"' and '"' not in word[1:-1]
    return quoted or (bool(word) and not re.search(r"[\s\"'\\]", word))


def _plain(word: str) -> bool:
    return any(p.fullmatch(word) for p in _PLAIN)


def _command(text: str, where: str, removed: list[str], scrubber: Scrubber) -> str:
    words = _split(text)
    if words is None:
        removed.append(f"{where}: the whole command (its quoting could not be read)")
        return REDACTED
    kept: list[str] = []
    count = 0
    flag: str | None = None  # the flag the previous word was, whose value this word may be
    program_seen = False
    for word in words:
        value: str | None = word
        assignment = _ASSIGNMENT.fullmatch(word)
        if not program_seen and assignment:  # NAME=value before the program: its environment
            value = f"{assignment[1]}={_secret_value(assignment[1], assignment[2], scrubber)}"
            count += value != word
        elif not program_seen:
            program_seen = True
            value = word if _PROGRAM.fullmatch(word) else None
        elif _FLAG.fullmatch(word):
            flag = word
            kept.append(word)
            continue
        elif word.startswith("--") and "=" in word:
            name, _, inner = word.partition("=")
            value = f"{name}={_flag_value(name, inner, scrubber)}"
            count += value != word
        elif flag is not None:
            value = _flag_value(flag, word, scrubber)
            count += value != word
        elif not (_plain(word) or _WORD.fullmatch(word)):
            value = None
        if value is None:
            value, count = REDACTED, count + 1
        kept.append(value)
        flag = None
    if count:
        removed.append(f"{where}: {count} word{'s' if count != 1 else ''} of the command")
    return _join(kept)


def _flag_value(flag: str, value: str, scrubber: Scrubber) -> str:
    if _SECRET_NAME.search(flag):
        scrubber.add(value)
        return REDACTED
    return value if _plain(value) else REDACTED


def _secret_value(name: str, value: str, scrubber: Scrubber) -> str:
    """An environment value: removed; masked everywhere when its name says it is a secret (a
    value such as `true` masked everywhere would garble the reports)."""
    if _SECRET_NAME.search(name):
        scrubber.add(value)
    return REDACTED if value else value


def _match(text: str, where: str, removed: list[str], scrubber: Scrubber) -> str:
    words = _split(text)
    if words is None:
        raise Unparseable(f"{where}: unbalanced quotes")
    out = []
    for i, word in enumerate(words):
        if i and words[i - 1].lower() == "exec":
            command = _command(word, f"{where} exec", removed, scrubber)
            out.append(f'"{command}"' if '"' not in command else command)
        else:
            out.append(word)
    return _join(out)


def _setenv(text: str, where: str, removed: list[str], scrubber: Scrubber) -> str:
    words = _split(text)
    if words is None:
        removed.append(f"{where}: every value (the quoting could not be read)")
        return REDACTED
    out = []
    for word in words:
        assignment = _ASSIGNMENT.fullmatch(word)
        if assignment is None:
            out.append(REDACTED)
            removed.append(f"{where}: a word that is not NAME=VALUE")
            continue
        out.append(f"{assignment[1]}={_secret_value(assignment[1], assignment[2], scrubber)}")
        removed.append(f"{where}: the value of {assignment[1]}")
    return _join(out)

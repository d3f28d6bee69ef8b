from __future__ import annotations

import base64

from aisg_check.secrets import MASK, Scrubber, Secret, strip_userinfo


def test_secret_never_formats_itself() -> None:
    s = Secret("hunter2-canary")
    assert str(s) == MASK
    assert repr(s) == f"Secret({MASK})"
    assert f"{s}" == MASK and f"{s:>20}" == MASK
    assert "hunter2" not in str([s, {"k": s}])
    assert s.reveal() == "hunter2-canary"


def test_scrubber_removes_known_values_and_their_encodings() -> None:
    scrubber = Scrubber(["p@ss/word-canary"])
    encoded = base64.b64encode(b"p@ss/word-canary").decode()
    text = f"a p@ss/word-canary b p%40ss%2Fword-canary c {encoded}"
    out = scrubber.scrub(text)
    assert "p@ss/word-canary" not in out and "p%40ss" not in out and encoded.rstrip("=") not in out
    assert out.count(MASK) == 3


def test_scrubber_removes_url_userinfo_jwts_and_auth_headers() -> None:
    scrubber = Scrubber()
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWNhbmFyeQ"
    out = scrubber.scrub_external(
        f"https://alice:topsecret@mlflow.example/x token {jwt} Authorization: Bearer abc.def password=xyz123"
    )
    assert "topsecret" not in out and "alice" not in out
    assert jwt not in out
    assert "abc.def" not in out
    assert "xyz123" not in out
    assert strip_userinfo("s3://k:s@bucket/p") == "s3://bucket/p"


def test_short_values_are_not_registered() -> None:
    scrubber = Scrubber(["a", ""])
    assert scrubber.scrub("a cat") == "a cat"


def test_scrub_value_walks_nested_structures() -> None:
    scrubber = Scrubber(["canary-value"])
    value = {"x": ["canary-value", Secret("other")], "n": 3, "ok": True, "none": None}
    assert scrubber.scrub_value(value) == {"x": [MASK, MASK], "n": 3, "ok": True, "none": None}


def test_our_own_hints_keep_variable_names() -> None:
    scrubber = Scrubber(["glpat-canary-1234"])
    hint = "No GitLab token: GITLAB_TOKEN is unset; add aws_secret_access_key = <key> to ~/.aws/credentials"
    assert scrubber.scrub(hint) == hint
    assert "GITLAB_TOKEN" not in scrubber.scrub_external("token: GITLAB_TOKEN")


def test_userinfo_with_an_at_sign_in_the_password_is_removed_whole() -> None:
    assert strip_userinfo("https://user:p@ss@host/x") == "https://host/x"
    text = "see https://host/a and mail@example.org"
    assert strip_userinfo(text) == text

import base64
import json
from typing import Any

import pytest

from ciam_shared.tokens.header import HeaderRefused, jose_header


def _token(header: Any) -> str:
    segment = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{segment}.e30.c2ln"


def test_an_allowed_header_is_returned_with_its_algorithm_and_key_id() -> None:
    header = jose_header(_token({"alg": "ES256", "typ": "at+JWT", "kid": "k1"}), ["ES256"])
    assert (header.alg, header.kid, header.fields["typ"]) == ("ES256", "k1", "at+JWT")


@pytest.mark.parametrize(
    ("token", "defect"),
    [
        ("garbage", "malformed"),
        ("!!!.e30.c2ln", "malformed"),
        (_token(["alg", "ES256"]), "malformed"),
        (_token({"alg": "none"}), "algorithm"),
        (_token({"alg": "HS256", "kid": "k1"}), "algorithm"),
        (_token({"alg": "ES256", "typ": "JWT", "kid": "k1"}), "type"),
        (_token({"alg": "ES256", "typ": "at+jwt", "kid": "k1", "crit": ["x"]}), "crit"),
        (_token({"alg": "ES256", "typ": "at+jwt", "kid": 7}), "kid"),
        (_token({"alg": "ES256", "typ": "at+jwt"}), "kid"),
    ],
)
def test_each_defect_is_refused_and_named(token: str, defect: str) -> None:
    with pytest.raises(HeaderRefused) as refused:
        jose_header(token, ["ES256"], types={"at+jwt"}, require_kid=True)
    assert refused.value.defect == defect


def test_without_types_or_required_kid_only_the_other_checks_apply() -> None:
    header = jose_header(_token({"alg": "RS256", "typ": "anything"}), ["RS256"])
    assert (header.alg, header.kid) == ("RS256", None)

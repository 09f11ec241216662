import uuid
from pathlib import Path

import pytest

from ciam_shared.interim_auth import Kind, NotAuthenticated, issue_token, main, verify_token

SECRET = "s" * 43


def test_a_minted_customer_token_verifies_as_that_customer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    subject = str(uuid.uuid4())
    assert main(["--sub", subject, "--secret-file", str(secret_file)]) == 0
    principal = verify_token(SECRET, capsys.readouterr().out.strip(), admin_scope="x:admin")
    assert (principal.kind, principal.id) == (Kind.CUSTOMER, subject)


def test_app_and_admin_tokens_are_told_apart() -> None:
    app = verify_token(
        SECRET,
        issue_token(SECRET, sub="shop", client_id="shop", brand="b", scopes=("x:read",)),
        admin_scope="x:admin",
    )
    assert (app.kind, app.brand, app.scopes) == (Kind.APP, "b", frozenset({"x:read"}))
    admin = verify_token(
        SECRET, issue_token(SECRET, sub="ops", scopes=("x:admin",)), admin_scope="x:admin"
    )
    assert admin.kind is Kind.ADMIN


@pytest.mark.parametrize(
    "token",
    [
        issue_token(SECRET, sub=str(uuid.uuid4()), ttl=-1),  # expired
        issue_token("t" * 43, sub=str(uuid.uuid4())),  # another secret
        issue_token(SECRET, sub="not-a-uuid"),  # a customer must be a subject id
        "not.a.jwt",
    ],
)
def test_bad_tokens_are_refused(token: str) -> None:
    with pytest.raises(NotAuthenticated):
        verify_token(SECRET, token, admin_scope="x:admin")

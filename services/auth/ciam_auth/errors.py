from ciam_auth.adapters.passwords import PasswordRefused as PasswordRefused
from ciam_auth.adapters.throttle import Throttled as Throttled
from ciam_shared.http.problems import DomainError


class InvalidCredentials(DomainError):
    """One answer for an unknown address, a wrong password and a wrong code: no enumeration."""

    status = 401
    type_slug = "invalid-credentials"
    title = "Invalid credentials"

    def __init__(self) -> None:
        super().__init__("The email address or password is not correct.")


class EmailNotVerified(DomainError):
    """Only told to someone who gave the right password: it reveals nothing to others."""

    status = 403
    type_slug = "email-not-verified"
    title = "Email address not verified"


class InvalidToken(DomainError):
    status = 400
    type_slug = "invalid-token"
    title = "Invalid or expired link or code"


class NotSignedIn(DomainError):
    status = 401
    type_slug = "not-signed-in"
    title = "Not signed in"


class ReauthenticationFailed(DomainError):
    status = 403
    type_slug = "reauthentication-failed"
    title = "Password not confirmed"


class ReauthenticationRequired(ReauthenticationFailed):
    """A password-less account: re-authenticate through a linked provider first."""

    type_slug = "reauthentication-required"
    title = "Sign in again with a linked provider"


class SessionNotFound(DomainError):
    status = 404
    type_slug = "session-not-found"
    title = "Session not found"


class TotpStateError(DomainError):
    status = 409
    type_slug = "totp-state"
    title = "Second factor not in the expected state"


class CsrfFailed(DomainError):
    status = 403
    type_slug = "csrf"
    title = "Form expired"


class UnsupportedMediaType(DomainError):
    """A state-changing call of the cookie-authenticated JSON API in another content type
    (text/plain is what a cross-origin page can send without a CORS preflight)."""

    status = 415
    type_slug = "unsupported-media-type"
    title = "Send JSON"


class NoAddressForPassword(DomainError):
    """A password-less account without an email address cannot set a password: sign-in by
    password needs the address."""

    status = 409
    type_slug = "no-email-address"
    title = "Add an email address first"

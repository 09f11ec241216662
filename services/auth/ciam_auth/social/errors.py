from ciam_shared.http.problems import DomainError


class IdentityNotFound(DomainError):
    status = 404
    type_slug = "identity-not-found"
    title = "No such linked identity"


class LastWayToSignIn(DomainError):
    status = 409
    type_slug = "last-sign-in-method"
    title = "This is your last way to sign in"


class IdentityLinkedElsewhere(DomainError):
    status = 409
    type_slug = "identity-linked-elsewhere"
    title = "This social account is linked to another account"


class NotSignedIn(DomainError):
    status = 401
    type_slug = "not-signed-in"
    title = "Sign in first"


class CsrfRefused(DomainError):
    status = 403
    type_slug = "csrf"
    title = "Missing or wrong CSRF token"

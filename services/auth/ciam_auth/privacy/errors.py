from ciam_shared.http.problems import DomainError


class ConsentUnavailable(DomainError):
    """The consent service did not answer, or answered with an error of its own: nothing was
    changed (each change is one call, which the consent service applies whole or not at all)."""

    status = 503
    type_slug = "consent-unavailable"
    title = "The consent service is not available"


class ChangeRefused(DomainError):
    """The consent service refused the change (an unknown purpose, one not based on consent)."""

    status = 400
    type_slug = "consent-change-refused"
    title = "The consent service refused the change"

from ciam_shared.http.problems import DomainError


class EmailAlreadyRegistered(DomainError):
    status = 409
    type_slug = "email-taken"
    title = "Email already registered"

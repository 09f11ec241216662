from ciam_shared.http.problems import DomainError


class SubjectNotFound(DomainError):
    status = 404
    type_slug = "subject-not-found"
    title = "Subject not found"

from ciam_shared.http.problems import DomainError


class ProfileNotFound(DomainError):
    status = 404
    type_slug = "profile-not-found"
    title = "Profile not found"

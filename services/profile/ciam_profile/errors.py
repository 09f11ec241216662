from ciam_shared.http.problems import DomainError


class ProfileNotFound(DomainError):
    status = 404
    type_slug = "profile-not-found"
    title = "Profile not found"


class FieldNotWritable(DomainError):
    status = 403
    type_slug = "field-not-writable"
    title = "Field not writable by this caller"


class IdentifierClaimed(DomainError):
    status = 409
    type_slug = "identifier-claimed"
    title = "Identifier belongs to another customer"


class MergeRefused(DomainError):
    status = 409
    type_slug = "merge-refused"
    title = "These profiles cannot be merged"


class MergeNotFound(DomainError):
    status = 404
    type_slug = "merge-not-found"
    title = "Merge not found"


class MergeAlreadyUndone(DomainError):
    status = 409
    type_slug = "merge-already-undone"
    title = "Merge already undone"

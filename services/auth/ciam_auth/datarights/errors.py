from ciam_shared.http.problems import DomainError


class ExportNotFound(DomainError):
    """No export of that id belongs to the signed-in customer (another's answers the same)."""

    status = 404
    type_slug = "export-not-found"
    title = "Export not found"


class ArchiveGone(DomainError):
    """The export failed or its archive expired and was removed: ask again."""

    status = 410
    type_slug = "export-archive-gone"
    title = "The archive is no longer available"


class ArchiveNotReady(DomainError):
    status = 409
    type_slug = "export-archive-not-ready"
    title = "The archive is not ready yet"


class DeletionNotFound(DomainError):
    """An unknown or mistyped status link."""

    status = 404
    type_slug = "deletion-not-found"
    title = "Deletion request not found"

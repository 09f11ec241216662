from ciam_shared.http.problems import DomainError


class SubjectNotFound(DomainError):
    status = 404
    type_slug = "subject-not-found"
    title = "Subject not found"


class SubjectErased(DomainError):
    status = 410
    type_slug = "subject-erased"
    title = "Subject erased"


class PurposeNotFound(DomainError):
    status = 404
    type_slug = "purpose-not-found"
    title = "Purpose not found"


class UnknownPurpose(DomainError):
    status = 422
    type_slug = "unknown-purpose"
    title = "Unknown purpose"


class PurposeVersionNotFound(DomainError):
    status = 422
    type_slug = "purpose-version-not-found"
    title = "Purpose version does not exist"


class PurposeVersionTooOld(DomainError):
    status = 409
    type_slug = "purpose-version-too-old"
    title = "Purpose version below the minimum valid version"


class LegalBasisNotConsent(DomainError):
    status = 409
    type_slug = "legal-basis-not-consent"
    title = "The purpose's legal basis is not consent"


class PurposeExists(DomainError):
    status = 409
    type_slug = "purpose-exists"
    title = "Purpose already exists"


class GpcConflict(DomainError):
    status = 409
    type_slug = "gpc-conflict"
    title = "Global Privacy Control opts this request out of sale and sharing"


class ReceiptNotFound(DomainError):
    status = 404
    type_slug = "receipt-not-found"
    title = "Receipt not found"

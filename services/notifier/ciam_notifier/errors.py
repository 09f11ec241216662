from ciam_shared.http.problems import DomainError


class SubscriptionNotFound(DomainError):
    status = 404
    type_slug = "subscription-not-found"
    title = "Subscription not found"


class SubscriptionStopped(DomainError):
    """Its app was deleted at the auth service: the subscription cannot be resumed."""

    status = 409
    type_slug = "subscription-stopped"
    title = "Subscription stopped"


class UnsafeWebhookUrl(DomainError):
    status = 422
    type_slug = "unsafe-webhook-url"
    title = "Webhook URL refused"


class MessageNotFound(DomainError):
    status = 404
    type_slug = "message-not-found"
    title = "Message not found"


class BadResumePoint(DomainError):
    """A Last-Event-ID beyond any stream event id (a 64-bit sequence)."""

    status = 422
    type_slug = "bad-resume-point"
    title = "Stream resume point out of range"

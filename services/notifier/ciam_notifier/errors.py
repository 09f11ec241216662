from ciam_shared.http.problems import DomainError


class SubscriptionNotFound(DomainError):
    status = 404
    type_slug = "subscription-not-found"
    title = "Subscription not found"


class UnsafeWebhookUrl(DomainError):
    status = 422
    type_slug = "unsafe-webhook-url"
    title = "Webhook URL refused"


class MessageNotFound(DomainError):
    status = 404
    type_slug = "message-not-found"
    title = "Message not found"

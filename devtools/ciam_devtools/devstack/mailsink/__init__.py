"""A local SMTP sink for `make run`: auth and the notifier send to it; each mail is kept as a
raw `.eml` in var/mail/ (named by arrival time, so the names sort) and shown decoded on a page
of its own port, with a JSON listing (/api/messages) that tests poll
(ciam_devtools.testing.mail.wait_for_mail). See docs/development.md."""

from ciam_devtools.devstack.mailsink.ports import mail_env, mail_ports
from ciam_devtools.devstack.mailsink.server import MailSink, start_mail_sink
from ciam_devtools.devstack.mailsink.store import CaughtMail, MailStore

__all__ = ["CaughtMail", "MailSink", "MailStore", "mail_env", "mail_ports", "start_mail_sink"]

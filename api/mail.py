"""Outgoing mail: invitations and password resets over SMTP (`HARBOUR_SMTP_*`).

The standard library's smtplib, run in a worker thread so the event loop never waits on a
mail server. One connection carries a batch (an import's invitations). Without
`HARBOUR_SMTP_HOST` nothing is sent: invitation links go to the admin to pass on.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from api.settings import Settings, SmtpSecurity
from models.directory.identity import LinkPurpose
from models.directory.identity_schemas import InvitationPublic
from models.directory.password_links import Link

log = logging.getLogger("harbour.mail")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def link_mail(link: Link, hours: float) -> Mail:
    lasts = f"{round(hours)} hours" if hours >= 2 else f"{round(hours * 60)} minutes"
    if link.purpose is LinkPurpose.invitation:
        subject = "You are invited to Harbour"
        opening = (
            f"Hello {link.display_name},\n\nYou have been invited to Harbour, your "
            "organisation's supervision and wellbeing app. Open this link to set your "
            "password, then sign in with this e-mail address:"
        )
    else:
        subject = "Set a new Harbour password"
        opening = (
            f"Hello {link.display_name},\n\nSomeone (we hope you) asked to reset the password "
            "of your Harbour account. Open this link to set a new one:"
        )
    body = (
        f"{opening}\n\n{link.url}\n\nThe link works once and for {lasts}. If you did not "
        "expect this message, ignore it: nothing changes until the link is used.\n"
    )
    return Mail(link.email, subject, body)


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.smtp_host)

    async def send(self, mails: Sequence[Mail]) -> bool:
        """Send `mails` over one connection; False (logged, never raised) when the server
        cannot be reached or refuses them."""
        if not mails or not self.configured:
            return False
        try:
            await asyncio.to_thread(self._send_all, mails)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("mail not sent: %s (%d message(s))", type(exc).__name__, len(mails))
            return False
        return True

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        timeout = s.smtp_timeout_seconds
        if s.smtp_security is SmtpSecurity.ssl:
            return smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=timeout)
        if s.smtp_security is SmtpSecurity.starttls:
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def _send_all(self, mails: Sequence[Mail]) -> None:
        s = self.settings
        with self._connect() as smtp:
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
            for mail in mails:
                message = EmailMessage()
                message["From"] = s.smtp_from
                message["To"] = mail.to
                message["Subject"] = mail.subject
                message["Message-ID"] = make_msgid(domain="harbour")
                message.set_content(mail.body)
                smtp.send_message(message)


async def deliver_links(mailer: Mailer, links: list[Link], hours: float) -> list[bool]:
    """E-mail each link when a mail server is configured; which were sent."""
    if not links or not mailer.configured:
        return [False] * len(links)
    sent = await mailer.send([link_mail(link, hours) for link in links])
    return [sent] * len(links)


def invitation_public(link: Link, sent: bool) -> InvitationPublic:
    return InvitationPublic(
        staff_id=link.staff_id,
        email=link.email,
        expires_at=link.expires_at,
        sent=sent,
        url=None if sent else link.url,
    )

"""The audit log: who changed what, for the node's admins.

Entries are recorded as ``action`` codes (``callout.close``) with a target, in
the transaction of the change; ``entry_sentence`` reads one back as a sentence
in the reader's language ("closed the callout 'Eviction at 7am'"): the sentence
templates are translated, the stored target is put in as it is. ``group_logins``
folds consecutive logins of one person into one line, so the log reads as a story.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from node.i18n import LANGUAGES, lazy_gettext, ngettext
from node.i18n import gettext as _
from node.models import AuditEntry, User

SYSTEM = "(system)"
COMMAND_LINE = "(command line)"  # whoever can run `tocsin` on the node's server

_ITEM = re.compile(r'^\S+ "(?P<title>.*)"$', re.S)  # object_pages.audit_target
_ITEM_SENTENCES = {
    ("event", "create"): lazy_gettext("posted the event %(title)s"),
    ("event", "update"): lazy_gettext("edited the event %(title)s"),
    ("event", "cancel"): lazy_gettext("cancelled the event %(title)s"),
    ("event", "close"): lazy_gettext("closed the event %(title)s"),
    ("event", "delete"): lazy_gettext("deleted the event %(title)s"),
    ("callout", "create"): lazy_gettext("posted the callout %(title)s"),
    ("callout", "update"): lazy_gettext("edited the callout %(title)s"),
    ("callout", "cancel"): lazy_gettext("cancelled the callout %(title)s"),
    ("callout", "close"): lazy_gettext("closed the callout %(title)s"),
    ("callout", "delete"): lazy_gettext("deleted the callout %(title)s"),
}
_PROFILE_FIELDS = {
    "display_name": lazy_gettext("name"),
    "summary": lazy_gettext("description"),
    "region": lazy_gettext("region"),
    "manually_approves_followers": lazy_gettext("follower approval"),
}
_FIXED = {
    "password.change": lazy_gettext("changed their password"),
    "totp.enable": lazy_gettext("turned on two-factor login"),
    "totp.disable": lazy_gettext("turned off two-factor login"),
    "totp.recovery_codes": lazy_gettext("made new two-factor recovery codes"),
    "allowlist.on": lazy_gettext("turned on allow-list-only federation"),
    "allowlist.off": lazy_gettext("turned off allow-list-only federation"),
}
# The sentence templates are translated; the target (stored data) is put in as it is.
_WITH_TARGET = {
    "user.add": lazy_gettext("added the user %(target)s"),
    "user.role": lazy_gettext("changed the role of %(target)s"),
    "user.remove": lazy_gettext("removed the user %(target)s"),
    "user.password_reset": lazy_gettext("gave %(target)s a one-time password and logged them out"),
    "user.totp_disable": lazy_gettext("turned off two-factor login for %(target)s"),
    "network.privacy": lazy_gettext("changed the network's privacy settings (%(target)s)"),
    "follow": lazy_gettext("followed %(target)s"),
    "unfollow": lazy_gettext("stopped following %(target)s"),
    "follower.approve": lazy_gettext("approved the follow request of %(target)s"),
    "follower.reject": lazy_gettext("rejected the follow request of %(target)s"),
    "follower.remove": lazy_gettext("removed the follower %(target)s"),
    "domain.block": lazy_gettext("blocked %(target)s"),
    "domain.unblock": lazy_gettext("unblocked %(target)s"),
    "allowlist.add": lazy_gettext("allowed %(target)s in allow-list mode"),
    "allowlist.remove": lazy_gettext("removed %(target)s from the allow list"),
}
_BY = {SYSTEM: lazy_gettext("(system)"), COMMAND_LINE: lazy_gettext("(command line)")}


def audit(
    session: AsyncSession, user: User | None, action: str, target: str = "", *, by: str = SYSTEM
) -> None:
    """Record an action in the caller's transaction (it lands with the change).
    ``by`` names who did it when no user did (``COMMAND_LINE``, ``SYSTEM``)."""
    session.add(
        AuditEntry(
            user_id=user.id if user else None,
            username=user.username if user else by,
            action=action,
            target=target[:2000],
        )
    )


def _item_sentence(noun: str, verb: str, target: str) -> str | None:
    sentence = _ITEM_SENTENCES.get((noun, verb))
    if sentence is None:
        return None
    found = _ITEM.match(target)
    title = f"'{found['title']}'" if found else target
    return (str(sentence) % {"title": title}).strip()


def entry_sentence(action: str, target: str) -> str:
    """What an entry says after the name of who did it, in the current language."""
    noun, _dot, verb = action.partition(".")
    item = _item_sentence(noun, verb, target)
    if item is not None:
        return item
    if action == "login":
        if target == "recovery code":
            return _("logged in with a recovery code")
        return _("logged in")
    if action == "user.language":  # the target is a tag of LANGUAGES, or "default"
        if target in LANGUAGES:
            return _("chose the admin language %(language)s", language=LANGUAGES[target])
        return _("chose the node's default admin language")
    if action in _FIXED:
        return str(_FIXED[action])
    if action in _WITH_TARGET:
        return str(_WITH_TARGET[action]) % {"target": target}
    if action == "profile.update":
        fields = [str(_PROFILE_FIELDS.get(f.strip(), f.strip())) for f in target.split(",")]
        return _("changed the network's %(fields)s", fields=", ".join(fields))
    if action == "settings.require_totp":
        if target == "on":
            return _("required two-factor login for admins")
        return _("stopped requiring two-factor login for admins")
    return f"{action} {target}".strip()  # an action this module does not know yet


def shown_name(username: str) -> str:
    """Who did it, as the log shows them: a user's name, or "(system)" translated."""
    by = _BY.get(username)
    return str(by) if by is not None else username


@dataclass(frozen=True)
class AuditLine:
    """One line of the log: an entry, or several consecutive logins of one person."""

    who: str
    what: str
    first: datetime
    last: datetime
    count: int = 1

    @property
    def sentence(self) -> str:
        times = (
            ngettext(" (%(num)d time)", " (%(num)d times)", self.count) if self.count > 1 else ""
        )
        return f"{self.who} {self.what}{times}"


def group_logins(entries: Sequence[AuditEntry]) -> list[AuditLine]:
    """The entries (newest first) as lines, consecutive like logins of one user folded."""
    lines: list[AuditLine] = []
    for entry in entries:
        what = entry_sentence(entry.action, entry.target)
        previous = lines[-1] if lines else None
        if (
            previous is not None
            and entry.action == "login"
            and previous.who == shown_name(entry.username)
            and previous.what == what
        ):
            lines[-1] = AuditLine(
                previous.who, what, entry.created_at, previous.last, previous.count + 1
            )
        else:
            who = shown_name(entry.username)
            lines.append(AuditLine(who, what, entry.created_at, entry.created_at))
    return lines

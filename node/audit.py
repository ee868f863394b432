"""The audit log: who changed what, for the node's admins.

Entries are recorded as ``action`` codes (``callout.close``) with a target, in
the transaction of the change; ``entry_sentence`` reads one back as a sentence
("closed the callout 'Eviction at 7am'") and ``group_logins`` folds consecutive
logins of one person into one line, so the log reads as a story.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from node.models import AuditEntry, User

SYSTEM = "(system)"
COMMAND_LINE = "(command line)"  # whoever can run `tocsin` on the node's server

_ITEM = re.compile(r'^\S+ "(?P<title>.*)"$', re.S)  # object_pages.audit_target
_ITEM_VERBS = {
    "create": "posted",
    "update": "edited",
    "cancel": "cancelled",
    "close": "closed",
    "delete": "deleted",
}
_PROFILE_FIELDS = {
    "display_name": "name",
    "summary": "description",
    "region": "region",
    "manually_approves_followers": "follower approval",
}
_FIXED = {
    "password.change": "changed their password",
    "totp.enable": "turned on two-factor login",
    "totp.disable": "turned off two-factor login",
    "totp.recovery_codes": "made new two-factor recovery codes",
    "allowlist.on": "turned on allow-list-only federation",
    "allowlist.off": "turned off allow-list-only federation",
}
_WITH_TARGET = {
    "user.add": "added the user {}",
    "user.role": "changed the role of {}",
    "user.remove": "removed the user {}",
    "user.password_reset": "gave {} a one-time password and logged them out",
    "user.totp_disable": "turned off two-factor login for {}",
    "network.privacy": "changed the network's privacy settings ({})",
    "follow": "followed {}",
    "unfollow": "stopped following {}",
    "follower.approve": "approved the follow request of {}",
    "follower.reject": "rejected the follow request of {}",
    "follower.remove": "removed the follower {}",
    "domain.block": "blocked {}",
    "domain.unblock": "unblocked {}",
    "allowlist.add": "allowed {} in allow-list mode",
    "allowlist.remove": "removed {} from the allow list",
}


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
    if noun not in ("event", "callout") or verb not in _ITEM_VERBS:
        return None
    found = _ITEM.match(target)
    title = f"'{found['title']}'" if found else target
    return f"{_ITEM_VERBS[verb]} the {noun} {title}".strip()


def entry_sentence(action: str, target: str) -> str:
    """What an entry says after the name of who did it."""
    noun, _, verb = action.partition(".")
    item = _item_sentence(noun, verb, target)
    if item is not None:
        return item
    if action == "login":
        return "logged in with a recovery code" if target == "recovery code" else "logged in"
    if action in _FIXED:
        return _FIXED[action]
    if action in _WITH_TARGET:
        return _WITH_TARGET[action].format(target)
    if action == "profile.update":
        fields = [_PROFILE_FIELDS.get(f.strip(), f.strip()) for f in target.split(",")]
        return f"changed the network's {', '.join(fields)}"
    if action == "settings.require_totp":
        verb = "required" if target == "on" else "stopped requiring"
        return f"{verb} two-factor login for admins"
    return f"{action} {target}".strip()  # an action this module does not know yet


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
        times = f" ({self.count} times)" if self.count > 1 else ""
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
            and previous.who == entry.username
            and previous.what == what
        ):
            lines[-1] = AuditLine(
                previous.who, what, entry.created_at, previous.last, previous.count + 1
            )
        else:
            lines.append(AuditLine(entry.username, what, entry.created_at, entry.created_at))
    return lines

"""Admin pages for callouts: list, create (one short screen, or the quick form
for a phone in a hurry), edit and delete; who answered is in
``callout_responders.py``, the state buttons in ``callout_actions.py``.

The shared create / edit / cancel / delete flow is in ``object_pages.py``; this
module supplies what is particular to callouts and their routes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.content import callouts as co
from node.content.calendar import open_callouts
from node.content.models import Callout
from node.context import NodeContext
from node.i18n import lazy_gettext
from node.web.admin import callout_responders
from node.web.admin.callout_actions import allowed_buttons, move_routes
from node.web.admin.forms import CALLOUT_FIELDS, FieldErrors, FormValues, field_text, input_time
from node.web.admin.listings import PAST_SHOWN, list_page, row
from node.web.admin.object_pages import (
    Action,
    Confirmation,
    Kind,
    confirm_then_act,
    edit_page,
    new_page,
)
from node.web.admin.session import require
from node.web.context import ctx

FOLDED = ("start", "timezone", "latitude", "longitude", "online_url")
"""The fields under "more" on the callout form, folded away unless needed."""


def _callout_form(form: FormData) -> co.CalloutForm:
    return co.CalloutForm(**{name: field_text(form, name) for name in CALLOUT_FIELDS})


def _blank_form(timezone: str) -> co.CalloutForm:
    return co.CalloutForm(urgency="soon", timezone=timezone)


def _callout_values(form: co.CalloutForm) -> FormValues:
    values: FormValues = {k: "" if v is None else v for k, v in asdict(form).items()}
    values["start"], values["until"] = input_time(form.start), input_time(form.until)
    return values


@dataclass
class QuickForm:
    """The quick form: a callout, and whether it is still being checked."""

    callout: co.CalloutForm
    unverified: bool = False


def _quick_form(form: FormData) -> QuickForm:
    return QuickForm(_callout_form(form), unverified="unverified" in form)


def _quick_blank(timezone: str) -> QuickForm:
    return QuickForm(co.CalloutForm(urgency="urgent", timezone=timezone))


def _quick_of(callout: Callout) -> QuickForm:
    return QuickForm(co.form_of(callout), callout.status == "unverified")


def _quick_values(form: QuickForm) -> FormValues:
    return {**_callout_values(form.callout), "unverified": form.unverified}


async def _quick_create(node: NodeContext, session: AsyncSession, form: QuickForm) -> Callout:
    return await co.create_callout(node, session, form.callout, unverified=form.unverified)


async def _quick_update(
    node: NodeContext, session: AsyncSession, callout: Callout, form: QuickForm
) -> Callout:
    return await co.update_callout(node, session, callout, form.callout)


def _unfold(values: FormValues, errors: FieldErrors) -> dict[str, object]:
    """Open the folded fields when one has an error or a value."""
    filled = any(values.get(f) for f in ("latitude", "longitude", "online_url"))
    return {"more_open": any(f in errors for f in FOLDED) or filled}


async def _callouts_page(request: Request, error: str | None = None) -> Response:
    now = datetime.now(UTC)
    async with ctx(request).sessions() as session:
        current = await open_callouts(session, now, local_only=True)
        ended = list(
            await session.scalars(
                select(Callout)
                .where(Callout.local.is_(True), Callout.id.not_in([c.id for c in current]))
                .order_by(Callout.ends_at.desc(), Callout.id.desc())
                .limit(PAST_SHOWN)
            )
        )
    rows = {"current": [row(c, now) for c in current], "ended": [row(c, now) for c in ended]}
    extra = {"buttons": {c.id: allowed_buttons(c, now) for c in current + ended}}
    return list_page(request, "admin/callouts.html", "callout", rows, error, extra)


CALLOUTS = Kind(
    model=Callout,
    form_template="admin/callout_form.html",
    read_form=_callout_form,
    blank_form=_blank_form,
    form_of=co.form_of,
    values_of=_callout_values,
    create=co.create_callout,
    update=co.update_callout,
    listing=_callouts_page,
    form_extras=_unfold,
)
QUICK = Kind(
    model=Callout,
    form_template="admin/callout_quick.html",
    read_form=_quick_form,
    blank_form=_quick_blank,
    form_of=_quick_of,
    values_of=_quick_values,
    create=_quick_create,
    update=_quick_update,
    listing=_callouts_page,
)
DELETE = Action(verb="delete", change=co.delete_callout, done="deleted")
ASK_DELETE = Confirmation(
    heading=lazy_gettext("Delete this callout?"),
    explanation=lazy_gettext(
        "It disappears from this site with its responses, and followers are "
        "asked to remove it. This cannot be undone."
    ),
    button=lazy_gettext("Delete for good"),
)


@require("editor")
async def callouts(request: Request) -> Response:
    return await _callouts_page(request)


@require("editor")
async def callout_new(request: Request) -> Response:
    return await new_page(request, CALLOUTS)


@require("editor")
async def callout_quick(request: Request) -> Response:
    """The short form for a callout in a hurry, on a phone: urgent unless changed."""
    return await new_page(request, QUICK)


@require("editor")
async def callout_edit(request: Request) -> Response:
    return await edit_page(request, CALLOUTS)


@require("editor")
async def callout_delete(request: Request) -> Response:
    return await confirm_then_act(request, CALLOUTS, DELETE, ASK_DELETE)


routes = [
    Route("/admin/callouts", callouts),
    Route("/admin/callouts/new", callout_new, methods=["GET", "POST"]),
    Route("/admin/callouts/quick", callout_quick, methods=["GET", "POST"]),
    Route("/admin/callouts/{id}/edit", callout_edit, methods=["GET", "POST"]),
    Route("/admin/callouts/{id}/delete", callout_delete, methods=["GET", "POST"]),
    *callout_responders.routes,
    *move_routes(CALLOUTS),
]

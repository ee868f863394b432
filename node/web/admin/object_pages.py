"""The create, edit, cancel and delete pages every kind of admin object shares.

Events and callouts go through the same steps; a ``Kind`` supplies what differs
(reading the form, the domain calls, the template, the list to go back to) and
an ``Action`` names one change (cancel, close, delete) with its audit verb.

Every change goes through the content services (which validate it and queue its
federation activity) and is audited, in one transaction: a form that does not
validate is shown again with the message beside the field and a 400, and nothing
is saved. After a change the worker is woken and the browser is redirected to
the list with ``?done=<code>``, so a reload does not post again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from babel.support import LazyProxy
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node.audit import audit
from node.content.lookup import NotFound, find_local
from node.content.models import Callout, Event
from node.content.validation import ContentError
from node.context import NodeContext
from node.web.admin.forms import FieldErrors, FormValues, field_error, form_page
from node.web.admin.listings import when
from node.web.admin.session import render
from node.web.context import ctx

T = TypeVar("T", Event, Callout)
F = TypeVar("F")
Change = Callable[[NodeContext, AsyncSession, T], Awaitable[object]]


def no_extras(values: FormValues, errors: FieldErrors) -> dict[str, object]:
    return {}


@dataclass(frozen=True)
class Kind(Generic[T, F]):
    """What one kind of object (model ``T``, form ``F``) plugs into the shared pages."""

    model: type[T]
    form_template: str
    read_form: Callable[[FormData], F]
    blank_form: Callable[[str], F]  # the node's default time zone -> an empty form
    form_of: Callable[[T], F]
    values_of: Callable[[F], FormValues]
    create: Callable[[NodeContext, AsyncSession, F], Awaitable[T]]
    update: Callable[[NodeContext, AsyncSession, T, F], Awaitable[object]]
    listing: Callable[[Request, str | None], Awaitable[Response]]  # the list, with an error
    form_extras: Callable[[FormValues, FieldErrors], dict[str, object]] = no_extras

    @property
    def noun(self) -> str:
        """``event``: audit actions read ``event.create``, the list is ``/admin/events``."""
        return self.model.__name__.lower()


@dataclass(frozen=True)
class Action(Generic[T]):
    """One change to an existing item: audited as ``<noun>.<verb>``, noticed as ``done``."""

    verb: str
    change: Change[T]
    done: str


Text = str | LazyProxy
"""Words to show: a string, or a module-level ``lazy_gettext`` translated when shown."""


@dataclass(frozen=True)
class Confirmation:
    """What the page asking "are you sure?" says before an action."""

    heading: Text
    explanation: Text
    button: Text


def audit_target(item: Event | Callout) -> str:
    """How the audit log names an item: its id and its title."""
    return f'{item.uri} "{item.title}"'


async def find_item(session: AsyncSession, model: type[T], request: Request) -> T | None:
    """The item of ours numbered in the path, or None (also for a malformed number)."""
    ref = str(request.path_params["id"])
    if not ref.isdigit() or len(ref) > 18:
        return None
    try:
        return await find_local(session, model, ref)
    except NotFound:
        return None


async def load_item(request: Request, model: type[T]) -> T | None:
    async with ctx(request).sessions() as session:
        return await find_item(session, model, request)


def missing_page(request: Request, noun: str) -> Response:
    context = {"noun": noun, "back": f"/admin/{noun}s"}
    return render(request, "admin/missing.html", context, status=404)


def done_redirect(noun: str, code: str, item_id: int | None = None) -> Response:
    """Back to the list, showing the notice for ``code`` and scrolled to the item."""
    anchor = f"#{noun}-{item_id}" if item_id is not None else ""
    return RedirectResponse(f"/admin/{noun}s?done={code}{anchor}", status_code=303)


def _form(
    request: Request,
    kind: Kind[T, F],
    form: F,
    *,
    item_url: str | None = None,
    errors: FieldErrors | None = None,
) -> Response:
    values, errors = kind.values_of(form), errors or {}
    extra = kind.form_extras(values, errors)
    return form_page(
        request, kind.form_template, values, item_url=item_url, errors=errors, extra=extra
    )


async def new_page(request: Request, kind: Kind[T, F]) -> Response:
    """GET: the empty form. POST: create the item, audit it and go back to the list."""
    node = ctx(request)
    if request.method == "GET":
        return _form(request, kind, kind.blank_form(node.settings.timezone))
    form = kind.read_form(request.state.form)
    try:
        async with node.sessions() as session, session.begin():
            item = await kind.create(node, session, form)
            audit(session, request.state.user, f"{kind.noun}.create", audit_target(item))
    except ContentError as exc:
        return _form(request, kind, form, errors=field_error(exc))
    node.wake()
    return done_redirect(kind.noun, "created", item.id)


async def edit_page(request: Request, kind: Kind[T, F]) -> Response:
    """GET: the form filled from the stored item. POST: save the changes, as ``new_page``."""
    if request.method == "POST":
        return await _save(request, kind, kind.read_form(request.state.form))
    item = await load_item(request, kind.model)
    if item is None:
        return missing_page(request, kind.noun)
    return _form(request, kind, kind.form_of(item), item_url=item.url)


async def _save(request: Request, kind: Kind[T, F], form: F) -> Response:
    node, url = ctx(request), None
    try:
        async with node.sessions() as session, session.begin():
            item = await find_item(session, kind.model, request)
            if item is None:
                return missing_page(request, kind.noun)
            url = item.url
            await kind.update(node, session, item, form)
            audit(session, request.state.user, f"{kind.noun}.update", audit_target(item))
    except ContentError as exc:
        return _form(request, kind, form, item_url=url, errors=field_error(exc))
    node.wake()
    return done_redirect(kind.noun, "updated", item.id)


async def act(request: Request, kind: Kind[T, F], action: Action[T]) -> Response:
    """Apply ``action`` to the item named in the path, audit it, commit, wake the worker.

    A change the item refuses (say, already cancelled) changes nothing: the list
    is shown again with the reason and a 409.
    """
    node = ctx(request)
    try:
        async with node.sessions() as session, session.begin():
            item = await find_item(session, kind.model, request)
            if item is None:
                return missing_page(request, kind.noun)
            item_id, target = item.id, audit_target(item)
            await action.change(node, session, item)
            audit(session, request.state.user, f"{kind.noun}.{action.verb}", target)
    except ContentError as exc:
        return await kind.listing(request, exc.message[:1].upper() + exc.message[1:] + ".")
    node.wake()
    return done_redirect(kind.noun, action.done, None if action.done == "deleted" else item_id)


async def confirm_then_act(
    request: Request, kind: Kind[T, F], action: Action[T], confirmation: Confirmation
) -> Response:
    """GET: ask first (a GET changes nothing). POST: ``act``."""
    if request.method == "POST":
        return await act(request, kind, action)
    item = await load_item(request, kind.model)
    if item is None:
        return missing_page(request, kind.noun)
    context = {
        "item": item,
        "when": when(item),
        "back": f"/admin/{kind.noun}s",
        "heading": confirmation.heading,
        "explanation": confirmation.explanation,
        "button": confirmation.button,
    }
    return render(request, "admin/confirm.html", context)

"""Admin pages for the network's events and callouts: list, create, edit, cancel
or close, delete, and who answered a callout.

Every change goes through the content services (which validate it and queue its
federation activity) and is audited, in one transaction: a form that does not
validate is shown again with the message beside the field, and nothing is saved.
"""

from __future__ import annotations

from starlette.routing import Route

from node.web.admin.callouts import (
    callout_cancel,
    callout_close,
    callout_delete,
    callout_edit,
    callout_new,
    callout_responses,
    callouts,
)
from node.web.admin.events import event_cancel, event_delete, event_edit, event_new, events

routes = [
    Route("/admin/events", events),
    Route("/admin/events/new", event_new, methods=["GET", "POST"]),
    Route("/admin/events/{id}/edit", event_edit, methods=["GET", "POST"]),
    Route("/admin/events/{id}/cancel", event_cancel, methods=["GET", "POST"]),
    Route("/admin/events/{id}/delete", event_delete, methods=["GET", "POST"]),
    Route("/admin/callouts", callouts),
    Route("/admin/callouts/new", callout_new, methods=["GET", "POST"]),
    Route("/admin/callouts/{id}/edit", callout_edit, methods=["GET", "POST"]),
    Route("/admin/callouts/{id}/close", callout_close, methods=["POST"]),
    Route("/admin/callouts/{id}/cancel", callout_cancel, methods=["GET", "POST"]),
    Route("/admin/callouts/{id}/delete", callout_delete, methods=["GET", "POST"]),
    Route("/admin/callouts/{id}/responses", callout_responses),
]

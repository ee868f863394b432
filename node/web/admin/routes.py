"""Every admin route, in one list for the app."""

from __future__ import annotations

from node.web.admin import auth, callouts, dashboard, events, federation, language_page, people

routes = [
    *auth.routes,
    *dashboard.routes,
    *events.routes,
    *callouts.routes,
    *federation.routes,
    *people.routes,
    *language_page.routes,
]

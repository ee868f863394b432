"""Every admin route, in one list for the app."""

from __future__ import annotations

from node.web.admin import auth, content, dashboard, federation, people

routes = [*auth.routes, *dashboard.routes, *content.routes, *federation.routes, *people.routes]

"""Admin pages for federation (admins only): following other nodes, followers,
blocked servers and allow-list-only mode.

The pages live in two modules, one concern each: :mod:`node.web.admin.follows`
(one remote actor at a time, over the follow protocol) and
:mod:`node.web.admin.blocks` (policy for whole servers). This module gathers
their routes under ``/admin/federation`` for :mod:`node.web.admin.routes`. A
form that does not validate is shown again with the message beside the field,
and nothing is saved.
"""

from __future__ import annotations

from starlette.routing import Route

from node.web.admin.blocklists import routes as blocklist_routes
from node.web.admin.blocks import allow, allowlist_mode, block, blocks, disallow, unblock
from node.web.admin.follows import (
    federation,
    follow_confirm,
    follow_lookup,
    follower_action,
    followers,
    nearby,
    privacy,
    relay_default,
    relay_switch,
    unfollow,
)

routes = [
    Route("/admin/federation", federation),
    Route("/admin/federation/follow", follow_lookup, methods=["POST"]),
    Route("/admin/federation/follow/confirm", follow_confirm, methods=["POST"]),
    Route("/admin/federation/following/{id:int}/unfollow", unfollow, methods=["POST"]),
    Route("/admin/federation/privacy", privacy, methods=["POST"]),
    Route("/admin/federation/nearby", nearby),
    Route("/admin/federation/following/{id:int}/relay", relay_switch, methods=["POST"]),
    Route("/admin/federation/relay-default", relay_default, methods=["POST"]),
    Route("/admin/federation/followers", followers),
    Route("/admin/federation/followers/{id:int}/{action:str}", follower_action, methods=["POST"]),
    Route("/admin/federation/blocks", blocks),
    Route("/admin/federation/blocks/add", block, methods=["POST"]),
    Route("/admin/federation/blocks/remove", unblock, methods=["POST"]),
    Route("/admin/federation/allowlist/mode", allowlist_mode, methods=["POST"]),
    Route("/admin/federation/allowlist/add", allow, methods=["POST"]),
    Route("/admin/federation/allowlist/remove", disallow, methods=["POST"]),
    *blocklist_routes,
]

"""Which language the admin speaks to a signed-in user.

``node.web.language`` chooses every request's language before the admin sees it
(the ``lang`` cookie, ``Accept-Language``, the node's default), so the login
pages follow the browser. Once the user is known, their own choice
(``users.language``) wins; a user who chose "the node's default" (NULL) gets
``TOCSIN_LANGUAGE``, not their browser's, as they asked.
"""

from __future__ import annotations

from starlette.requests import Request

from node.models import User
from node.web.context import ctx
from node.web.language import use_user_language


def speak_to(request: Request, user: User) -> None:
    """For the rest of this request, speak the user's language."""
    use_user_language(request, user.language or ctx(request).settings.language)

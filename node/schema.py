"""The whole schema's metadata: every model module, imported once."""

from __future__ import annotations

from node.alerts import models as _alerts  # noqa: F401 - registers the alert tables
from node.content import models as _content  # noqa: F401 - registers the content tables
from node.models import Base

metadata = Base.metadata

"""Every public URL of the node, derived from the base URL in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Urls:
    base: str  # origin without trailing slash

    def actor(self, username: str) -> str:
        return f"{self.base}/actors/{username}"

    def key_id(self, actor_id: str) -> str:
        return f"{actor_id}#main-key"

    def inbox(self, username: str) -> str:
        return f"{self.actor(username)}/inbox"

    def outbox(self, username: str) -> str:
        return f"{self.actor(username)}/outbox"

    def followers(self, username: str) -> str:
        return self.followers_of(self.actor(username))

    def followers_of(self, actor_id: str) -> str:
        """The followers collection of the local actor ``actor_id`` (``actor(username)``)."""
        return f"{actor_id}/followers"

    def following(self, username: str) -> str:
        return f"{self.actor(username)}/following"

    @property
    def instance_actor(self) -> str:
        return f"{self.base}/actor"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def home(self) -> str:
        return f"{self.base}/"

    def activity(self, token: str) -> str:
        return f"{self.base}/activities/{token}"

"""Events, callouts, responses to callouts, remote notes and tombstones.

Local and remote events share one table (``local`` tells them apart), so the
federation's calendar is one indexed query; the same for callouts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from node.models import NEVER_REUSE_IDS, Base, IdType, JSONType, UTCDateTime, utcnow


class _Placed:
    """Where something happens: a place, an address, coordinates, and/or a link."""

    location_name: Mapped[str] = mapped_column(String(300), default="")
    location_address: Mapped[str] = mapped_column(String(500), default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    online_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)


class _Federated:
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    local: Mapped[bool] = mapped_column(Boolean)
    actor_uri: Mapped[str] = mapped_column(String(2048))  # who published it
    origin_domain: Mapped[str] = mapped_column(String(255), index=True)
    relayed_by: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    url: Mapped[str] = mapped_column(String(2048))  # the HTML page
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(_Placed, _Federated, Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_ends_at", "ends_at"),
        Index("ix_events_starts_at", "starts_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description_md: Mapped[str] = mapped_column(Text, default="")  # local events' source
    description_html: Mapped[str] = mapped_column(Text, default="")  # always sanitised
    summary_text: Mapped[str] = mapped_column(Text, default="")  # remote events' summary
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled|cancelled


class Callout(_Placed, _Federated, Base):
    __tablename__ = "callouts"
    __table_args__ = (Index("ix_callouts_status_ends_at", "status", "ends_at"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    needed: Mapped[str] = mapped_column(Text)
    people_needed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    contact: Mapped[str] = mapped_column(String(500), default="")
    urgency: Mapped[str] = mapped_column(String(16))  # urgent|soon|ongoing
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # unverified|open|enough|met|false-alarm|cancelled (node.content.callout_states)
    status: Mapped[str] = mapped_column(String(16), default="open")
    content_html: Mapped[str] = mapped_column(Text, default="")  # remote callouts' text
    # a remote callout's totals as its origin sent them; for ours, the totals last
    # published (the responses are counted when the next Update goes out)
    come_count: Mapped[int] = mapped_column(Integer, default=0)
    help_count: Mapped[int] = mapped_column(Integer, default=0)
    tally_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    area: Mapped[str] = mapped_column(String(300), default="")  # public: "Tottenham, N15"
    # told only to confirmed responders, in direct messages; never on a public path
    private_address: Mapped[str] = mapped_column(String(500), default="")
    confirmed_count: Mapped[int] = mapped_column(Integer, default=0)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # final state
    responders_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CalloutResponse(Base):
    """One answer to one of our callouts (organisers only): a fediverse account's
    vote, or an alert subscriber's answer through their personal link
    (``node.alerts.respond``: ``actor_uri`` is then ``alert_actor(subscription)``)."""

    __tablename__ = "callout_responses"
    __table_args__ = (UniqueConstraint("callout_id", "actor_uri"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    callout_id: Mapped[int] = mapped_column(ForeignKey("callouts.id", ondelete="CASCADE"))
    actor_uri: Mapped[str] = mapped_column(String(2048))
    option: Mapped[str] = mapped_column(String(16))  # come|help
    activity_uri: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # confirmed|standby|removed; None for "help" and while the callout is unverified
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # an alert subscriber's answer: their subscription (NULL once it is gone), and
    # what they chose to give; empty for fediverse votes
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_subscriptions.id", ondelete="SET NULL"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(80), default="")
    reach: Mapped[str] = mapped_column(String(200), default="")


class CalloutMessage(Base):
    """A direct message sent to a responder (organisers only; purged with the responses)."""

    __tablename__ = "callout_messages"
    __table_args__ = (UniqueConstraint("callout_id", "actor_uri", "kind"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    callout_id: Mapped[int] = mapped_column(ForeignKey("callouts.id", ondelete="CASCADE"))
    actor_uri: Mapped[str] = mapped_column(String(2048))
    kind: Mapped[str] = mapped_column(String(16))  # confirmed|standby|called-off
    activity_uri: Mapped[str] = mapped_column(String(2048))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RemoteNote(Base):
    """A Note from a followed actor, sanitised, original kept."""

    __tablename__ = "remote_notes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    actor_uri: Mapped[str] = mapped_column(String(2048), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    content_html: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Tombstone(Base):
    """A deleted object's id: answers 410, and is never re-created from a late Create."""

    __tablename__ = "tombstones"

    uri: Mapped[str] = mapped_column(String(2048), primary_key=True)
    former_type: Mapped[str] = mapped_column(String(32))
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContentChanges(Base):
    """Counters that database triggers raise whenever what the public reads changes.

    Every process (web, worker, CLI) writes through the same tables, so the triggers
    (migration 0005) see every change; a reader compares the sums with the ones its
    cached page was made under. ``slot`` spreads concurrent writers over rows
    (PostgreSQL picks ``pg_backend_pid() % 16``), so they never queue on one row lock.
    """

    __tablename__ = "content_changes"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    content: Mapped[int] = mapped_column(BigInteger, default=0)  # events, callouts, actors, ...
    actors: Mapped[int] = mapped_column(BigInteger, default=0)  # the local actors alone
    longest_event: Mapped[int] = mapped_column(BigInteger, default=0)  # seconds, never lowered

"""Database models. The schema itself is made and changed only by Alembic
migrations in ``migrations/``; these classes describe it for queries.

Privacy rule for every table: no IP address, no user agent, nothing about the
people who read the node is ever stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JSONType = JSON().with_variant(JSONB(), "postgresql")
IdType = BigInteger().with_variant(Integer(), "sqlite")
# Ids that appear in URLs, cookies or admin forms are never handed out twice:
# SQLite reuses the highest rowid after a delete unless the key is AUTOINCREMENT.
NEVER_REUSE_IDS: dict[str, Any] = {"sqlite_autoincrement": True}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC when read back.

    SQLite keeps no zone, so values come back naive; this restores UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class LocalActor(Base):
    """An actor this node speaks as: the network's Group, and the instance Application."""

    __tablename__ = "local_actors"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "group" | "application"
    display_name: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    region: Mapped[str] = mapped_column(String(200), default="")
    manually_approves_followers: Mapped[bool] = mapped_column(Boolean, default=False)
    private_key_pem: Mapped[str] = mapped_column(Text)
    public_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RemoteActor(Base):
    """A cached copy of an actor on another server."""

    __tablename__ = "remote_actors"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    domain: Mapped[str] = mapped_column(String(255), index=True)
    type: Mapped[str] = mapped_column(String(32))
    preferred_username: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(500), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    inbox: Mapped[str] = mapped_column(String(2048))
    shared_inbox: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RemoteKey(Base):
    """A remote public key, looked up by the keyId of a signature."""

    __tablename__ = "remote_keys"

    key_id: Mapped[str] = mapped_column(String(2048), primary_key=True)
    owner_uri: Mapped[str] = mapped_column(String(2048), index=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Follower(Base):
    """A remote actor following one of our actors (pending until accepted)."""

    __tablename__ = "followers"
    __table_args__ = (UniqueConstraint("local_actor_id", "remote_actor_id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    local_actor_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    remote_actor_id: Mapped[int] = mapped_column(
        ForeignKey("remote_actors.id", ondelete="CASCADE"), index=True
    )
    follow_uri: Mapped[str] = mapped_column(String(2048))
    follow_activity: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(16))  # "pending" | "accepted"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Following(Base):
    """One of our actors following a remote actor (pending until its Accept)."""

    __tablename__ = "followings"
    __table_args__ = (UniqueConstraint("local_actor_id", "remote_actor_id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    local_actor_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    remote_actor_id: Mapped[int] = mapped_column(
        ForeignKey("remote_actors.id", ondelete="CASCADE"), index=True
    )
    follow_uri: Mapped[str] = mapped_column(String(2048), unique=True)
    state: Mapped[str] = mapped_column(String(16))  # "pending" | "accepted"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Announce its urgent callouts to our followers (node.relay)
    relay_urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # fetch its upcoming events and open callouts from this time on (node.backfill)
    backfill_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    backfill_attempts: Mapped[int] = mapped_column(Integer, default=0)


class RelayedCallout(Base):
    """A callout this node Announced to its followers: at most once (no loops),
    with the last state it told them about (node.relay)."""

    __tablename__ = "relayed_callouts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    object_uri: Mapped[str] = mapped_column(String(2048), unique=True)
    origin_domain: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # the state last announced
    finished: Mapped[bool] = mapped_column(Boolean, default=False)  # over: relay no more
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundActivity(Base):
    """A verified activity received in an inbox, kept until processed.

    Recorded before the 202 is sent, so nothing accepted is lost on a crash;
    ``uri`` is unique, which is how replays are deduplicated.
    """

    __tablename__ = "inbound_activities"
    __table_args__ = (Index("ix_inbound_pending", "state", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    actor_uri: Mapped[str] = mapped_column(String(2048))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OutboundActivity(Base):
    """An activity one of our actors published; the outbox lists the public ones."""

    __tablename__ = "outbound_activities"
    __table_args__ = (Index("ix_outbound_actor_public", "local_actor_id", "public", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    local_actor_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    object_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True, index=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    # The exact bytes sent: every retry and every reader gets the same body.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """One POST of an outbound activity to one inbox, retried until it lands or gives up."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("activity_id", "inbox_url"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("outbound_activities.id", ondelete="CASCADE")
    )
    inbox_url: Mapped[str] = mapped_column(String(2048))
    domain: Mapped[str] = mapped_column(String(255), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|gave_up
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WorkerProcess(Base):
    """A running node process, named in the ``locked_by`` of the rows it holds
    (``node.leases``): its successor on the same host frees them when it is gone."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # host:pid:token
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DomainHealth(Base):
    """Delivery failures per remote server, to stop hammering one that is gone."""

    __tablename__ = "domain_health"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    failure_days: Mapped[list[str]] = mapped_column(JSONType, default=list)
    unreachable_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DomainBlock(Base):
    """A server this node refuses to federate with.

    ``reason`` is for admins only; ``public_reason`` is published with a shared
    block list. ``source`` says where the block came from: ``local``,
    ``csv:<file>`` or the actor URL of a subscribed block list (``node.blocklists``).
    """

    __tablename__ = "domain_blocks"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    severity: Mapped[str] = mapped_column(String(16), default="suspend")  # suspend|silence
    public_reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(2048), default="local", index=True)


class BlocklistSubscription(Base):
    """A trusted node whose published block list this node follows."""

    __tablename__ = "blocklist_subscriptions"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    actor_uri: Mapped[str] = mapped_column(String(2048), unique=True)
    collection_url: Mapped[str] = mapped_column(String(2048))
    next_refresh_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlockOverride(Base):
    """A local unblock of a domain a subscribed list blocks: the list's refresh
    leaves the domain unblocked."""

    __tablename__ = "block_overrides"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    source: Mapped[str] = mapped_column(String(2048), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    """A person who runs the node: an admin or an editor."""

    __tablename__ = "users"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))  # "admin" | "editor"
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0)  # no code is used twice
    # The admin's language for this user (node/i18n.py LANGUAGES); None: the node's default.
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginSession(Base):
    """One logged-in browser. Its cookie holds a random token; the row holds the
    token's SHA-256, so deleting the row ends the session even for a copied cookie.
    No address, no user agent."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(8))  # "totp" (code pending) | "ok"
    code_failures: Mapped[int] = mapped_column(Integer, default=0)  # wrong codes this login
    pending_totp: Mapped[str | None] = mapped_column(String(64), nullable=True)  # 2FA set-up
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(Base):
    """One unused two-factor recovery code of a user: HMAC-SHA256 of the code keyed
    with a random salt (``node.users`` says why not Argon2). Using it deletes the row."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    salt: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """Who changed what, shown to admins. No addresses, no user agents."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class NodeSetting(Base):
    """Node-wide switches set from the admin UI (allow-list mode, required 2FA)."""

    __tablename__ = "node_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)


class DomainAllow(Base):
    """A server allowed to federate when the node runs in allow-list-only mode."""

    __tablename__ = "domain_allows"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

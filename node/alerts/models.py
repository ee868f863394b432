"""The tables of alerts: who asked to be alerted, and each alert still to send.

``alert_subscriptions`` keeps only what reaching someone needs: a push
endpoint and its keys, or an e-mail address (confirmed, or waiting for its
confirmation link), the scope chosen, a random token for the unsubscribe link,
and when. No IP address, no user agent, no name.

``alert_jobs`` has one row per subscription and change of a callout or event
(``subject``/``subject_id``/``change``), unique, so queueing the same change
twice or retrying a job never alerts anyone twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from node.models import NEVER_REUSE_IDS, Base, IdType, UTCDateTime, utcnow

SCOPES = ("urgent", "callouts", "everything")
"""Urgent callouts only; all callouts; callouts and new events."""
CHANNELS = ("push", "email")


class AlertSubscription(Base):
    __tablename__ = "alert_subscriptions"
    __table_args__ = (
        Index("ix_alert_subscriptions_pending", "confirmed", "created_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))  # push | email
    endpoint: Mapped[str | None] = mapped_column(String(2048), unique=True, nullable=True)
    p256dh: Mapped[str | None] = mapped_column(String(128), nullable=True)
    auth: Mapped[str | None] = mapped_column(String(64), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True, nullable=True)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    confirm_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    scope: Mapped[str] = mapped_column(String(16))  # see SCOPES
    federated: Mapped[bool] = mapped_column(Boolean, default=False)  # followed networks too
    token: Mapped[str] = mapped_column(String(64), unique=True)  # the unsubscribe link's
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertJob(Base):
    __tablename__ = "alert_jobs"
    __table_args__ = (
        UniqueConstraint("subscription_id", "subject", "subject_id", "change"),
        Index("ix_alert_jobs_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("alert_subscriptions.id", ondelete="CASCADE")
    )
    subject: Mapped[str] = mapped_column(String(8))  # callout | event
    subject_id: Mapped[int] = mapped_column(IdType)
    change: Mapped[str] = mapped_column(String(16))  # see node.alerts.words.CHANGES
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|gave_up
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

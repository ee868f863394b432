"""Alerts for people who are not on the fediverse: Web Push and e-mail.

- ``models``: the subscriptions and the queue of alerts (tables).
- ``words``: what each change of a callout is called in an alert.
- ``queue``: ``queue_callout_alerts`` and friends, called in the transaction
  of the change, fan out one job per subscription in scope (in SQL).
- ``subscriptions``: subscribing, confirming and unsubscribing.
- ``render``: the text of one alert (never a private address).
- ``push``, ``mail``: one Web Push POST, one e-mail.
- ``sender``: the worker's job: claim due alerts, send them concurrently, retry.
- ``vapid``: the node's VAPID key pair, made once and kept in the database.
"""

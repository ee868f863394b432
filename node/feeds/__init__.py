"""Feeds for calendar apps and feed readers: iCalendar (RFC 5545) in ``ical``,
Atom (RFC 4287) in ``atom``. Both are pure: entries in, bytes out."""

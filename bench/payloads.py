"""Test keys, realistic activities (about 2.3 KB, shaped as Mastodon and
Mobilizon send them) and pre-signed inbox requests for wrk to replay."""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bench import sigcheck
from bench.remote import key_index

AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
MASTODON_CONTEXT: list[Any] = [
    "https://www.w3.org/ns/activitystreams",
    {
        "ostatus": "http://ostatus.org#",
        "atomUri": "ostatus:atomUri",
        "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
        "conversation": "ostatus:conversation",
        "sensitive": "as:sensitive",
        "toot": "http://joinmastodon.org/ns#",
        "votersCount": "toot:votersCount",
        "Hashtag": "as:Hashtag",
    },
]
MOBILIZON_CONTEXT: list[Any] = [
    "https://www.w3.org/ns/activitystreams",
    "https://litepub.social/litepub/context.jsonld",
    {
        "mz": "https://joinmobilizon.org/ns#",
        "sc": "http://schema.org#",
        "PostalAddress": "sc:PostalAddress",
        "address": {"@id": "sc:address", "@type": "sc:PostalAddress"},
        "addressCountry": "sc:addressCountry",
        "addressLocality": "sc:addressLocality",
        "postalCode": "sc:postalCode",
        "streetAddress": "sc:streetAddress",
        "timezone": {"@id": "mz:timezone", "@type": "sc:Text"},
        "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
    },
]
TEXT = (
    "The tenants of Elm Court meet on Thursday to plan the next step against the rent "
    "rise: bring your letters from the landlord, your questions, and a neighbour. "
    "Childcare and food provided; the hall has step-free access. "
)


# -- keys -----------------------------------------------------------------------------------


def _new_key(_: int) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    return private, public


def make_keys(count: int, path: Path) -> Path:
    """``count`` RSA-2048 key pairs, shared by the remote accounts (see ``key_index``)."""
    with ProcessPoolExecutor(max_workers=2) as pool:
        pairs = list(pool.map(_new_key, range(count)))
    path.write_text(json.dumps({"private": [p for p, _ in pairs], "public": [q for _, q in pairs]}))
    return path


# -- activities -------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_note(base: str, name: str, serial: int, node_actor: str) -> dict[str, Any]:
    actor = f"{base}/users/{name}"
    note_id = f"{actor}/statuses/{serial}"
    now = iso(datetime.now(UTC))
    content = (
        f'<p>{TEXT}<a href="{base}/tags/housing" class="mention hashtag" rel="tag">'
        f'#<span>housing</span></a> <a href="https://example.org/elm-court/{serial}" '
        f'rel="nofollow noopener" target="_blank">example.org/elm-court/{serial}</a></p>'
    )
    return {
        "@context": MASTODON_CONTEXT,
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": actor,
        "published": now,
        "to": [AS_PUBLIC],
        "cc": [f"{actor}/followers", node_actor],
        "object": {
            "id": note_id,
            "type": "Note",
            "summary": None,
            "inReplyTo": None,
            "published": now,
            "url": f"{base}/@{name}/{serial}",
            "attributedTo": actor,
            "to": [AS_PUBLIC],
            "cc": [f"{actor}/followers", node_actor],
            "sensitive": False,
            "atomUri": note_id,
            "inReplyToAtomUri": None,
            "conversation": f"tag:{base.split('//')[1]},2026:objectId={serial}",
            "content": content,
            "contentMap": {"en": content},
            "attachment": [],
            "tag": [{"type": "Hashtag", "href": f"{base}/tags/housing", "name": "#housing"}],
            "replies": {
                "id": f"{note_id}/replies",
                "type": "Collection",
                "first": {"type": "CollectionPage",
                          "next": f"{note_id}/replies?only_other_accounts=true&page=true",
                          "partOf": f"{note_id}/replies", "items": []},
            },
        },
    }


def create_event(base: str, name: str, serial: int, node_actor: str) -> dict[str, Any]:
    actor = f"{base}/users/{name}"
    event_id = f"{base}/events/{name}-{serial}"
    start = datetime.now(UTC) + timedelta(days=1 + serial % 300, hours=serial % 12)
    now = iso(datetime.now(UTC))
    content = f"<p>{TEXT}</p><p>{TEXT[:200]}</p>"
    return {
        "@context": MOBILIZON_CONTEXT,
        "id": f"{event_id}/activity",
        "type": "Create",
        "actor": actor,
        "published": now,
        "to": [AS_PUBLIC],
        "cc": [f"{actor}/followers", node_actor],
        "object": {
            "id": event_id,
            "type": "Event",
            "name": f"Elm Court tenants' meeting #{serial}",
            "attributedTo": actor,
            "to": [AS_PUBLIC],
            "cc": [f"{actor}/followers"],
            "content": content,
            "mediaType": "text/html",
            "startTime": iso(start),
            "endTime": iso(start + timedelta(hours=2)),
            "timezone": "Europe/London",
            "published": now,
            "updated": now,
            "url": f"{base}/events/{name}-{serial}",
            "category": "MEETING",
            "joinMode": "free",
            "commentsEnabled": True,
            "anonymousParticipationEnabled": False,
            "ical:status": "CONFIRMED",
            "location": {
                "type": "Place",
                "name": "Elm Court community hall",
                "address": {
                    "type": "PostalAddress",
                    "streetAddress": "12 Elm Court Road",
                    "postalCode": "N15 4QS",
                    "addressLocality": "London",
                    "addressCountry": "United Kingdom",
                },
                "latitude": 51.5882,
                "longitude": -0.0717,
            },
            "tag": [
                {"type": "Hashtag", "href": f"{base}/tags/housing", "name": "#housing"},
                {"type": "Hashtag", "href": f"{base}/tags/tenants", "name": "#tenants"},
            ],
            "attachment": [{"type": "Link", "mediaType": "text/html",
                            "href": f"https://meet.example.org/elm-court-{serial}",
                            "name": "Join online"}],
        },
    }


def vote(base: str, name: str, serial: int, node_actor: str, callout_uri: str,
         option: str) -> dict[str, Any]:
    """A Mastodon poll answer: Create{Note} whose ``name`` is the option chosen."""
    actor = f"{base}/users/{name}"
    note_id = f"{actor}#votes/{serial}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": actor,
        "published": iso(datetime.now(UTC)),
        "to": node_actor,
        "object": {
            "id": note_id,
            "type": "Note",
            "name": option,
            "attributedTo": actor,
            "to": node_actor,
            "inReplyTo": callout_uri,
        },
    }


# -- pre-signed requests -------------------------------------------------------------------------

_PRIVATE: list[rsa.RSAPrivateKey] = []


def _load_keys(path: str) -> None:
    _PRIVATE.clear()
    _PRIVATE.extend(
        sigcheck.load_private(pem) for pem in json.loads(Path(path).read_text())["private"]
    )


Job = tuple[str, str, str, str, str, tuple[Any, ...]]
"""(remote authority, account name, node host, inbox path, kind, arguments of the kind)."""

KINDS = {"note": create_note, "event": create_event, "vote": vote}


def _raw_request(job: Job) -> bytes:
    """One complete HTTP/1.1 POST of a fresh activity, signed by the account that sends it."""
    remote_authority, name, node_host, path, kind, args = job
    body = body_of(KINDS[kind](f"http://{remote_authority}", name, *args))
    key = _PRIVATE[key_index(remote_authority, name, len(_PRIVATE))]
    key_id = f"http://{remote_authority}/users/{name}#main-key"
    headers = sigcheck.sign_post(node_host, path, body, key, key_id)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {headers['host']}\r\nDate: {headers['date']}\r\n"
        f"Digest: {headers['digest']}\r\nContent-Type: {headers['content-type']}\r\n"
        f"Signature: {headers['signature']}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def presign(jobs: Iterable[Job], keys_file: Path, out_dir: Path, shards: int) -> int:
    """Make and sign every activity (on both cores) and write ``shard1.req`` … for
    ``replay.lua``. Jobs are dealt round-robin, so every shard sees the same mix."""
    jobs = list(jobs)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [open(out_dir / f"shard{i + 1}.req", "wb") for i in range(shards)]  # noqa: SIM115
    try:
        with ProcessPoolExecutor(max_workers=2, initializer=_load_keys,
                                 initargs=(str(keys_file),)) as pool:
            for i, request in enumerate(pool.map(_raw_request, jobs, chunksize=500)):
                handle = files[i % shards]
                handle.write(f"{len(request)}\n".encode())
                handle.write(request)
    finally:
        for handle in files:
            handle.close()
    return len(jobs)


def body_of(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()

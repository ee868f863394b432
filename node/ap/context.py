"""The JSON-LD context of everything Tocsin publishes.

Only the two well-known context URLs plus an inline term map: a processor
never has to fetch anything else (Fedify and Misskey may refuse to). Every
property we publish beyond ActivityStreams is defined inline here, with the
IRIs other servers already use for it: Mastodon's ``toot:`` and ``schema:``
(``http://schema.org#``, as Mastodon and Mobilizon map it), FEP-8a8e's event
terms, iCalendar's ``status`` and Mobilizon's ``category``.

Callouts have no prior art, so their structured fields live in Tocsin's own
namespace, ``tocsin:`` = ``https://w3id.org/tocsin#``. They sit on a
``Question`` (a Mastodon poll) beside the text that carries the same facts for
people:

===================  ===========================  ===================================
term                 IRI                          value
===================  ===========================  ===================================
``urgency``          ``tocsin:urgency``           ``"urgent"``, ``"soon"`` or
                                                  ``"ongoing"``
``needed``           ``tocsin:needed``            plain text: what is needed
``peopleNeeded``     ``tocsin:peopleNeeded``      xsd:integer: how many people
                                                  (absent when not counted)
``peopleConfirmed``  ``tocsin:peopleConfirmed``   xsd:integer: responders confirmed
``calloutStatus``    ``tocsin:calloutStatus``     ``"unverified"`` (being checked),
                                                  ``"open"`` (go), ``"enough"``,
                                                  ``"met"`` (all clear),
                                                  ``"false-alarm"`` or ``"cancelled"``;
                                                  an unknown value reads as open
``contact``          ``tocsin:contact``           plain text: who to contact and how
===================  ===========================  ===================================

The Group actor may link its published block list (``blockList``, an
``OrderedCollection`` of ``DomainBlock`` items with ``domain``, ``severity``
and ``publicReason``: ``node.ap.blocklist``). Moving to a new domain uses the
terms Mastodon uses for accounts, ``alsoKnownAs`` and ``movedTo``
(``as:`` terms outside the published ActivityStreams context, as Mastodon
defines them).

A receiver recognises a Tocsin callout by a ``Question`` whose context defines
``tocsin`` as that IRI and which carries ``urgency``
(``node.ap.remote_callouts.is_tocsin_callout``).
"""

from __future__ import annotations

from typing import Any

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
FEP_8A8E = "https://w3id.org/fep/8a8e/"
TOCSIN_NS = "https://w3id.org/tocsin#"
ICAL_NS = "http://www.w3.org/2002/12/cal/ical#"
_XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
_XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"

TERMS: dict[str, Any] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "toot": "http://joinmastodon.org/ns#",
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "votersCount": "toot:votersCount",
    "Hashtag": "as:Hashtag",
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "category": "schema:category",
    "address": "schema:address",
    "PostalAddress": "schema:PostalAddress",
    "streetAddress": "schema:streetAddress",
    "postalCode": "schema:postalCode",
    "addressLocality": "schema:addressLocality",
    "addressRegion": "schema:addressRegion",
    "addressCountry": "schema:addressCountry",
    "VirtualLocation": "schema:VirtualLocation",
    "fep8a8e": FEP_8A8E,
    "timezone": "fep8a8e:timezone",
    "eventStatus": {"@id": "fep8a8e:eventStatus", "@type": "@vocab"},
    "joinMode": "fep8a8e:joinMode",
    "organizers": "fep8a8e:organizers",
    "displayEndTime": {"@id": "fep8a8e:displayEndTime", "@type": _XSD_BOOLEAN},
    "ical": ICAL_NS,
    "tocsin": TOCSIN_NS,
    "urgency": "tocsin:urgency",
    "needed": "tocsin:needed",
    "peopleNeeded": {"@id": "tocsin:peopleNeeded", "@type": _XSD_INTEGER},
    "calloutStatus": "tocsin:calloutStatus",
    "peopleConfirmed": {"@id": "tocsin:peopleConfirmed", "@type": _XSD_INTEGER},
    "contact": "tocsin:contact",
    "blockList": {"@id": "tocsin:blockList", "@type": "@id"},
    "DomainBlock": "tocsin:DomainBlock",
    "domain": "tocsin:domain",
    "severity": "tocsin:severity",
    "publicReason": "tocsin:publicReason",
    "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
}

CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT, TERMS]


def document(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the context first, as a top-level document."""
    return {"@context": CONTEXT, **body}

"""One error tree for the protocol layer.

    FederationError            (status 400, generic)
    ├── MalformedError         400  the payload is not usable JSON / AS2
    │   └── TooLargeError      413  body over the limit
    ├── SignatureError         401  missing, malformed or invalid HTTP signature
    │   └── KeyUnavailableError 401 the signer's key could not be fetched
    ├── ForbiddenError         403  blocked domain, origin mismatch
    ├── UnsupportedMediaTypeError  415  a body in a content type we do not read
    └── FetchError             502  a remote fetch failed
        └── UnsafeTargetError  refused before connecting (SSRF guard, bad scheme)

Each error carries ``public_message``: safe to show to the remote party.
The exception's own ``str()`` may hold detail meant only for logs.
"""

from __future__ import annotations


class FederationError(Exception):
    status_code: int = 400
    default_message: str = "bad request"

    def __init__(self, detail: str = "", *, public_message: str | None = None) -> None:
        super().__init__(detail or self.default_message)
        self.public_message = public_message or detail or self.default_message


class MalformedError(FederationError):
    default_message = "malformed activity"


class TooLargeError(MalformedError):
    status_code = 413
    default_message = "payload too large"


class SignatureError(FederationError):
    status_code = 401
    default_message = "invalid or missing HTTP signature"


class KeyUnavailableError(SignatureError):
    """The signing key could not be had (its server failed, or failed a moment ago)."""

    default_message = "could not fetch the signing key"


class ForbiddenError(FederationError):
    status_code = 403
    default_message = "forbidden"


class UnsupportedMediaTypeError(FederationError):
    status_code = 415
    default_message = "unsupported content type"


class FetchError(FederationError):
    status_code = 502
    default_message = "could not fetch the remote resource"


class TransientFetchError(FetchError):
    """The fetch may work if tried again later: a timeout, a broken connection,
    HTTP 429 or 5xx. Work that needs the document should be retried, not dropped."""

    default_message = "the remote server could not answer now"


class UnsafeTargetError(FetchError):
    default_message = "refusing to contact a non-public address"

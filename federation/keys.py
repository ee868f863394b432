"""RSA key pairs for actors, as SPKI/PKCS#8 PEM text."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from federation.errors import SignatureError


@dataclass(frozen=True)
class KeyPairPem:
    private_pem: str
    public_pem: str


def generate_key_pair(bits: int = 2048) -> KeyPairPem:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return KeyPairPem(private_pem=private_pem, public_pem=public_pem_of(key))


def public_pem_of(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("only RSA private keys are supported")
    return key


def load_own_private_key(pem: str) -> rsa.RSAPrivateKey:
    """A private key this node made (:func:`generate_key_pair`) and keeps in its
    own database, loaded for signing deliveries.

    cryptography's full check of an RSA private key (``RSA_check_key``: that
    ``p`` and ``q`` are prime, and every derived value) costs 30 to 70 ms per
    2048-bit key on a small machine, paid by the first delivery of each actor
    after a start: a tenth of a whole fan-out of 1,000 (bench/README.md, issue
    18 part 5). For a key we generated, the primality proof tells nothing new.
    What a damaged key could do is still caught: OpenSSL checks each CRT
    signature and recomputes a wrong one before it leaves (so a bad CRT value
    cannot give the key away), and a key whose signatures would not verify
    under its public half is refused here (``ValueError``) by signing one
    message and verifying it, in about a millisecond.
    """
    key = serialization.load_pem_private_key(
        pem.encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("only RSA private keys are supported")
    probe = b"tocsin key self-test"
    try:
        key.public_key().verify(
            key.sign(probe, padding.PKCS1v15(), hashes.SHA256()),
            probe,
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, ValueError) as exc:
        raise ValueError("the private key does not verify its own signature") from exc
    return key


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """Parse a remote actor's ``publicKeyPem`` (SPKI, or PKCS#1 as some servers send)."""
    data = pem.strip().encode("ascii", "replace")
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SignatureError("unreadable public key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("only RSA keys are supported")
    return key

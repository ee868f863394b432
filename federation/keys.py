"""RSA key pairs for actors, as SPKI/PKCS#8 PEM text."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

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

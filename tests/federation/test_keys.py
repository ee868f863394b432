"""Loading our own private keys for signing: fast, and a damaged key is refused."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from federation.keys import load_own_private_key, load_private_key
from tests.support.keys import pooled_key_pair


def _pem(numbers: rsa.RSAPrivateNumbers) -> str:
    key = numbers.private_key(unsafe_skip_rsa_key_validation=True)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def test_own_key_signs_what_its_public_half_verifies() -> None:
    pair = pooled_key_pair(0)
    key = load_own_private_key(pair.private_pem)
    public = serialization.load_pem_public_key(pair.public_pem.encode("ascii"))
    assert isinstance(public, rsa.RSAPublicKey)
    signature = key.sign(b"a delivery", padding.PKCS1v15(), hashes.SHA256())
    public.verify(signature, b"a delivery", padding.PKCS1v15(), hashes.SHA256())


def test_a_key_whose_signatures_do_not_verify_is_refused() -> None:
    numbers = load_private_key(pooled_key_pair(0).private_pem).private_numbers()
    damaged = rsa.RSAPrivateNumbers(
        numbers.p,
        numbers.q,
        numbers.d + 2,
        numbers.dmp1 + 2,
        numbers.dmq1,
        numbers.iqmp,
        numbers.public_numbers,
    )
    with pytest.raises(ValueError, match="does not verify"):
        load_own_private_key(_pem(damaged))


def test_a_key_that_is_not_rsa_is_refused() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode("ascii")
    )
    with pytest.raises(TypeError):
        load_own_private_key(pem)

"""Authenticated encryption of answer keys (AES-256-GCM) under a secret only generator and grader hold.

The nonce is derived from the plaintext and the scenario id (SIV-style), so sealing is deterministic:
the same scenario always yields byte-identical sealed keys, which keeps scenarios byte-identical
across processes. Reusing a nonce is only unsafe for *different* plaintexts, which this rules out.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mlopsdebug_common.answer_key import AnswerKey, SealedKey
from mlopsdebug_common.errors import InvalidAnswerKey

MIN_SECRET_BYTES = 16


class SealError(InvalidAnswerKey):
    """A sealed key is tampered with, was sealed under another secret, or belongs to another scenario."""


class Sealer:
    """Seals and opens answer keys. Built from the shared secret; keeps only derived keys."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the answer-key secret must be at least {MIN_SECRET_BYTES} bytes")
        self._enc_key = hmac.digest(secret, b"mlopsdebug/answer-key/enc/v1", "sha256")
        self._nonce_key = hmac.digest(secret, b"mlopsdebug/answer-key/nonce/v1", "sha256")
        self._aead = AESGCM(self._enc_key)
        self.key_id = hashlib.sha256(b"mlopsdebug/key-id/v1" + secret).hexdigest()[:16]

    def seal(self, key: AnswerKey) -> SealedKey:
        plaintext = key.to_bytes()
        aad = key.scenario_id.encode()
        nonce = hmac.digest(self._nonce_key, aad + b"\x00" + plaintext, "sha256")[:12]
        return SealedKey(self.key_id, nonce, self._aead.encrypt(nonce, plaintext, aad), key.scenario_id)

    def open(self, sealed: SealedKey) -> AnswerKey:
        if sealed.key_id != self.key_id:
            raise SealError("the answer key was sealed under a different secret")
        if len(sealed.nonce) != 12:
            raise SealError("the answer key's nonce is malformed")
        try:
            plaintext = self._aead.decrypt(sealed.nonce, sealed.ciphertext, sealed.scenario_id.encode())
        except InvalidTag as exc:
            raise SealError("the answer key failed authentication (tampered or foreign)") from exc
        key = AnswerKey.from_bytes(plaintext)
        if key.scenario_id != sealed.scenario_id:
            raise SealError("the answer key belongs to another scenario")
        return key

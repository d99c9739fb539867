"""Encryption at rest of channels' Apprise URLs (they hold tokens and passwords).

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`, already a dependency) through
MultiFernet: the first key of VIGIL_CHANNEL_KEYS encrypts, every key decrypts, so a key
is rotated by putting a new one first and re-saving (or `flask vigil rotate-channel-keys`).

Guarantees: a plaintext URL is never stored, logged or put in an exception message; a
missing key or a ciphertext no key opens raises ChannelKeyError with a message that
names the setting, not the URL.
"""
from __future__ import annotations

from cryptography.fernet import InvalidToken, MultiFernet, Fernet
from flask import current_app


class ChannelKeyError(RuntimeError):
    """Channels cannot be read or written with the keys configured; the message is for people."""


def _keys() -> MultiFernet:
    keys = current_app.config.get("VIGIL_CHANNEL_KEYS")
    if not keys:
        raise ChannelKeyError("VIGIL_CHANNEL_KEYS is not set: channels cannot be saved or used")
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(url: str) -> str:
    return _keys().encrypt(url.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _keys().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ChannelKeyError("no key in VIGIL_CHANNEL_KEYS opens this channel's URL "
                              "(was the key changed without keeping the old one?)") from None


def reencrypt(ciphertext: str) -> str:
    """The same URL under the first key (key rotation)."""
    try:
        return _keys().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise ChannelKeyError("no key in VIGIL_CHANNEL_KEYS opens this channel's URL") from None

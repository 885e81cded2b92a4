"""Secrets the server hands out (API keys, session tokens, CSRF tokens) and how they are stored.

Keys and tokens are 32 random bytes, so SHA-256 of them is safe to store and cheap to look up on
every request; passwords are chosen by people, so they get argon2id (argon2-cffi defaults).
"""
from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

KEY_PREFIX = "rtcc_"
_hasher = PasswordHasher()


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if not stored:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def generated_password() -> str:
    """A password for an account nobody chose one for (printed once)."""
    return secrets.token_urlsafe(15)

"""Password hashing with scrypt (hashlib, no extra dependency).

scrypt is memory-hard: each guess costs 32 MiB and tens of milliseconds, so a stolen user
database cannot be brute-forced cheaply. The parameters are stored in each hash, so they
can be raised later without invalidating existing users.

    scrypt$<log2 n>$<r>$<p>$<salt, base64>$<hash, base64>
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import cache

LOG2_N = 15  # n = 32768: 32 MiB per hash with r = 8
R = 8
P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MAX_MEMORY = 128 * 1024 * 1024


def _derive(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=2**log2_n, r=r, p=p, maxmem=MAX_MEMORY, dklen=KEY_BYTES
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    salt = os.urandom(SALT_BYTES)
    key = _derive(password, salt, LOG2_N, R, P)
    return f"scrypt${LOG2_N}${R}${P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time comparison; a malformed hash never matches."""
    try:
        scheme, log2_n, r, p, salt, key = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        derived = _derive(password, base64.b64decode(salt), int(log2_n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(derived, expected)


@cache
def dummy_hash() -> str:
    """Verified against when the user does not exist, so an unknown name costs the same time."""
    return hash_password(os.urandom(16).hex())

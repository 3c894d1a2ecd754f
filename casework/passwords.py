"""Officers' password hashes: argon2id for every new hash; older (werkzeug pbkdf2/scrypt) hashes still verify
and are replaced with argon2 on the next good login (`needs_upgrade`)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

_hasher = PasswordHasher()
ARGON2_PREFIX = "$argon2"


def hash_password(password: str) -> str:
    """An argon2id hash of `password` with the library's current parameters."""
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash, whatever scheme wrote it."""
    if not stored or not password:
        return False
    if stored.startswith(ARGON2_PREFIX):
        try:
            return _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    try:
        return check_password_hash(stored, password)
    except ValueError:  # not a hash werkzeug knows either
        return False


def needs_upgrade(stored: str | None) -> bool:
    """Whether a hash that just verified should be rewritten (another scheme, or older argon2 parameters)."""
    if not stored or not stored.startswith(ARGON2_PREFIX):
        return True
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True

"""WeChat's message signature: SHA-1 over the sorted parts (token, timestamp, nonce[, ciphertext]) joined."""

import hashlib


def sign(*parts: str) -> str:
    """WeChat's signature of `parts`, as a hex digest."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()

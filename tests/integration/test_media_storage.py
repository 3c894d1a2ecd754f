import hashlib
import io

import pytest

from media.storage import LocalStorage, StorageError, TooLarge


def test_save_streams_hashes_and_reads_back(tmp_path):
    store = LocalStorage(tmp_path)
    body = b"evidence" * 50_000
    stored = store.save(io.BytesIO(body), suffix="mp4")
    assert stored.sha256 == hashlib.sha256(body).hexdigest()
    assert stored.size == len(body)
    assert stored.key.endswith(".mp4")
    assert store.exists(stored.key)
    with store.open(stored.key) as handle:
        assert handle.read() == body
    assert not [p for p in tmp_path.rglob(".partial-*")]


def test_save_accepts_chunk_iterables_and_never_reuses_a_key(tmp_path):
    store = LocalStorage(tmp_path)
    first = store.save(iter([b"a", b"", b"b"]))
    second = store.save(iter([b"a", b"b"]))
    assert first.key != second.key
    assert first.sha256 == second.sha256 == hashlib.sha256(b"ab").hexdigest()


def test_too_large_keeps_nothing(tmp_path):
    store = LocalStorage(tmp_path)
    with pytest.raises(TooLarge):
        store.save(io.BytesIO(b"x" * 1000), max_bytes=999)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


@pytest.mark.parametrize("key", ["../etc/passwd", "ab/../../x", "/abs/x", "ab/.partial-1", "x", "a/b/c"])
def test_hostile_keys_are_refused(tmp_path, key):
    store = LocalStorage(tmp_path)
    assert not store.exists(key)
    with pytest.raises(StorageError):
        store.open(key)


def test_suffix_is_sanitised(tmp_path):
    stored = LocalStorage(tmp_path).save(io.BytesIO(b"x"), suffix="../../sh")
    assert "/" not in stored.key.split("/", 1)[1]

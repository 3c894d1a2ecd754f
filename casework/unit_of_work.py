"""One use case, one transaction: the outermost use case commits once; a use case called inside another joins it.

Services are decorated with `@use_case`. Called from a channel they are the outer boundary and commit before
they return (so the channel may then tell the citizen "received"); called from another service, or inside a
channel's own `with transaction():` block, they join it and the outer boundary commits everything together, or
nothing. Services never call `db.session.commit()` themselves.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

from casework.db import db

P = ParamSpec("P")
T = TypeVar("T")

_DEPTH = "wx110.uow_depth"


def active() -> bool:
    """Whether a use case is running in this session (a service called now joins it)."""
    return db.session.info.get(_DEPTH, 0) > 0


@contextmanager
def transaction() -> Iterator[None]:
    """The boundary of one use case: commit on success and roll back on any error, unless an outer one is open."""
    session = db.session
    depth = session.info.get(_DEPTH, 0)
    session.info[_DEPTH] = depth + 1
    try:
        yield
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    else:
        if depth == 0:
            try:
                session.commit()
            except Exception:
                session.rollback()  # a failed flush or commit leaves the session needing it
                raise
            # Anything else raised from inside commit() (a process dying in an after-commit hook) propagates as it
            # is: the transaction may already be durable, and there is nothing left to roll back.
    finally:
        session.info[_DEPTH] = depth


def use_case(func: Callable[P, T]) -> Callable[P, T]:
    """Run `func` as one transaction (or inside the caller's)."""

    @wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with transaction():
            return func(*args, **kwargs)

    return run

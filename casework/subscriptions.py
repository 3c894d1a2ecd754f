"""Which jobs an app runs: the jobs by name, the events each one is subscribed to, and the periodic sweeps.

There is one registry per app (tests build many apps side by side), filled explicitly by each package's
`init_app` through `casework.events`; nothing registers itself on import. The outbox consults it to schedule,
queue and run jobs, and the in-process timer and the rq scheduler to run the sweeps.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app

EXTENSION = "wx110.subscriptions"


class DuplicateRegistration(RuntimeError):
    """The same job or sweep name was registered twice for one app (a wiring mistake, found at start-up)."""


@dataclass(frozen=True)
class Job:
    """Work the outbox runs by name: `func(**payload)` on `queue`, for each event in `events` and when added."""

    name: str
    func: Callable
    queue: str = "default"
    events: tuple[str, ...] = ()
    # A use case that joins its caller's transaction and does nothing else (no commit or rollback of its own, no
    # slow I/O): a worker may run several such messages in one transaction (`casework.outbox.execute_together`).
    joins: bool = False


@dataclass(frozen=True)
class Sweep:
    """A periodic job: `func(now=...)` every `interval` seconds, handed the moment it runs for."""

    name: str
    func: Callable
    interval: int


class Subscriptions:
    """One app's jobs and sweeps."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.sweeps: dict[str, Sweep] = {}

    def add_job(self, job: Job) -> Job:
        if job.name in self.jobs:
            raise DuplicateRegistration(f"job {job.name!r} is registered twice")
        self.jobs[job.name] = job
        return job

    def add_sweep(self, sweep: Sweep) -> Sweep:
        if sweep.name in self.sweeps:
            raise DuplicateRegistration(f"periodic job {sweep.name!r} is registered twice")
        if sweep.interval <= 0:
            raise ValueError(f"periodic job {sweep.name!r} needs a positive interval")
        self.sweeps[sweep.name] = sweep
        return sweep

    def subscribers(self, event: str) -> list[Job]:
        """The jobs subscribed to `event`, in registration order."""
        return [job for job in self.jobs.values() if event in job.events]


def of(app: Flask | None = None) -> Subscriptions:
    """The registry of `app` (the current app by default)."""
    extensions = (app or current_app).extensions
    registry = extensions.get(EXTENSION)
    if registry is None:
        registry = extensions[EXTENSION] = Subscriptions()
    return registry

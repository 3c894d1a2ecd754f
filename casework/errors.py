"""Domain errors; `server.errors` maps each to an HTTP status in one place.

Every message is Chinese because it may be shown to a citizen or an officer as it is.
"""


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, **detail):
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidInput(DomainError):
    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class IllegalTransition(DomainError):
    code = "illegal_transition"


class Conflict(DomainError):
    code = "conflict"

"""The work-order store's errors: each becomes one HTTP status in the API (workorder/api/app.py)."""

from __future__ import annotations


class NotFound(Exception):
    pass


class Conflict(Exception):
    def __init__(self, reason: str, message: str):
        self.reason, self.message = reason, message
        super().__init__(f"{reason}: {message}")


class Invalid(Exception):
    """Input that passed the schema but not the store's rules (422)."""

    def __init__(self, field_name: str, message: str):
        self.field, self.message = field_name, message
        super().__init__(f"{field_name}: {message}")


class Forbidden(Exception):
    pass

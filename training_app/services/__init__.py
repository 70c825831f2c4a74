"""The domain's operations, callable without a request. Views call these, then commit."""


class ServiceError(Exception):
    """A rule refused the operation. `message` is French and shown to the user as it is;
    `field` names the form field it belongs to, when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

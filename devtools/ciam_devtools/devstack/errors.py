class DevStackError(RuntimeError):
    """A local server could not start. The message says what is wrong and how to fix it."""

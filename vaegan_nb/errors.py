"""Errors that are the user's to fix: the CLI prints them as one line, without a traceback."""


class UserError(Exception):
    """A mistake in input, config or environment that the user can fix; the message says how."""


class DataError(UserError):
    """Unusable footage: a bad folder, video or frame size."""


class ConfigError(UserError):
    """A config value or key that cannot work; the message names the field."""


class CheckpointError(UserError):
    """A checkpoint that is missing, corrupt, unsafe or from another architecture."""


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss or parameter; the run record says at which step."""

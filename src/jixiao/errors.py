"""Specific, actionable errors. Each message names the file and says what to do next."""


class JixiaoError(Exception):
    """Base class: the CLI prints these as one line, in Chinese and English."""


class InputError(JixiaoError):
    """A file cannot be read as text: missing, empty, binary or undecodable."""


class SegmentationError(JixiaoError):
    """A document holds no recognisable form."""


class BackendUnavailable(JixiaoError):
    """The requested back-end is unknown or not configured."""


class ExtractionFailed(JixiaoError):
    """A back-end could not produce a record for a form. `usage` is what the attempts cost."""

    def __init__(self, message: str, usage=None):
        super().__init__(message)
        self.usage = usage


class ConfigError(JixiaoError):
    """Settings are missing or inconsistent."""

"""Domain errors, one place. AWS ClientError codes are translated here, not at call sites."""

from __future__ import annotations

from botocore.exceptions import ClientError


class EcompipeError(Exception):
    """Base of every error this package raises on purpose."""


class SettingsError(EcompipeError):
    """An ECOMPIPE_* variable holds a value that cannot be used."""


class ObjectMissing(EcompipeError):
    """An S3 object the pipeline needs is not there."""


class ManifestError(EcompipeError):
    """A batch manifest is missing or does not describe a batch."""


class LayoutError(EcompipeError):
    """A batch id or file name that would put a key outside the pipeline's prefixes."""


class EmulatorError(EcompipeError):
    """The embedded emulator could not be started (moto[server] missing, port taken, ...)."""


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ClientError ('NoSuchKey', 'PreconditionFailed', ...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_missing(exc: ClientError) -> bool:
    """True when a ClientError means 'no such key / bucket / resource'."""
    return error_code(exc) in {"NoSuchKey", "404", "NotFound", "NoSuchBucket", "ResourceNotFoundException"}

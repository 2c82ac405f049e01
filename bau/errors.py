"""User-facing errors: the CLI prints them without a traceback and exits with status 2.

Every message names the file, dataset or key at fault and says how to fix it.
"""


class BauError(Exception):
    """Base class of errors caused by input (files, configuration, datasets), not by bugs."""


class ConfigError(BauError):
    """A configuration file or value is invalid."""


class DatasetError(BauError):
    """A dataset folder is missing, incomplete or unreadable."""


class TrainingError(BauError):
    """Training cannot go on (non-finite loss, unreadable image, incompatible checkpoint)."""


class DiskFullError(BauError):
    """A file could not be written for lack of space; the previous version of it is kept."""

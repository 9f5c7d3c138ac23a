"""Errors hfsearch raises on purpose. Each says what went wrong and what to do about it."""

from __future__ import annotations


class HfsearchError(Exception):
    """Base class: the command line prints these as a message, without a traceback."""


class DatabaseNotReadyError(HfsearchError):
    """The database is unreachable, or its schema is missing or out of date."""


class SourceError(HfsearchError):
    """A data source cannot be read at all (unknown format, broken file, bad encoding)."""


class ModelMismatchError(HfsearchError):
    """Vectors do not fit the embedding model they are meant for."""

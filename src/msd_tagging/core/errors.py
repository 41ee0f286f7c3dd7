"""The project's one exception type for problems in the data it is given."""

from __future__ import annotations

from os import PathLike


class MSDDataError(ValueError):
    """Input data is malformed or inconsistent.

    The message names the file (and line) or the ID at fault and says how to fix it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike | None = None,
        line: int | None = None,
        fix: str | None = None,
    ):
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        text = where + message
        if fix:
            text += f" Fix: {fix}"
        super().__init__(text)
        self.path = path
        self.line = line


class ParameterError(ValueError):
    """A parameter in ``conf/<env>/parameters*.yml`` (or ``--params``) has a wrong type or
    value. The message names the parameter by its dotted path and says what it accepts."""

    def __init__(self, name: str, message: str, *, fix: str | None = None):
        text = f"parameter {name}: {message}"
        if fix:
            text += f" Fix: {fix}"
        super().__init__(text)
        self.name = name


def expected_error(exc: BaseException) -> BaseException | None:
    """The error a user can fix behind ``exc`` (Kedro wraps a dataset's in its own):
    a :class:`MSDDataError`, a :class:`ParameterError`, Kedro's check of the typed
    parameters (which carries our :class:`ParameterError` messages as text) or a YAML
    error in a conf file; ``None`` when there is none, which is a bug to show with its
    traceback."""
    import yaml

    try:
        from kedro.validation import ParameterValidationError
    except ImportError:  # a Kedro before typed parameters
        ParameterValidationError = ParameterError  # noqa: N806
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (MSDDataError, ParameterError, ParameterValidationError, yaml.YAMLError)):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None

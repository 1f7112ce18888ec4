"""Open the text files people hand to commands, and say in one line what is wrong with one.

Encodings: a byte-order mark is trusted (UTF-8, UTF-16, UTF-32); without one the file must
be UTF-8 unless the caller names another encoding (``--encoding cp1252``). Legacy encodings
are never guessed: every byte sequence is valid Latin-1, so a guess would turn a binary file
or a typo into rows of garbage instead of an error.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import IO

__all__ = ["InputFileError", "choose_encoding", "open_text", "shorten"]

#: Longest value echoed back in an error: a 1 MB id must not make a 1 MB answer.
MAX_ECHOED = 80
# Longest marks first: the UTF-32 LE mark starts with the UTF-16 LE one.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WIDE = ("utf-16", "utf-32")
_BLOCK = 1 << 20
_LEGACY_HINT = "if it is Windows or Latin-1 text, pass --encoding cp1252 (or latin-1)"


class InputFileError(ValueError):
    """A file cannot be read as the text a command expects; ``str()`` is one line."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.line = line
        super().__init__(self.path, reason, line)

    def __str__(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


def shorten(value: object, limit: int = MAX_ECHOED) -> str:
    """``value`` as text, cut to ``limit`` characters with an ellipsis and its full length."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def choose_encoding(path: Path, encoding: str | None = None) -> str:
    """The encoding to read ``path`` with: the caller's, else its byte-order mark's, else UTF-8.

    Raises:
        InputFileError: ``encoding`` is not a known codec.
    """
    if encoding is not None:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise InputFileError(path, f"unknown encoding {shorten(encoding)!r}") from None
        # A UTF-8 mark would otherwise end up in the first column's name.
        return "utf-8-sig" if name == "utf-8" else name
    with path.open("rb") as handle:
        start = handle.read(4)
    return next((name for mark, name in _BYTE_ORDER_MARKS if start.startswith(mark)), "utf-8")


def open_text(path: Path | str, encoding: str | None = None, newline: str | None = None) -> IO[str]:
    """Open ``path`` for reading after checking that all of it decodes.

    The whole file is decoded once before any of it is used (about a second per GB), so a bad
    byte near the end is reported with its line before a single row has been imported.

    Raises:
        InputFileError: missing, a folder, empty, not text in the encoding, or NUL bytes.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file")
    if not path.is_file():
        raise InputFileError(path, "not a file")
    if path.stat().st_size == 0:
        raise InputFileError(path, "the file is empty")
    chosen = choose_encoding(path, encoding)
    _check_decodes(path, chosen, explicit=encoding is not None)
    return path.open(encoding=chosen, newline=newline)


def _check_decodes(path: Path, encoding: str, *, explicit: bool) -> None:
    """Raise InputFileError at the first line that does not decode or holds a NUL."""
    decoder = codecs.getincrementaldecoder(encoding)()
    newlines = 0
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                # The valid text before the bad byte: a NUL in it (UTF-16 without a mark, a
                # binary file) says more than the bad byte does.
                text = bytes(exc.object[: exc.start]).decode(encoding, errors="replace")
                _check_no_nul(path, text, encoding, newlines)
                line = newlines + text.count("\n") + 1
                raise InputFileError(path, _undecodable(exc, encoding, explicit), line) from None
            _check_no_nul(path, text, encoding, newlines)
            newlines += text.count("\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        reason = f"{_undecodable(exc, encoding, explicit)} (the file ends mid-character)"
        raise InputFileError(path, reason, newlines + 1) from None


def _check_no_nul(path: Path, text: str, encoding: str, newlines: int) -> None:
    """NUL is valid UTF-8 but no CSV, JSON or YAML holds one, while UTF-16 text is full of them."""
    if "\x00" in text and not encoding.startswith(_WIDE):
        line = newlines + text.count("\n", 0, text.index("\x00")) + 1
        reason = (
            "holds NUL bytes: a binary file, or UTF-16 without a byte-order mark "
            "(then pass --encoding utf-16-le)"
        )
        raise InputFileError(path, reason, line)


def _undecodable(error: UnicodeDecodeError, encoding: str, explicit: bool) -> str:
    byte = bytes(error.object[error.start : error.start + 1])
    reason = f"not valid {_display(encoding)} (byte 0x{byte.hex()})"
    if explicit or encoding.startswith(_WIDE):
        return reason
    return f"{reason}; {_LEGACY_HINT}"


def _display(encoding: str) -> str:
    return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "utf-32": "UTF-32"}.get(
        encoding, encoding
    )

"""Text files given to commands: encodings by byte-order mark, one-line reasons, short echoes."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from buying_groups.input_files import InputFileError, choose_encoding, open_text, shorten


@pytest.mark.parametrize(
    ("start", "encoding"),
    [
        (codecs.BOM_UTF8 + b"a", "utf-8-sig"),
        (codecs.BOM_UTF16_LE + b"a\x00", "utf-16"),
        (codecs.BOM_UTF16_BE + b"\x00a", "utf-16"),
        (codecs.BOM_UTF32_LE + b"a\x00\x00\x00", "utf-32"),
        (b"plain", "utf-8"),
    ],
)
def test_the_byte_order_mark_chooses_the_encoding(
    tmp_path: Path, start: bytes, encoding: str
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(start)
    assert choose_encoding(path) == encoding


def test_the_callers_encoding_wins(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"a")
    assert choose_encoding(path, "latin-1") == "iso8859-1"
    assert choose_encoding(path, "UTF8") == "utf-8-sig"


def test_a_bad_byte_deep_in_a_file_is_found_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 400_000 + b"\xff,3\n")
    with pytest.raises(InputFileError) as raised:
        open_text(path)
    assert raised.value.line == 400_002
    assert "byte 0xff" in raised.value.reason


def test_a_file_cut_mid_character_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes("a\nCafé".encode()[:-1])
    with pytest.raises(InputFileError, match=r"line 2: .*ends mid-character"):
        open_text(path)


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not a file"):
        open_text(tmp_path)


def test_shorten_keeps_short_values_and_cuts_long_ones() -> None:
    assert shorten("abc") == "abc"
    assert shorten(12345) == "12345"
    assert shorten("x" * 81) == "x" * 80 + "… (81 characters)"
    assert shorten("y" * 2_000_000, 10) == "y" * 10 + "… (2,000,000 characters)"

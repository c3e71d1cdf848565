"""Text files as people save them, one rule for every file the product reads (CSV batches, JSON
lines sent as events, JSON sales files): UTF-8 with or without its byte order mark, or UTF-16
(a spreadsheet's "Unicode text") told by its mark. Anything else is refused with the reason.
Pure, no I/O."""

from __future__ import annotations

import codecs
import io
from typing import BinaryIO

UTF8_BOM = codecs.BOM_UTF8
_UTF32 = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)  # (checked first: UTF-32 LE begins like UTF-16 LE)
_UTF16 = ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


class Undecodable(ValueError):
    """The bytes are not text in an encoding this product reads; the message says where and why."""


def encoding_of(head: bytes) -> tuple[str, int]:
    """(the codec, how many bytes of mark to skip) for a file beginning with `head`."""
    if head.startswith(_UTF32):
        raise Undecodable("the file is UTF-32, which is not read: save it as UTF-8")
    for mark, codec in _UTF16:
        if head.startswith(mark):
            return codec, len(mark)
    return "utf-8", len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0


def as_utf8(data: bytes, checked: bool = False) -> bytes:
    """The file's bytes as UTF-8 without a mark: a UTF-8 mark dropped, UTF-16 transcoded, UTF-8
    checked (not again when `checked`: bytes this rule took before). Undecodable names the first
    bad byte and its line."""
    codec, skip = encoding_of(data[:4])
    body = data[skip:]
    if checked and codec == "utf-8":
        return body
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as exc:
        line = _line_at(body, exc.start, codec)
        what = "UTF-8" if codec == "utf-8" else "UTF-16"
        raise Undecodable(
            f"invalid {what} byte 0x{body[exc.start]:02x} at byte {exc.start + skip} (line {line})"
        ) from None
    return body if codec == "utf-8" else text.encode("utf-8")


def decode(data: bytes) -> str:
    """The file's text (as_utf8, decoded)."""
    return as_utf8(data).decode("utf-8")


def reader(stream: BinaryIO) -> io.TextIOWrapper:
    """A binary stream read as text by the same rule, line by line (CRLF, CR and LF all end a
    line): what a JSON-lines file saved by an editor on any system holds."""
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[arg-type]
    codec, skip = encoding_of(buffered.peek(4)[:4])
    buffered.read(skip)
    return io.TextIOWrapper(buffered, encoding=codec, newline=None)


def _line_at(body: bytes, at: int, codec: str) -> int:
    if codec == "utf-8":
        return body.count(b"\n", 0, at) + 1
    return body[: at - at % 2].decode(codec, errors="replace").count("\n") + 1

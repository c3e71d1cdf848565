"""gzip-compressed CSV files (`.csv.gz`), as shops and warehouses export them: read like plain CSV
once expanded. The size limit (ECOMPIPE_MAX_FILE_MB) applies to the expanded bytes, and expanding
stops one byte past it, so a small archive cannot grow without bound in a task's memory."""

from __future__ import annotations

import zlib

from validator import reasons
from validator.reading import MalformedFile

SUFFIX = ".gz"
_GZIP = 16 + zlib.MAX_WBITS  # zlib's window bits for a gzip header and trailer


def is_compressed(name: str) -> bool:
    return name.lower().endswith(SUFFIX)


def expand(name: str, data: bytes, max_bytes: int = 0) -> bytes:
    """The bytes a gzip file holds (every member of a multi-member file, as gzip(1) writes them);
    MalformedFile when it is not gzip, ends early, or expands past `max_bytes` (0: no limit)."""
    out = bytearray()
    rest = data
    while True:
        stream = zlib.decompressobj(_GZIP)
        try:
            room = max_bytes - len(out) + 1 if max_bytes else 0
            out += stream.decompress(rest, room)
            if max_bytes and len(out) > max_bytes:
                raise MalformedFile(
                    reasons.FILE_TOO_LARGE,
                    f"{name} expands to more than {max_bytes / 2**20:.1f} MiB, the limit ECOMPIPE_MAX_FILE_MB "
                    "sets on a file's uncompressed bytes; it was not read further",
                )
            out += stream.flush()
        except zlib.error as exc:
            raise MalformedFile(
                reasons.BAD_COMPRESSION, f"{name}: {reasons.DESCRIPTIONS[reasons.BAD_COMPRESSION]} ({exc})"
            ) from None
        if not stream.eof:
            raise MalformedFile(
                reasons.BAD_COMPRESSION, f"{name}: {reasons.DESCRIPTIONS[reasons.BAD_COMPRESSION]} (it ends early)"
            )
        rest = stream.unused_data
        if not rest.strip(b"\0"):  # trailing zero padding, as some writers leave, is not another member
            return bytes(out)

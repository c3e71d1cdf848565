"""Validation: dialect detection, canonical mapping, pandera checks, references, the report."""

import ecompipe  # noqa: F401  (first: it chooses Arrow's allocator before pandas loads pyarrow)

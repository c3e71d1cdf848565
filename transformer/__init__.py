"""Transformation: curated upsert, KPI computation for the affected dates, KPI writes."""

import ecompipe  # noqa: F401  (first: it chooses Arrow's allocator before pandas loads pyarrow)

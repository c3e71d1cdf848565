"""ecompipe: e-commerce CSV batches on S3 -> validated, curated data -> exact KPIs in DynamoDB."""

import os

__version__ = "0.1.0"

# Arrow's allocator, read by Arrow's C++ core when it first allocates (pyarrow.set_memory_pool
# reaches only the Python bindings' calls): the system's malloc. With pyarrow's default, mimalloc,
# validate+transform of 1M order items peaked ~60-90 MiB higher and ran slower (7.6-9.6 s against
# 6.4-8.4 s over alternating runs; docs/benchmarks.md). An explicit setting still decides.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

"""The trigger Lambda: count pending files, hold the S3 lease, start exactly one execution.

Light on purpose: boto3 and the standard library only (no pandas, pyarrow or pandera).
"""

from trigger.handler import handler

__all__ = ["handler"]

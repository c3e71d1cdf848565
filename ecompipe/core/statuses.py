"""The statuses a run has in the ledger (PipelineRuns.status), written once. The state machine sets
SUCCEEDED, REJECTED and FAILED (statemachine/pipeline.asl.json names the same strings)."""

RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
REJECTED = "REJECTED"
FAILED = "FAILED"
RUN_STATUSES = (RUNNING, SUCCEEDED, REJECTED, FAILED)
ENDED = (SUCCEEDED, REJECTED, FAILED)  # a run with one of these holds nothing any more

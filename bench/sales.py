"""The sales-file workflow on moto's engine, in process: one file of N records through the INLINE or
the DISTRIBUTED Map (the split task run by the local task runner), then the events queue consumed
by the real handler. Prints the seconds of each part.

    python bench/sales.py --records 1000 --mode distributed
    python bench/sales.py --records 1000 --mode inline
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--mode", choices=["inline", "distributed"], default="distributed")
    args = ap.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    from moto import mock_aws
    from moto.moto_api import state_manager

    from ecompipe.aws import clients as aws
    from ecompipe.core.settings import Settings
    from ecompipe.local import patches
    from ecompipe.local.runner import LocalTaskRunner
    from ecompipe.local.stack import deploy, deploy_sales
    from ecompipe.local.starter import wait_for
    from tests.support.events import make_world

    patches.apply()
    limit = 0 if args.mode == "distributed" else 10**9
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**9})
        w = make_world(Settings(bucket="ecompipe-bench-sales", sales_inline_max_bytes=limit))
        stack = deploy(w.settings, pipeline=False)
        arn = deploy_sales(w.settings, stack, w.urls["queue_url"], w.urls["sales_dlq_url"])
        records = [
            {"contact-info": {"name": "A", "email": "a@b.co"},
             "order-info": {"OrderId": str(i), "item-id": "1", "item-desc": "x", "qty": "1"}}
            for i in range(args.records)
        ]  # fmt: skip
        w.bucket.put_bytes("incoming/bench.json", json.dumps({"orders": records}).encode())
        sfn = aws.client("stepfunctions", w.settings)
        source = json.dumps({"bucket": w.settings.bucket, "key": "incoming/bench.json"})
        with LocalTaskRunner(w.settings, stack.cluster_arn):
            started = time.perf_counter()
            execution = sfn.start_execution(stateMachineArn=arn, name=f"bench-{uuid.uuid4().hex}", input=source)
            done = wait_for(sfn, execution["executionArn"], 3600)
            workflow = time.perf_counter() - started
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            w.consume()
        consume = time.perf_counter() - started
    print(json.dumps({"records": args.records, "status": done["status"], "mode": args.mode,
                      "workflow_seconds": round(workflow, 1), "consume_seconds": round(consume, 1),
                      "outcomes": w.consumer.tally.to_json()["outcomes"]}))  # fmt: skip


if __name__ == "__main__":
    main()

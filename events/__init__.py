"""The events workload: one SQS consumer (a Lambda with Powertools) that validates each payload,
routes it to its entity's table with exactly one effect, keeps invalid records for inspection and
raises alerts on one SNS topic (docs/events.md). Imports no pandas, like the trigger.

Pure: kinds, names, fields, models, routing, items, alerts, purchase_rows. AWS I/O with injected
clients: store, outbox, resources, queues, stats. Entry points: handler (the Lambda), records (one
batch of records), landing (the scheduled Lambda that writes stored purchases into incoming/ for the
KPIs), poller (plays the event source mapping locally), producer (test traffic), split (the
container command that batches a large JSON sales file for the sales workflow's Distributed Map).
"""

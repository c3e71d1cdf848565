"""Whether a batch's report accounts for every upload a run made: each file processed (its rows
accepted, rejected or held, each with its reason) or rejected whole with its reason. Pure."""

from __future__ import annotations


def unaccounted(report: dict, uploaded: list[str]) -> list[str]:
    """One sentence per uploaded key whose fate the report does not give: left unread (with the
    reason the report records), missing from the report, or with rows read that were neither
    accepted, rejected nor held."""
    files = {f["file"]: f for f in report.get("files", [])}
    skipped = {s["file"]: s["message"] for s in report.get("skipped_files", [])}
    out = []
    for key in uploaded:
        entry = files.get(key)
        if key in skipped:
            out.append(f"{key} was not processed: {skipped[key]}")
        elif entry is None:
            out.append(f"{key} is not in the batch's report")
        elif entry["status"] != "rejected":
            counted = entry["accepted"] + entry["rejected"] + entry["pending"]
            if counted != entry["rows_read"]:
                out.append(f"{key}: {entry['rows_read']} rows read, {counted} of them accepted, rejected or held")
    return out

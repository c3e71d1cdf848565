"""No upload is lost (docs/trigger.md, "Uploads"): in the versioned bucket every upload of a name
is one version, each processed exactly once, in upload order, through the real sweep, batch and
archive on in-process moto. Two uploads of one name before a sweep both count; a correction under
the same name wins; a batch that stops between recording an upload and deleting it never has it
taken again; and over any sequence of uploads, overwrites and sweeps every uploaded row ends
curated, rejected or held, with its reason, and the curated orders are the uploads applied in order."""

from __future__ import annotations

import gzip
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ecompipe.aws.curated import CuratedStore
from ecompipe.aws.manifests import read_manifest
from ecompipe.aws.objects import Bucket
from ecompipe.batch.pipeline import upload
from ecompipe.batch.resources import Resources
from ecompipe.core import layout
from ecompipe.core.settings import Settings
from ecompipe.local.starter import LocalStarter
from tests.conftest import MOTO_CONFIG, NOW
from trigger.sweep import incoming, sweep

pytestmark = pytest.mark.functional
ORDERS = "order_id,user_id,order_date,total_amount,status\n"
PRODUCTS = b"product_id,category,name,price\nP1,Books,A,10.00\n"


def _orders(*rows: tuple[str, str]) -> bytes:
    """Orders (id, status), all of one day."""
    return (ORDERS + "".join(f"{i},U{i},2025-06-01,10.00,{s}\n" for i, s in rows)).encode()


def _put(res: Resources, name: str, data: bytes):
    return res.bucket.put(layout.incoming_key(name), data, "text/csv")


def _sweep_and_run(res: Resources) -> dict | None:
    """One sweep that starts whatever is ready (every threshold 0), and its batch run in process;
    the batch's report, or None when nothing started."""
    eager = replace(res.settings, min_order_files=0, min_item_files=0, min_product_files=0)
    leases = res.leases()
    starter = LocalStarter(res, leases, NOW)
    outcome = sweep(eager, res.bucket, leases, starter, owner="test")
    if not outcome.started:
        return None
    result = starter.run()
    assert result is not None
    return result.report


def _drain(res: Resources) -> list[dict]:
    reports = []
    while (report := _sweep_and_run(res)) is not None:
        reports.append(report)
    return reports


def _curated_orders(res: Resources) -> dict[str, str]:
    """order id -> status, over every curated orders partition."""
    store = CuratedStore(res.bucket)
    frame = store.read_rows("orders", store.dates())
    if frame is None:
        return {}
    return dict(zip(frame["order_id"].astype(str), frame["status"].astype(str), strict=True))


def _nothing_waits(bucket: Bucket) -> bool:
    return bucket.versions(layout.INCOMING) == []


def test_two_uploads_of_one_name_before_a_sweep_both_count(resources: Resources) -> None:
    first = _put(resources, "orders_same.csv", _orders(("A1", "delivered"), ("A2", "shipped")))
    second = _put(resources, "orders_same.csv", _orders(("B1", "delivered")))
    assert first.version_id and second.version_id and first.version_id != second.version_id
    waiting = incoming(resources.bucket)
    assert [(u.key, u.version_id) for u in waiting.ready] == [(first.key, first.version_id)]
    assert [(u.version_id, why) for u, why in waiting.waiting] == [
        (second.version_id, "an earlier upload of this name goes first")
    ]
    reports = _drain(resources)
    assert len(reports) == 2 and [r["totals"]["accepted"] for r in reports] == [2, 1]
    assert _curated_orders(resources) == {"A1": "delivered", "A2": "shipped", "B1": "delivered"}
    assert _nothing_waits(resources.bucket)


def test_the_claim_names_the_upload_it_took(resources: Resources) -> None:
    from ecompipe.aws.claims import Claims

    first = _put(resources, "orders_c.csv", _orders(("C1", "shipped")))
    _put(resources, "orders_c.csv", _orders(("C1", "returned")))
    eager = replace(resources.settings, min_order_files=0, min_item_files=0, min_product_files=0)
    leases = resources.leases()
    assert sweep(eager, resources.bucket, leases, LocalStarter(resources, leases, NOW), owner="test").started
    [claim] = Claims(leases).all()
    assert (claim.keys, claim.versions) == ((first.key,), (first.version_id,))


def test_folder_markers_and_one_name_in_two_folders(resources: Resources) -> None:
    """A folder marker is no upload (listed, never taken); one file name in two folders goes one
    batch after the other (a batch archives its files by name)."""
    resources.bucket.put_bytes("incoming/shop-a/", b"")
    _put(resources, "orders_x.csv", _orders(("M1", "shipped")))
    resources.bucket.put("incoming/shop-a/orders_x.csv", _orders(("N1", "shipped")), "text/csv")
    waiting = incoming(resources.bucket)
    assert [u.key for u in waiting.ready] == ["incoming/orders_x.csv"]
    assert {(u.key, why.split(":")[0]) for u, why in waiting.waiting} == {
        ("incoming/shop-a/", "a folder marker, not an upload"),
        ("incoming/shop-a/orders_x.csv", "an earlier upload of this name goes first"),
    }
    assert len(_drain(resources)) == 2 and _curated_orders(resources) == {"M1": "shipped", "N1": "shipped"}
    assert [u.key for u in resources.bucket.versions(layout.INCOMING)] == ["incoming/shop-a/"]


def test_a_correction_under_the_same_name_wins(resources: Resources) -> None:
    _put(resources, "orders_day.csv", _orders(("O1", "shipped"), ("O2", "shipped")))
    _put(resources, "orders_day.csv", _orders(("O1", "returned")))
    _drain(resources)
    assert _curated_orders(resources) == {"O1": "returned", "O2": "shipped"}
    assert resources.kpis.order_kpis()[0]["return_rate"] == pytest.approx(0.5)


def test_a_run_that_stopped_before_deleting_its_upload_never_has_it_taken_again(resources, monkeypatch) -> None:
    _put(resources, "orders_x.csv", _orders(("X1", "shipped")))
    later = _put(resources, "orders_x.csv", _orders(("X1", "returned")))

    class Stopped(BaseException):
        """The task ended here: nothing after it happened."""

    real_delete = Bucket.delete

    def stop_at_the_upload(self, key):  # the archive's last step, after the copy and the record
        if getattr(key, "version_id", None) and key.key.startswith(layout.INCOMING):
            raise Stopped(key.key)
        return real_delete(self, key)

    monkeypatch.setattr(Bucket, "delete", stop_at_the_upload)
    with pytest.raises(Stopped):
        _sweep_and_run(resources)
    monkeypatch.setattr(Bucket, "delete", real_delete)
    assert resources.leases().current() is None  # the stopped run freed what it held on its way out

    # the first upload is recorded as processed: the next sweep finishes its archive and takes the
    # correction, never the first upload again
    reports = _drain(resources)
    assert [r["batch_id"] for r in reports] and len(reports) == 1
    [taken] = read_manifest(resources.bucket, reports[0]["batch_id"]).files
    assert taken.version_id == later.version_id
    assert _curated_orders(resources) == {"X1": "returned"}
    assert _nothing_waits(resources.bucket)


def test_a_gzipped_csv_is_read_like_plain_csv_and_a_bad_one_is_rejected_with_its_reason(resources) -> None:
    _put(resources, "orders_g.csv.gz", gzip.compress(_orders(("G1", "delivered"))))
    _put(resources, "orders_bad.csv.gz", b"not gzip at all")
    _put(resources, "notes.txt", b"hello")
    [report] = _drain(resources)
    files = {f["file"]: f for f in report["files"]}
    assert files["incoming/orders_g.csv.gz"]["accepted"] == 1
    assert files["incoming/orders_bad.csv.gz"]["status"] == "rejected"
    assert files["incoming/orders_bad.csv.gz"]["error"]["reason"] == "bad_compression"
    assert "not a whole gzip file" in files["incoming/orders_bad.csv.gz"]["error"]["message"]
    assert files["incoming/notes.txt"]["status"] == "rejected"  # taken, and rejected with why
    assert _curated_orders(resources) == {"G1": "delivered"}
    assert resources.bucket.exists(layout.rejected_file_key(report["batch_id"], "notes.txt"))
    assert _nothing_waits(resources.bucket)


def test_a_gzipped_file_is_limited_by_what_it_expands_to(resources) -> None:
    rows = [(f"Z{i}", "delivered") for i in range(40_000)]  # ~1.3 MiB of CSV, a few KiB compressed
    res = replace(resources, settings=replace(resources.settings, max_file_mb=1))
    _put(res, "orders_big.csv.gz", gzip.compress(_orders(*rows)))
    [report] = _drain(res)
    [entry] = report["files"]
    assert entry["status"] == "rejected" and entry["error"]["reason"] == "file_too_large"
    assert "expands to more than 1.0 MiB" in entry["error"]["message"]


# Each name its own keys: a key in two files of one batch is a duplicate, rejected with its reason
# (docs/validation.md); versions of one name apply one after another in upload order.
upload_op = st.sampled_from(["a", "b"]).flatmap(
    lambda name: st.tuples(
        st.just(f"orders_{name}.csv"),
        st.lists(st.tuples(st.sampled_from([f"{name}1", f"{name}2"]), st.sampled_from(["shipped", "returned"]))),
    )
)
operations = st.lists(st.one_of(upload_op, st.just("sweep")), min_size=1, max_size=8)


@settings(max_examples=4, deadline=None)
@given(ops=operations)
def test_no_sequence_of_uploads_overwrites_and_sweeps_loses_a_row(aws_env, ops) -> None:
    with mock_aws(config=MOTO_CONFIG):
        res = Resources.from_settings(Settings(bucket="ecompipe-uploads"))
        res.init()
        _replay(res, ops)


def _replay(res: Resources, ops: list) -> None:
    expected: dict[str, str] = {}
    uploaded: list = []
    reports: list[dict] = []
    for op in ops:
        if op == "sweep":
            report = _sweep_and_run(res)
            reports += [report] if report else []
            continue
        name, rows = op
        unique = list(dict(rows).items())  # one row per key within a file
        uploaded.append(_put(res, name, _orders(*unique)))
        expected |= dict(unique)  # the uploads applied in upload order: the later wins
    reports += _drain(res)

    assert _nothing_waits(res.bucket)
    assert _curated_orders(res) == expected
    # each upload processed exactly once, and every row of it accounted for with a reason
    taken = [(f.key, f.version_id) for r in reports for f in read_manifest(res.bucket, r["batch_id"]).files]
    assert sorted(taken) == sorted((u.key, u.version_id) for u in uploaded)
    for report in reports:
        for entry in report["files"]:
            assert entry["accepted"] + entry["rejected"] + entry["pending"] == entry["rows_read"]


def test_upload_writes_a_version_per_file(resources, tmp_path) -> None:
    (tmp_path / "orders_u.csv").write_bytes(_orders(("U1", "shipped")))
    (tmp_path / "orders_v.csv.gz").write_bytes(gzip.compress(_orders(("V1", "shipped"))))
    one = upload(resources.bucket, sorted(tmp_path.iterdir()))
    two = upload(resources.bucket, sorted(tmp_path.iterdir()))
    assert [u.key for u in one] == ["incoming/orders_u.csv", "incoming/orders_v.csv.gz"]
    assert all(a.version_id != b.version_id for a, b in zip(one, two, strict=True))
    assert len(resources.bucket.versions(layout.INCOMING)) == 4  # nothing replaced

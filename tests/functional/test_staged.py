"""What validation stages (staging/<batch>/*.arrow, ecompipe.aws.transient), as its readers (the
transform, plan-transform, the recheck) get it back from S3 (in-process moto)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from ecompipe.aws import transient
from ecompipe.core import layout
from tests.conftest import NOW
from tests.support.helpers import put_files, record_manifest
from validator import pending
from validator import task as validate_task
from validator.batch import InputFile, Known, validate_batch

pytestmark = pytest.mark.functional

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "seed"


def test_staged_rows_keep_the_file_column_a_category_and_read_back_as_text(resources) -> None:
    """The validator stages the file column as it holds it, a category (Arrow writes a
    dictionary): it never makes one string per row. A reader gets the text, so the rows it reads
    are the rows as public() gives them, with the file column decoded."""
    files = {p.name: p.read_bytes() for p in sorted(SAMPLE.glob("*.csv"))}
    keys = put_files(resources, files)
    manifest = record_manifest(resources.bucket, keys)
    validate_task.run(resources.settings, resources.bucket, manifest.batch_id, NOW)
    inputs = [InputFile(k, resources.bucket.get_bytes(k)) for k in keys]
    in_memory = validate_batch(manifest.batch_id, inputs, Known(), None, now=NOW)

    for kind in layout.KINDS:
        staged = in_memory.staged[kind]
        assert isinstance(staged["source_file"].dtype, pd.CategoricalDtype)
        stored = transient.get_frame(resources.bucket, layout.staging_key(manifest.batch_id, kind))
        assert_frame_equal(stored, pending.public(staged))
        assert stored["source_file"].isin(keys).all()

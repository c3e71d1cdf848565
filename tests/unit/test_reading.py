"""File level: what spoils a whole file, and exact line numbers for what does not."""

import pytest

from validator import reasons
from validator.reading import MalformedFile, read_csv

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", reasons.EMPTY_FILE),
        (b"\n\n  \n", reasons.EMPTY_FILE),
        (b"\xef\xbb\xbf", reasons.EMPTY_FILE),
        (b"order_id,user_id\n1,\xff\xfe\n", reasons.UNDECODABLE),
        (b"order_id,order_id\n1,2\n", reasons.DUPLICATE_HEADER),
        (b"order_id, ORDER_ID \n1,2\n", reasons.DUPLICATE_HEADER),
        (b'a,b\n1,"unterminated\n', reasons.UNPARSABLE_CSV),
        (b"a,b\n1,\x002\n", reasons.UNPARSABLE_CSV),
    ],
)
def test_whole_file_problems_raise_with_their_reason(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedFile) as exc:
        read_csv(data)
    assert exc.value.reason == reason
    assert exc.value.message


def test_undecodable_message_names_byte_and_line() -> None:
    with pytest.raises(MalformedFile, match=r"0xff at byte 19 \(line 2\)"):
        read_csv(b"order_id,user_id\n1,\xff\n")


def test_header_only_is_valid_with_no_rows() -> None:
    table = read_csv(b"order_id,user_id,order_date,total_amount,status\n")
    assert table.header == ["order_id", "user_id", "order_date", "total_amount", "status"]
    assert len(table.cells) == 0


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_fast_path_line_numbers_skip_blank_lines_and_flag_ragged_rows(newline: bytes) -> None:
    data = newline.join([b"a,b,c", b"1,2,3", b"", b"4,,6", b"7,8", b"9,9,9,9", b"1,1,1"])
    table = read_csv(data)
    assert table.cells.values.tolist() == [["1", "2", "3"], ["4", "", "6"], ["1", "1", "1"]]
    assert table.lines.tolist() == [2, 4, 7]
    assert [(r.line, r.fields) for r in table.ragged] == [(5, 2), (6, 4)]
    assert table.blank_lines == 1


def test_quoted_fields_keep_physical_line_numbers() -> None:
    data = b'a,b,c\n1,"x\ny",3\n\n4,"5,5",6\n7,8\n'
    table = read_csv(data)
    assert table.cells.values.tolist() == [["1", "x\ny", "3"], ["4", "5,5", "6"]]
    assert table.lines.tolist() == [2, 5]
    assert [(r.line, r.fields) for r in table.ragged] == [(6, 2)]


def test_bom_is_stripped_and_header_normalised() -> None:
    table = read_csv(b"\xef\xbb\xbfOrder_ID , user_id\n1,2\n")
    assert table.header == ["order_id", "user_id"]


def test_fast_path_equals_the_exact_path_on_random_quoted_files() -> None:
    """Files with quotes (but no field spanning lines) take the fast path; it must agree with the
    csv module on cells, line numbers and ragged rows."""
    import csv
    import io
    import random

    from validator.reading import _read_fast, _read_with_csv_module

    rng = random.Random(1)
    cells = ["x", "1,5", '"q"', "", "a b", "é", " s ", "1.00", 'say "hi", then']
    for _ in range(200):
        rows = [["a", "b", "c"]]
        for _ in range(rng.randint(0, 30)):
            rows.append([rng.choice(cells) for _ in range(3 if rng.random() > 0.15 else rng.choice([2, 4]))])
            if rng.random() < 0.1:
                rows.append([])
        out = io.StringIO()
        csv.writer(out, lineterminator=rng.choice(["\n", "\r\n"])).writerows(rows)
        data = out.getvalue().encode()
        fast, exact = _read_fast(data, ","), _read_with_csv_module(data.decode(), ",")
        assert fast is not None, data
        assert fast.cells.values.tolist() == exact.cells.values.tolist(), data
        assert fast.lines.tolist() == exact.lines.tolist(), data
        assert [(r.line, r.fields) for r in fast.ragged] == [(r.line, r.fields) for r in exact.ragged], data


def test_a_field_spanning_lines_takes_the_exact_path() -> None:
    from validator.reading import _read_fast

    assert _read_fast(b'a,b\n1,"x\ny"\n', ",") is None

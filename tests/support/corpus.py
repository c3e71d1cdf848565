"""The bad-input corpus: each case is a set of files and what must become of every one of them.

Every case runs together with BASE (a product list and an order the items can point at), so a
case only holds what it is about. Large inputs are generated here in memory, never kept on disk.
docs/reliability.md lists these cases; tests/functional/test_corpus.py runs each one through the
pipeline and checks the report, rejected/, pending/ and what reached the KPI tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from validator import reasons as r

ORDERS = b"order_id,user_id,order_date,total_amount,status\n"
ITEMS = b"order_id,product_id,quantity,unit_price\n"
PRODUCTS = b"product_id,category,name,price\n"
THELOOK_ITEMS = b"id,order_id,user_id,product_id,status,created_at,sale_price\n"
GOOD_ORDER = b"1,5,2025-06-01,10.00,delivered\n"

BASE = {
    "products.csv": PRODUCTS + b"1,Books,A,10.00\n2,Toys,B,5.50\n",
    "orders_base.csv": ORDERS + b"100,5,2025-06-01,10.00,delivered\n",
}
BIG_FIELD_BYTES = 10 * 2**20


@dataclass(frozen=True)
class Expect:
    """What becomes of one file: accepted / rejected / pending row counts and the reasons, or the
    reason the whole file is rejected (`file_error`)."""

    accepted: int = 0
    rejected: int = 0
    pending: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    file_error: str | None = None
    blank_lines: int = 0
    ignored_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    id: str
    what: str
    files: dict[str, bytes]
    expect: dict[str, Expect]


def _rows(*rows: bytes) -> bytes:
    return b"".join(row + b"\n" for row in rows)


def _cases() -> list[Case]:
    big = b"x" * BIG_FIELD_BYTES
    return [
        Case(
            "empty", "an empty file", {"orders_empty.csv": b""}, {"orders_empty.csv": Expect(file_error=r.EMPTY_FILE)}
        ),
        Case("header_only", "a header and no rows", {"orders_h.csv": ORDERS}, {"orders_h.csv": Expect()}),
        Case(
            "bom",
            "a UTF-8 byte-order mark before the header",
            {"orders_bom.csv": b"\xef\xbb\xbf" + ORDERS + GOOD_ORDER},
            {"orders_bom.csv": Expect(accepted=1)},
        ),
        Case(
            "crlf",
            "Windows line ends",
            {"orders_crlf.csv": (ORDERS + GOOD_ORDER + b"2,5,2025-06-02,1.00,shipped\n").replace(b"\n", b"\r\n")},
            {"orders_crlf.csv": Expect(accepted=2)},
        ),
        Case(
            "semicolons",
            "a semicolon-separated file with decimal commas, as spreadsheets export in much of Europe",
            {
                "orders_semi.csv": b"Order ID;User ID;Order Date;Total Amount;Status\r\n"
                + b"1;5;2025-06-01;10,50;Delivered\r\n2;5;2025-06-01;7.25;Canceled\r\n"
                + b"3;5;2025-06-01;1.234,56;delivered\r\n4;5;2025-06-01;1,234;delivered\r\n"
            },
            # a thousands separator is not a number, and three decimals are too precise: never guessed
            {"orders_semi.csv": Expect(accepted=2, rejected=2, reasons={r.UNPARSABLE_NUMBER: 1, r.TOO_PRECISE: 1})},
        ),
        Case(
            "tabs",
            "a tab-separated file (a spreadsheet's text export), UTF-16 with its mark",
            {"orders_tab.csv": ("\ufeff" + (ORDERS + GOOD_ORDER).decode().replace(",", "\t")).encode("utf-16-le")},
            {"orders_tab.csv": Expect(accepted=1)},
        ),
        Case(
            "quoted",
            "quoted fields holding commas, quotes and a newline",
            {"products_q.csv": PRODUCTS + b'3,"Books, rare","The ""Big""\nBook",12.00\n4,Toys,"a, b",1.00\n'},
            {"products_q.csv": Expect(accepted=2)},
        ),
        Case(
            "ragged",
            "rows with too few and too many fields",
            {
                "orders_r.csv": ORDERS
                + _rows(b"1,5,2025-06-01,10.00", b"2,5,2025-06-01,1.00,shipped,x", GOOD_ORDER[2:-1])
            },
            {"orders_r.csv": Expect(accepted=0, rejected=3, reasons={r.RAGGED_ROW: 3})},
        ),
        Case(
            "invalid_utf8",
            "bytes that are not UTF-8 (Latin-1 text)",
            {"products_latin1.csv": PRODUCTS + "3,Café,Crème,1.00\n".encode("latin-1")},
            {"products_latin1.csv": Expect(file_error=r.UNDECODABLE)},
        ),
        Case(
            "nul_bytes",
            "binary data",
            {"orders_bin.csv": ORDERS + b"1,5,\x00\x01,2\n"},
            {"orders_bin.csv": Expect(file_error=r.UNPARSABLE_CSV)},
        ),
        Case(
            "duplicate_header",
            "a column named twice",
            {"orders_dh.csv": b"order_id,user_id,order_date,status,status\n1,5,2025-06-01,shipped,shipped\n"},
            {"orders_dh.csv": Expect(file_error=r.DUPLICATE_HEADER)},
        ),
        Case(
            "missing_column",
            "a required column missing",
            {"order_items_m.csv": b"order_id,quantity,unit_price\n100,1,10.00\n"},
            {"order_items_m.csv": Expect(file_error=r.MISSING_COLUMN)},
        ),
        Case(
            "extra_columns",
            "columns no dialect knows (ignored, reported)",
            {"orders_x.csv": ORDERS.replace(b"\n", b",coupon\n") + b"1,5,2025-06-01,1.00,shipped,X\n"},
            {"orders_x.csv": Expect(accepted=1, ignored_columns=("coupon",))},
        ),
        Case(
            "huge_field",
            "a 10 MiB field (quoted, spanning a line) beside a good row",
            {"products_big.csv": PRODUCTS + b'3,Books,"a\n' + big + b'",1.00\n4,Toys,C,2.00\n'},
            {"products_big.csv": Expect(accepted=1, rejected=1, reasons={r.FIELD_TOO_LONG: 1})},
        ),
        Case(
            "huge_unquoted_field",
            "a 10 MiB unquoted field",
            {"orders_big.csv": ORDERS + b"1,5,2025-06-01,1.00," + big + b"\n" + GOOD_ORDER.replace(b"1,", b"2,", 1)},
            {"orders_big.csv": Expect(accepted=1, rejected=1, reasons={r.FIELD_TOO_LONG: 1})},
        ),
        Case(
            "blank_lines",
            "blank lines between and after rows",
            {"orders_bl.csv": ORDERS + b"\n" + GOOD_ORDER + b"\n\n" + b"2,5,2025-06-02,1.00,shipped\n\n"},
            {"orders_bl.csv": Expect(accepted=2, blank_lines=4)},
        ),
        Case(
            "thousands_separators",
            "money written with a thousands separator",
            {"orders_t.csv": ORDERS + b'1,5,2025-06-01,"1,234.50",delivered\n2,5,2025-06-01,1 234.50,delivered\n'},
            {"orders_t.csv": Expect(rejected=2, reasons={r.UNPARSABLE_NUMBER: 2})},
        ),
        Case(
            "quantities",
            "zero, negative and fractional quantities",
            {"order_items_q.csv": ITEMS + _rows(b"100,1,0,10.00", b"100,2,-2,5.50", b"100,1,1.5,10.00")},
            {"order_items_q.csv": Expect(rejected=3, reasons={r.QUANTITY_BELOW_1: 2, r.UNPARSABLE_NUMBER: 1})},
        ),
        Case(
            "non_finite_numbers",
            "NaN, inf, -inf and an empty price",
            {
                "order_items_n.csv": ITEMS
                + _rows(b"100,1,1,NaN", b"100,2,1,inf", b"100,1,2,-inf", b"100,2,2,", b"100,1,3,10.00")
            },
            # (100,1) is a key: the first row holding it is rejected, so the last one is kept
            {"order_items_n.csv": Expect(accepted=1, rejected=4, reasons={r.UNPARSABLE_NUMBER: 3, r.MISSING_VALUE: 1})},
        ),
        Case(
            "date_formats",
            "dates in other formats (ISO with a time and zone is accepted)",
            {
                "orders_d.csv": ORDERS
                + _rows(
                    b"1,5,06/01/2025,1.00,shipped",
                    b"2,5,20250601,1.00,shipped",
                    b"3,5,1 June 2025,1.00,shipped",
                    b"4,5,2025/06/01,1.00,shipped",
                    b"5,5,2025-02-30,1.00,shipped",
                    b"6,5,2025-06-01T10:00:00Z,1.00,shipped",
                    b"7,5,2025-06-01 10:00:00+00:00,1.00,shipped",
                )
            },
            {"orders_d.csv": Expect(accepted=2, rejected=5, reasons={r.UNPARSABLE_DATE: 5})},
        ),
        Case(
            "future_date",
            "an order dated after today",
            {"orders_f.csv": ORDERS + b"1,5,2099-01-01,1.00,shipped\n" + GOOD_ORDER.replace(b"1,", b"2,", 1)},
            {"orders_f.csv": Expect(accepted=1, rejected=1, reasons={r.FUTURE_DATE: 1})},
        ),
        Case(
            "unknown_status",
            "a status no dialect knows",
            {"orders_s.csv": ORDERS + b"1,5,2025-06-01,1.00,lost in space\n"},
            {"orders_s.csv": Expect(rejected=1, reasons={r.UNKNOWN_STATUS: 1})},
        ),
        Case(
            "duplicate_ids_in_file",
            "the same order id twice in one file (the first is kept)",
            {"orders_dup.csv": ORDERS + GOOD_ORDER + b"1,6,2025-06-02,2.00,returned\n"},
            {"orders_dup.csv": Expect(accepted=1, rejected=1, reasons={r.DUPLICATE_KEY: 1})},
        ),
        Case(
            "duplicate_ids_across_files",
            "an order id already in the batch's other file",
            {"orders_dup_b.csv": ORDERS + b"100,6,2025-06-02,2.00,returned\n"},
            {"orders_dup_b.csv": Expect(rejected=1, reasons={r.DUPLICATE_KEY: 1})},
        ),
        Case(
            "orphan_items",
            "items whose order is nowhere (held in pending/)",
            {"order_items_o.csv": ITEMS + _rows(b"999,1,1,10.00", b"100,1,1,10.00")},
            {"order_items_o.csv": Expect(accepted=1, pending=1, reasons={r.UNKNOWN_ORDER: 1})},
        ),
        Case(
            "unknown_products",
            "items whose product is nowhere (held in pending/)",
            {"order_items_p.csv": ITEMS + _rows(b"100,77,1,10.00")},
            {"order_items_p.csv": Expect(pending=1, reasons={r.UNKNOWN_PRODUCT: 1})},
        ),
        Case(
            "thelook_bad_rows",
            "thelook items with a bad price, a bad date and a missing id",
            {
                "order_items_tl.csv": THELOOK_ITEMS
                + _rows(
                    b"1,100,5,1,Complete,2025-06-01 10:00:00,ten",
                    b",100,5,2,Complete,2025-06-01 10:00:00,5.50",
                    b"3,100,5,2,Complete,2025-06-01 10:00:00,5.50",
                )
            },
            {
                "order_items_tl.csv": Expect(
                    accepted=1,
                    rejected=2,
                    reasons={r.UNPARSABLE_NUMBER: 1, r.MISSING_VALUE: 1},
                    ignored_columns=("user_id", "status", "created_at"),
                )
            },
        ),
        # issue 13: money under one rule, keys, line ends, hostile cells
        Case(
            "sub_cent_prices",
            "unit prices with a third decimal, never rounded",
            {"order_items_sub.csv": ITEMS + _rows(b"100,1,3,0.005", b"100,2,7,19.999", b"100,2,1,19.990")},
            {"order_items_sub.csv": Expect(accepted=1, rejected=2, reasons={r.TOO_PRECISE: 2})},
        ),
        Case(
            "negative_that_rounds_to_zero",
            "a price of -0.004 and a total of -0",
            {
                "order_items_neg.csv": ITEMS + _rows(b"100,1,1,-0.004", b"100,2,1,1.00"),
                "orders_neg.csv": ORDERS + _rows(b"7,5,2025-06-01,-0,delivered"),
            },
            {
                "order_items_neg.csv": Expect(accepted=1, rejected=1, reasons={r.NEGATIVE_AMOUNT: 1}),
                "orders_neg.csv": Expect(rejected=1, reasons={r.NEGATIVE_AMOUNT: 1}),
            },
        ),
        Case(
            "huge_numbers",
            "hundreds of digits, an exponent past any range, a line amount past 10^15",
            {
                "order_items_huge.csv": ITEMS
                + _rows(b"100,1,1," + b"9" * 400, b"100,1," + b"9" * 300 + b",1.00", b"100,2,1000000000,10000000"),
                "orders_huge.csv": ORDERS + _rows(b"8,5,2025-06-01,1e999999999,delivered", GOOD_ORDER.strip()),
            },
            {
                "order_items_huge.csv": Expect(rejected=3, reasons={r.OUT_OF_RANGE: 3}),
                "orders_huge.csv": Expect(accepted=1, rejected=1, reasons={r.OUT_OF_RANGE: 1}),
            },
        ),
        Case(
            "separator_in_ids",
            "item ids holding the key separator: (X, 1/P) and (X/1, P) are two items",
            {
                "products_sep.csv": PRODUCTS + _rows(b"1/P,Books,A,1.00", b"P,Toys,B,2.00"),
                "orders_sep.csv": ORDERS + _rows(b"X,5,2025-06-01,,delivered", b"X/1,5,2025-06-01,,delivered"),
                "order_items_sep.csv": ITEMS + _rows(b"X,1/P,1,1.00", b"X/1,P,1,2.00"),
            },
            {
                "products_sep.csv": Expect(accepted=2),
                "orders_sep.csv": Expect(accepted=2),
                "order_items_sep.csv": Expect(accepted=2),
            },
        ),
        Case(
            "cr_only",
            "old Mac line ends (CR only), and a lone CR inside a file of LF lines",
            {
                "orders_cr.csv": (ORDERS + GOOD_ORDER + b"2,5,2025-06-02,1.00,shipped\n").replace(b"\n", b"\r"),
                "orders_mixed.csv": ORDERS + b"3,5,2025-06-01,1.00,shipped\r4,5,2025-06-01,1.00,shipped\n",
            },
            {"orders_cr.csv": Expect(accepted=2), "orders_mixed.csv": Expect(accepted=2)},
        ),
        Case(
            "markup_and_formulas",
            "categories and ids that look like terminal markup or spreadsheet formulas",
            {
                "products_hostile.csv": PRODUCTS + _rows(b"h1,[/],A,1.00", b'h2,"=HYPERLINK(""x"")",B,1.00'),
                "order_items_hostile.csv": ITEMS + _rows(b"100,h1,1,1.00", b"100,h2,1,=1+1"),
            },
            {
                "products_hostile.csv": Expect(accepted=2),
                "order_items_hostile.csv": Expect(accepted=1, rejected=1, reasons={r.UNPARSABLE_NUMBER: 1}),
            },
        ),
        Case(
            "unrecognised_name",
            "a file name that is no known kind",
            {"customers.csv": b"id,name\n1,x\n"},
            {"customers.csv": Expect(file_error=r.UNRECOGNISED_FILE)},
        ),
    ]


CASES = _cases()

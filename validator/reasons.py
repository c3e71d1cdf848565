"""Every reason a file or row can be rejected or held, with the sentence a person reads."""

from __future__ import annotations

from ecompipe.core import held, money

# file level: the whole file is rejected
EMPTY_FILE = "empty_file"
UNDECODABLE = "undecodable_bytes"
UNPARSABLE_CSV = "unparsable_csv"
MISSING_COLUMN = "missing_required_column"
DUPLICATE_HEADER = "duplicated_header"
UNRECOGNISED_FILE = "unrecognised_file_name"
FILE_TOO_LARGE = "file_too_large"
BAD_COMPRESSION = "bad_compression"

# row level: the row is rejected, the rest of the file goes on
RAGGED_ROW = "wrong_field_count"
MISSING_VALUE = "missing_value"
UNPARSABLE_NUMBER = money.UNPARSABLE_NUMBER
UNPARSABLE_DATE = "unparsable_date"
QUANTITY_BELOW_1 = "quantity_below_1"
NEGATIVE_AMOUNT = money.NEGATIVE_AMOUNT
UNKNOWN_STATUS = "unknown_status"
FUTURE_DATE = "future_date"
DUPLICATE_KEY = "duplicate_key"
INVALID_VALUE = "invalid_value"
FIELD_TOO_LONG = "field_too_long"
TOO_PRECISE = money.TOO_PRECISE
OUT_OF_RANGE = money.OUT_OF_RANGE

# references: the row is held in pending/ and re-checked by later batches
UNKNOWN_ORDER, UNKNOWN_PRODUCT = held.UNKNOWN_ORDER, held.UNKNOWN_PRODUCT
PENDING_EXPIRED = "pending_expired"

DESCRIPTIONS = {
    EMPTY_FILE: "the file holds no bytes or no header row",
    UNDECODABLE: "the file is not valid UTF-8",
    UNPARSABLE_CSV: "the file cannot be parsed as CSV",
    MISSING_COLUMN: "a column the dialect requires is missing from the header",
    DUPLICATE_HEADER: "the header names a column more than once",
    UNRECOGNISED_FILE: "the file name is none of orders_*.csv, order_items_*.csv, products*.csv (or .csv.gz)",
    BAD_COMPRESSION: "the file is named .gz but is not a whole gzip file",
    FILE_TOO_LARGE: "the file is larger than ECOMPIPE_MAX_FILE_MB and was not read",
    RAGGED_ROW: "the row has a different number of fields than the header",
    MISSING_VALUE: "a required field is empty",
    UNPARSABLE_NUMBER: "a number cannot be parsed (or is not finite / not whole where it must be)",
    UNPARSABLE_DATE: "a date cannot be parsed as YYYY-MM-DD[ HH:MM[:SS]]",
    QUANTITY_BELOW_1: "quantity is below 1",
    NEGATIVE_AMOUNT: "a price or amount is negative (written with a minus sign, even -0.001)",
    UNKNOWN_STATUS: "status is not one of the known values",
    FUTURE_DATE: "the order date lies in the future",
    DUPLICATE_KEY: "the key was already seen earlier in this batch (the first one is kept)",
    INVALID_VALUE: "the value fails a schema check",
    TOO_PRECISE: "a money value has more than two decimal places (sub-cent amounts are rejected, never rounded)",
    OUT_OF_RANGE: "a money value, a quantity or a line amount (quantity × unit price) is above 10^15",
    FIELD_TOO_LONG: "a text field is longer than its limit (256 characters; 1024 for a product name)",
    UNKNOWN_ORDER: "the item's order is in neither this batch nor the curated store (held in pending/)",
    UNKNOWN_PRODUCT: "the item's product is in neither this batch nor the curated store (held in pending/)",
    PENDING_EXPIRED: "the item waited in pending/ longer than ECOMPIPE_PENDING_MAX_AGE_DAYS",
}

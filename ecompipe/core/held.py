"""Why an item is held in pending/ rather than rejected: the validator holds it, and whoever reads
its reports (questions' rejections, the errors API) tells held from rejected by these codes."""

UNKNOWN_ORDER = "unknown_order"
UNKNOWN_PRODUCT = "unknown_product"
HELD_REASONS = frozenset({UNKNOWN_ORDER, UNKNOWN_PRODUCT})

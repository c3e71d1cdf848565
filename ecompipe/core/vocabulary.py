"""The closed vocabularies: every field whose value is one word of a fixed list (statuses, activity
types, stock movements), each word with the other ways real feeds write it. Pure, no I/O.

A value is matched in any case and with any separator ('Cart Add', 'cartAdd', 'cart-add' are
cart_add: `word`), then by its synonyms and regional spellings ('canceled' is cancelled,
'authorised' is authorized, 'dispatched' is shipped). Every form here maps to exactly one stored
word of its vocabulary (a test holds it, and holds docs/events.md to list each one)."""

from __future__ import annotations

import functools
import re

_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")
MAX_WORD = 64  # longer is no word of any vocabulary (and is not worked on)

ORDER_STATUS = "order status"
PURCHASE_STATUS = "purchase status"
PAYMENT_STATUS = "payment status"
SHIPPING_STATUS = "shipping status"
RETURN_STATUS = "return status"
SUBSCRIPTION_STATUS = "subscription status"
ACTIVITY_TYPE = "activity type"
MOVEMENT = "stock movement"

_CANCELLED = ("canceled", "cancel", "cancellation", "voided", "void")
_REFUNDED = ("refund", "reimbursed")

# vocabulary -> stored word -> the other forms that mean it
VOCABULARIES: dict[str, dict[str, tuple[str, ...]]] = {
    ORDER_STATUS: {  # the CSV orders' status (docs/kpis.md)
        "pending": ("new", "created", "placed", "open"),
        "processing": ("in_progress", "preparing", "fulfilling"),
        "shipped": ("dispatched", "sent", "in_transit"),
        "delivered": ("arrived",),
        "completed": ("complete", "fulfilled", "done", "closed"),
        "cancelled": _CANCELLED,
        "returned": ("return",),
    },
    PURCHASE_STATUS: {
        "pending": ("new", "created", "placed", "open", "awaiting_payment", "unpaid"),
        "paid": ("payment_received", "captured", "settled"),
        "failed": ("payment_failed", "declined"),
        "cancelled": _CANCELLED,
        "refunded": _REFUNDED,
        "processing": ("in_progress", "preparing", "fulfilling"),
        "shipped": ("dispatched", "sent", "in_transit"),
        "delivered": ("arrived",),
        "returned": ("return",),
        "completed": ("complete", "fulfilled", "done", "closed"),
    },
    PAYMENT_STATUS: {
        "pending": ("unpaid", "awaiting_payment", "due"),
        "authorized": ("authorised", "authorization", "authorisation", "authorize", "authorise"),
        "paid": ("payment_received", "captured", "settled"),
        "failed": ("payment_failed", "declined"),
        "refunded": _REFUNDED,
    },
    SHIPPING_STATUS: {
        "pending": ("not_shipped", "awaiting_shipment", "unshipped"),
        "processing": ("in_progress", "preparing", "packing", "packed"),
        "shipped": ("dispatched", "sent"),
        "in_transit": ("transit", "on_the_way", "out_for_delivery"),
        "delivered": ("arrived",),
        "returned": ("return", "returned_to_sender", "return_to_sender"),
        "cancelled": _CANCELLED,
    },
    RETURN_STATUS: {
        "none": ("no_return", "not_returned"),
        "requested": ("return_requested",),
        "approved": ("accepted", "authorized", "authorised"),
        "received": ("return_received",),
        "refunded": _REFUNDED,
        "rejected": ("declined", "denied", "refused"),
    },
    SUBSCRIPTION_STATUS: {
        "active": ("live", "current", "activated"),
        "trial": ("trialing", "trialling", "in_trial", "free_trial"),
        "paused": ("on_hold", "suspended"),
        "past_due": ("overdue", "unpaid"),
        "cancelled": ("canceled", "cancel", "cancellation", "terminated"),
        "expired": ("lapsed", "ended"),
    },
    ACTIVITY_TYPE: {
        "login": ("log_in", "sign_in", "signin", "logged_in", "signed_in"),
        "logout": ("log_out", "sign_out", "signout", "logged_out", "signed_out"),
        "product_view": ("view_product", "product_viewed", "view_item", "item_view", "item_viewed"),
        "cart_add": ("add_to_cart", "added_to_cart", "add_to_basket", "basket_add", "added_to_basket"),
        "cart_remove": ("remove_from_cart", "removed_from_cart", "remove_from_basket", "basket_remove"),
        "wishlist_add": ("add_to_wishlist", "added_to_wishlist", "wish_list_add", "add_to_wish_list"),
        "search": ("searched", "site_search"),
        "checkout": ("check_out", "begin_checkout", "checkout_started", "checked_out"),
        "page_view": ("pageview", "view_page", "page_viewed", "screen_view"),
    },
    MOVEMENT: {
        "restock": ("restocked", "restocking", "replenish", "replenishment", "stock_in"),
        "return": ("returned", "customer_return"),
        "transfer": ("transferred", "move", "moved", "relocation"),
    },
}


@functools.lru_cache(maxsize=8192)
def word(text: str) -> str:
    """A value in snake_case, whatever its case and separators: 'In Transit', 'inTransit',
    'in-transit' -> 'in_transit'."""
    return _SEPARATORS.sub("_", _BOUNDARY.sub("_", text.strip())).strip("_").lower()


@functools.cache
def table(vocabulary: str) -> dict[str, str]:
    """Every accepted form of the vocabulary (as `word` makes it) -> its stored word."""
    out: dict[str, str] = {}
    for stored, forms in VOCABULARIES[vocabulary].items():
        for form in (stored, *forms):
            out[word(form)] = stored
    return out


def stored(vocabulary: str, value: str) -> str | None:
    """The stored word a value means in the vocabulary, or None when it means none."""
    if len(value) > MAX_WORD:
        return None
    return table(vocabulary).get(word(value))


def words(vocabulary: str) -> tuple[str, ...]:
    """The vocabulary's stored words, in their documented order."""
    return tuple(VOCABULARIES[vocabulary])

"""Fixes to how the emulator (moto) finds the service of a request: work moto repeats at every
request, done once. Like ecompipe.local.patches (which applies these), they change how moto
works, never what AWS does."""

from __future__ import annotations

from typing import Any


def apply() -> None:
    """Both fixes below (idempotent)."""
    patch_moto_s3_url_module()
    patch_moto_module_listing()


def patch_moto_s3_url_module() -> None:
    """moto routes each in-process S3 request by its S3 URL module, which it reloads (runs again)
    on every request, so that a change of MOTO_S3_CUSTOM_ENDPOINTS takes effect: a third of an
    in-process request's time. This reloads it only when that setting changed."""
    from moto import settings
    from moto.s3.models import S3Backend

    if getattr(S3Backend, "_ecompipe_urls_patched", False):
        return
    reloaded = S3Backend._url_module.fget  # type: ignore[attr-defined]
    loaded: dict[tuple[str, ...], Any] = {}

    def _url_module(self: Any) -> Any:
        endpoints = tuple(settings.get_s3_custom_endpoints())
        if endpoints not in loaded:
            loaded.clear()
            loaded[endpoints] = reloaded(self)
        return loaded[endpoints]

    S3Backend._url_module = property(_url_module)  # type: ignore[assignment]
    S3Backend._ecompipe_urls_patched = True  # type: ignore[attr-defined]


def patch_moto_module_listing() -> None:
    """moto's server matches each request's service against its own package's folders, listed
    from the disk (a directory listing and a stat per folder) at every request: ~0.6 ms of the
    ~6 ms a request to the emulator takes. The folders are those of the moto installed, so they
    are listed once."""
    import moto.backends

    if getattr(moto.backends, "_ecompipe_listing_cached", False):
        return
    modules = tuple(moto.backends.list_of_moto_modules())
    moto.backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    moto.backends._ecompipe_listing_cached = True  # type: ignore[attr-defined]

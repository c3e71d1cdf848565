"""The API's response shapes (what /openapi.json documents)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OrderKpi(BaseModel):
    order_date: str = Field(examples=["2025-06-01"])
    total_orders: int
    total_revenue: str = Field(description="exact, two decimals", examples=["40.49"])
    total_items_sold: int
    return_rate: float = Field(description="four decimals", examples=[0.5])
    unique_customers: int


class CategoryKpi(BaseModel):
    category: str
    order_date: str
    daily_revenue: str = Field(examples=["30.00"])
    avg_order_value: str = Field(examples=["15.00"])
    avg_return_rate: float


class Run(BaseModel):
    run_id: str
    batch_id: str | None = None
    status: str | None = None
    stage: str | None = None
    failed_stage: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    files: int | None = None
    rows_read: int | None = None
    accepted: int | None = None
    rejected: int | None = None
    pending: int | None = None
    rejected_files: int | None = None
    affected_dates: int | None = None
    error: str | None = None
    report_url: str | None = Field(None, description="the run's validation report, when it has one")


class Uploaded(BaseModel):
    key: str
    bytes: int
    etag: str


class UploadResult(BaseModel):
    uploaded: list[Uploaded]
    next: str


class Health(BaseModel):
    status: str
    version: str


class Error(BaseModel):
    detail: str = Field(examples=["from must be a date as YYYY-MM-DD, not '2025-13-01'"])

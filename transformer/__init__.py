"""Transformation: curated upsert, KPI computation for the affected dates, KPI writes."""

"""Validation: dialect detection, canonical mapping, pandera checks, references, the report."""

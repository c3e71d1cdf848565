"""ecompipe: e-commerce CSV batches on S3 -> validated, curated data -> exact KPIs in DynamoDB."""

__version__ = "0.1.0"

"""Questions over the data (docs/queries.md): read-only SQL over the curated store, the KPI tables
and the rejections, and questions in words compiled to that SQL. Pure: catalog (the tables),
guard (what SQL may run), query (a question as an object, and its SQL), dates, reading (the
grammar). I/O: sources (the synced copy of curated/, KPI and rejection rows), duck (the embedded
engine), athena, engines (one from settings). answers ties them together for the CLI and the API.
"""

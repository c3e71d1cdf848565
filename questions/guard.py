"""What SQL may run (pure): one SELECT over the known tables, nothing else. The statement is parsed
(sqlglot, DuckDB's dialect) and checked node by node; what runs is the checked tree written out
again, never the text as given. Every refusal is a sentence saying why (docs/queries.md).

The engines add their own walls behind this one: DuckDB runs with external access off except the
curated copy, its configuration locked; Athena runs in a workgroup that caps the bytes scanned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from questions.catalog import TABLES

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its "falling back to a Command" warnings: we refuse those

MAX_SQL_CHARS = 20_000
# statements and clauses that are not a read of the known tables, wherever they appear
_NOT_A_READ = (
    exp.DDL, exp.DML, exp.Command, exp.Copy, exp.Pragma, exp.Set, exp.Attach, exp.Detach, exp.Install,
    exp.Describe, exp.Show, exp.Summarize, exp.Use, exp.Transaction, exp.Commit, exp.Rollback, exp.Into,
)  # fmt: skip
# functions that read files, the network, the environment or the engine's own state
_DENIED_PREFIXES = ("read_", "parquet_", "duckdb_", "pragma_", "sniff_", "iceberg_", "delta_", "json_execute")
_DENIED = frozenset({
    "getenv", "glob", "query", "query_table", "checkpoint", "force_checkpoint", "current_setting", "which_secret",
    "load_aws_credentials", "sqlite_scan", "postgres_scan", "mysql_scan", "sql_auto_complete", "read_text",
    "read_blob", "enable_profiling", "set_variable", "getvariable",
})  # fmt: skip


class Refused(ValueError):
    """The SQL is not a read of the known tables; the message says why."""


@dataclass(frozen=True)
class Checked:
    statement: exp.Query
    tables: frozenset[str]  # the known tables it reads

    def sql(self, dialect: str = "duckdb") -> str:
        """The checked statement, written out (comments dropped)."""
        return self.statement.sql(dialect=dialect, comments=False)


def check(sql: str) -> Checked:
    """The statement if it is one SELECT (or WITH/UNION of SELECTs) over the known tables."""
    if not sql or not sql.strip():
        raise Refused("the SQL is empty: write one SELECT over " + _known())
    if len(sql) > MAX_SQL_CHARS:
        raise Refused(f"the SQL is {len(sql):,} characters long; at most {MAX_SQL_CHARS:,} are read")
    try:
        parsed = sqlglot.parse(sql, read="duckdb")
        statements = [s for s in parsed if s is not None and not isinstance(s, exp.Semicolon)]  # ';' and comments
    except (ParseError, TokenError) as exc:
        raise Refused(f"the SQL could not be read: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise Refused(f"one statement at a time: this holds {len(statements)}")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise Refused(f"only SELECT is allowed: this is {_kind(statement)}")
    for node in statement.walk():
        if isinstance(node, _NOT_A_READ):
            raise Refused(f"only SELECT is allowed: this holds {_kind(node)}")
        if isinstance(node, exp.Func):
            _check_function(node)
    return Checked(statement, frozenset(_tables(statement)))


def _tables(statement: exp.Query) -> set[str]:
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    read: set[str] = set()
    for table in statement.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            name = table.this.sql(dialect="duckdb") if table.this else "?"
            raise Refused(f"tables only, no table functions: {name[:80]} reads no known table ({_known()})")
        if table.args.get("db") or table.args.get("catalog"):
            raise Refused(f"{table.sql(dialect='duckdb')[:80]}: name the tables without a schema ({_known()})")
        name = table.name.lower()
        if name in ctes:
            continue
        if name not in TABLES:
            raise Refused(f"unknown table {table.name[:80]!r}: the tables are {_known()}")
        read.add(name)
    return read


def _check_function(node: exp.Func) -> None:
    name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
    if name in _DENIED or name.startswith(_DENIED_PREFIXES):
        raise Refused(f"the function {name}() is not allowed: SQL here reads the known tables only")


def _kind(node: exp.Expression) -> str:
    if isinstance(node, exp.Command):
        word, what = str(node.this).upper(), "command"
    else:
        word, what = node.key.upper(), "clause" if isinstance(node, exp.Into) else "statement"
    return f"{'an' if word[:1] in 'AEIOU' else 'a'} {word} {what}"


def _known() -> str:
    return ", ".join(TABLES)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]

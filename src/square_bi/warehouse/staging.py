"""Staging tables: Square objects as fetched, one row per object (or per child line), keyed by
Square id. Columns are typed (money BIGINT minor units, quantities DECIMAL(18,5), timestamps UTC);
``raw`` keeps the object's JSON for models that need more than the typed columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from square_bi.warehouse.database import transaction

_COMPRESSION = {"JSON": " USING COMPRESSION zstd"}
"""``raw`` (a few KB of JSON per order) is most of a backfill's bytes. DuckDB's default tries
several string compressions at each checkpoint; zstd alone measured a fifth less writer CPU and a
file 42% smaller (61k orders: 2.8 s instead of 3.3 s, 81 MB instead of 140 MB)."""


@dataclass(frozen=True)
class StagingTable:
    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    """Identifies an object (or child line). Kept unique by the upsert (``load.upsert``), not by a
    PRIMARY KEY: DuckDB holds a key's ART index in memory whole, and at a million line items the
    indexes alone outgrew the sync's 256 MB memory limit (a 1M-order backfill stalled)."""
    version: str | None = None
    """Column ordering an object's versions (Square's ``version``, else ``updated_at``): an older
    version never overwrites a newer one."""
    parent: str | None = None
    """For child tables (line items): the column naming the parent object. Children are replaced
    whenever the parent row is accepted."""

    def ddl(self) -> str:
        cols = ",\n  ".join(f"{name} {type_}{_COMPRESSION.get(type_, '')}" for name, type_ in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n  {cols}\n)"

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]


LOCATIONS = StagingTable(
    "stg_locations",
    (
        ("id", "VARCHAR NOT NULL"),
        ("name", "VARCHAR"),
        ("business_name", "VARCHAR"),
        ("timezone", "VARCHAR"),
        ("currency", "VARCHAR"),
        ("status", "VARCHAR"),
        ("country", "VARCHAR"),
        ("city", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
        ("raw", "JSON"),
        ("_synced_at", "TIMESTAMP"),
    ),
    key=("id",),
)

CATALOG_OBJECTS = StagingTable(
    "stg_catalog_objects",
    (
        ("id", "VARCHAR NOT NULL"),
        ("type", "VARCHAR"),
        ("version", "BIGINT"),
        ("is_deleted", "BOOLEAN"),
        ("updated_at", "TIMESTAMP"),
        ("name", "VARCHAR"),
        ("item_id", "VARCHAR"),
        ("category_id", "VARCHAR"),
        ("price_amount", "BIGINT"),
        ("price_currency", "VARCHAR"),
        ("raw", "JSON"),
        ("_synced_at", "TIMESTAMP"),
    ),
    key=("id",),
    version="version",
)

ORDERS = StagingTable(
    "stg_orders",
    (
        ("id", "VARCHAR NOT NULL"),
        ("location_id", "VARCHAR"),
        ("state", "VARCHAR"),
        ("version", "BIGINT"),
        ("created_at", "TIMESTAMP"),
        ("updated_at", "TIMESTAMP"),
        ("closed_at", "TIMESTAMP"),
        ("source_name", "VARCHAR"),
        ("customer_id", "VARCHAR"),
        ("currency", "VARCHAR"),
        ("total_amount", "BIGINT"),
        ("total_tax_amount", "BIGINT"),
        ("total_discount_amount", "BIGINT"),
        ("total_tip_amount", "BIGINT"),
        ("total_service_charge_amount", "BIGINT"),
        ("raw", "JSON"),
        ("_synced_at", "TIMESTAMP"),
    ),
    key=("id",),
    version="version",
)

ORDER_LINE_ITEMS = StagingTable(
    "stg_order_line_items",
    (
        ("order_id", "VARCHAR NOT NULL"),
        ("uid", "VARCHAR NOT NULL"),
        ("catalog_object_id", "VARCHAR"),
        ("catalog_version", "BIGINT"),
        ("name", "VARCHAR"),
        ("variation_name", "VARCHAR"),
        ("item_type", "VARCHAR"),
        ("quantity", "DECIMAL(18,5)"),
        ("currency", "VARCHAR"),
        ("base_price_amount", "BIGINT"),
        ("variation_total_price_amount", "BIGINT"),
        ("gross_sales_amount", "BIGINT"),
        ("modifiers_amount", "BIGINT"),
        ("total_discount_amount", "BIGINT"),
        ("total_tax_amount", "BIGINT"),
        ("additive_tax_amount", "BIGINT"),
        ("inclusive_tax_amount", "BIGINT"),
        ("total_amount", "BIGINT"),
    ),
    key=("order_id", "uid"),
    parent="order_id",
)

ORDER_RETURN_LINE_ITEMS = StagingTable(
    "stg_order_return_line_items",
    (
        ("order_id", "VARCHAR NOT NULL"),
        ("uid", "VARCHAR NOT NULL"),
        ("return_uid", "VARCHAR"),
        ("source_order_id", "VARCHAR"),
        ("source_line_item_uid", "VARCHAR"),
        ("catalog_object_id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("variation_name", "VARCHAR"),
        ("item_type", "VARCHAR"),
        ("quantity", "DECIMAL(18,5)"),
        ("currency", "VARCHAR"),
        ("base_price_amount", "BIGINT"),
        ("variation_total_price_amount", "BIGINT"),
        ("gross_return_amount", "BIGINT"),
        ("modifiers_amount", "BIGINT"),
        ("total_discount_amount", "BIGINT"),
        ("total_tax_amount", "BIGINT"),
        ("additive_tax_amount", "BIGINT"),
        ("inclusive_tax_amount", "BIGINT"),
        ("total_amount", "BIGINT"),
    ),
    key=("order_id", "uid"),
    parent="order_id",
)

ORDER_TENDERS = StagingTable(
    "stg_order_tenders",
    (
        ("order_id", "VARCHAR NOT NULL"),
        ("tender_id", "VARCHAR NOT NULL"),
        ("type", "VARCHAR"),
        ("currency", "VARCHAR"),
        ("amount", "BIGINT"),
        ("tip_amount", "BIGINT"),
        ("processing_fee_amount", "BIGINT"),
        ("card_brand", "VARCHAR"),
        ("payment_id", "VARCHAR"),
        ("customer_id", "VARCHAR"),
    ),
    key=("order_id", "tender_id"),
    parent="order_id",
)

PAYMENTS = StagingTable(
    "stg_payments",
    (
        ("id", "VARCHAR NOT NULL"),
        ("location_id", "VARCHAR"),
        ("order_id", "VARCHAR"),
        ("customer_id", "VARCHAR"),
        ("team_member_id", "VARCHAR"),
        ("status", "VARCHAR"),
        ("source_type", "VARCHAR"),
        ("card_brand", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
        ("updated_at", "TIMESTAMP"),
        ("currency", "VARCHAR"),
        ("amount", "BIGINT"),
        ("tip_amount", "BIGINT"),
        ("total_amount", "BIGINT"),
        ("refunded_amount", "BIGINT"),
        ("processing_fee_amount", "BIGINT"),
        ("raw", "JSON"),
        ("_synced_at", "TIMESTAMP"),
    ),
    key=("id",),
    version="updated_at",
)

REFUNDS = StagingTable(
    "stg_refunds",
    (
        ("id", "VARCHAR NOT NULL"),
        ("location_id", "VARCHAR"),
        ("payment_id", "VARCHAR"),
        ("order_id", "VARCHAR"),
        ("team_member_id", "VARCHAR"),
        ("status", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
        ("updated_at", "TIMESTAMP"),
        ("currency", "VARCHAR"),
        ("amount", "BIGINT"),
        ("processing_fee_amount", "BIGINT"),
        ("raw", "JSON"),
        ("_synced_at", "TIMESTAMP"),
    ),
    key=("id",),
    version="updated_at",
)

CUSTOMERS = StagingTable(
    "stg_customers",
    (
        ("id", "VARCHAR NOT NULL"),
        ("version", "BIGINT"),
        ("created_at", "TIMESTAMP"),
        ("updated_at", "TIMESTAMP"),
        ("given_name", "VARCHAR"),
        ("family_name", "VARCHAR"),
        ("company_name", "VARCHAR"),
        ("email_address", "VARCHAR"),
        ("creation_source", "VARCHAR"),
        ("raw", "JSON"),
        ("_synced_at", "TIMESTAMP"),
    ),
    key=("id",),
    version="version",
)

TEAM_MEMBERS = StagingTable(
    "stg_team_members",
    (
        ("id", "VARCHAR NOT NULL"),
        ("status", "VARCHAR"),
        ("is_owner", "BOOLEAN"),
        ("given_name", "VARCHAR"),
        ("family_name", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
        ("updated_at", "TIMESTAMP"),
        ("raw", "JSON"),
        ("_synced_at", "TIMESTAMP"),
    ),
    key=("id",),
    version="updated_at",
)

STAGING_TABLES: tuple[StagingTable, ...] = (
    LOCATIONS,
    CATALOG_OBJECTS,
    ORDERS,
    ORDER_LINE_ITEMS,
    ORDER_RETURN_LINE_ITEMS,
    ORDER_TENDERS,
    PAYMENTS,
    REFUNDS,
    CUSTOMERS,
    TEAM_MEMBERS,
)


def create_staging_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every staging table; a table an older version made with a PRIMARY KEY is rebuilt
    without it, keeping its rows."""
    keyed = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_constraints() "
            "WHERE constraint_type = 'PRIMARY KEY' "
            "AND database_name = current_database() AND schema_name = current_schema()"
        ).fetchall()
    }
    for table in STAGING_TABLES:
        if table.name in keyed:
            _drop_primary_key(con, table)
        else:
            con.execute(table.ddl())


def _drop_primary_key(con: duckdb.DuckDBPyConnection, table: StagingTable) -> None:
    """DuckDB cannot drop a constraint: copy the rows into a new table made by today's DDL."""
    old = f"{table.name}_with_primary_key"
    with transaction(con):
        con.execute(f"ALTER TABLE {table.name} RENAME TO {old}")
        con.execute(table.ddl())
        con.execute(f"INSERT INTO {table.name} BY NAME SELECT * FROM {old}")
        con.execute(f"DROP TABLE {old}")

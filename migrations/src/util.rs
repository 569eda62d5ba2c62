//! Small builders shared by the migration files, so every table spells
//! timestamps, foreign keys and indexes the same way.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null};

/// A required timestamp column (milliseconds since the Unix epoch).
pub fn millis(name: &'static str) -> ColumnDef {
    big_integer(name)
}

/// An optional timestamp column (milliseconds since the Unix epoch).
pub fn millis_null(name: &'static str) -> ColumnDef {
    big_integer_null(name)
}

/// A foreign key from `table.column` to `target.target_column` that deletes
/// the child rows with the parent (used for personal data, so erasing a user
/// erases what hangs off them).
pub fn cascade(
    table: &'static str,
    column: &'static str,
    target: &'static str,
    target_column: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(target, target_column)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

/// A non-unique index named `idx_<table>_<columns>`.
pub fn index(table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create()
        .name(format!("idx_{table}_{}", columns.join("_")))
        .table(table)
        .if_not_exists()
        .take();
    for column in columns {
        stmt.col(*column);
    }
    stmt
}

/// A unique index named `uq_<table>_<columns>`.
pub fn unique(table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = index(table, columns);
    stmt.name(format!("uq_{table}_{}", columns.join("_")))
        .unique();
    stmt
}

/// Creates the given indexes in order.
pub async fn create_indexes(
    manager: &SchemaManager<'_>,
    indexes: Vec<IndexCreateStatement>,
) -> Result<(), DbErr> {
    for stmt in indexes {
        manager.create_index(stmt).await?;
    }
    Ok(())
}

/// Drops the given tables, children first.
pub async fn drop_tables(
    manager: &SchemaManager<'_>,
    tables: &[&'static str],
) -> Result<(), DbErr> {
    for table in tables {
        manager
            .drop_table(Table::drop().table(*table).if_exists().take())
            .await?;
    }
    Ok(())
}

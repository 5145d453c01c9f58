//! Batched inserts for the bulk path of an import: rows of new records in
//! chunks, within both backends' limits on bound parameters (SQLite
//! 32 766, PostgreSQL 65 535: 500 rows of up to 20 columns).

/// Rows per `INSERT`.
pub(crate) const CHUNK: usize = 500;

/// Inserts `rows` (a `Vec` of `Insertable` rows) into `table` in chunks.
#[macro_export]
macro_rules! insert_rows {
    ($conn:expr, $table:path, $rows:expr) => {{
        let rows = $rows;
        for chunk in rows.chunks($crate::bulk::CHUNK) {
            $crate::per_backend!($conn, |c| diesel::insert_into($table)
                .values(chunk)
                .execute(c))?;
        }
    }};
}

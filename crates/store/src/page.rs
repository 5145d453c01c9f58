//! Keyset pagination over time-ordered (v7) ids: stable under inserts and
//! the same on both backends.

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

#[derive(Debug, Clone)]
pub struct PageRequest {
    /// The id of the last record of the previous page.
    pub after: Option<String>,
    pub limit: i64,
    /// `None`: by id, oldest first.
    pub sort: Option<Sort>,
    /// Count every record the filters select, across pages.
    pub count: bool,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            after: None,
            limit: DEFAULT_LIMIT,
            sort: None,
            count: false,
        }
    }
}

/// A list's order: one of the resource's sort keys (its field name) and a
/// direction. Ties are broken by id, ascending, so a cursor stays exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: &'static str,
    pub descending: bool,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The id to continue after, when there is more.
    pub next_after: Option<String>,
    /// How many records the filters select, when asked.
    pub total: Option<i64>,
}

impl<T> Page<T> {
    /// `rows` was fetched with `limit + 1`; the extra row only says there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, id_of: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_after = if more { rows.last().map(id_of) } else { None };
        Page {
            items: rows,
            next_after,
            total: None,
        }
    }

    pub fn with_total(self, total: Option<i64>) -> Self {
        Page { total, ..self }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_after: self.next_after,
            total: self.total,
        }
    }

    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            next_after: self.next_after,
            total: self.total,
        })
    }
}

diesel::define_sql_function! {
    /// The 1-based place of `needle` in `haystack`, 0 when absent (SQLite's
    /// own; PostgreSQL's is created by migration `…000004_list_filters`).
    fn instr(haystack: diesel::sql_types::Text, needle: diesel::sql_types::Text) -> diesel::sql_types::Integer;
}

/// The four ways `tag` appears in a JSON array of tags as serde writes it
/// (`["a","b"]`): its JSON form between element boundaries. Inside a JSON
/// string a quote is always escaped, so `["x"`, `,"x"` and the like only
/// occur at an element's edges.
pub fn tag_needles(tag: &str) -> [String; 4] {
    let json = serde_json::to_string(tag).unwrap_or_default();
    [
        format!("[{json}]"),
        format!("[{json},"),
        format!(",{json},"),
        format!(",{json}]"),
    ]
}

/// Whether the tags column holds exactly `tag`; `instr` is case-sensitive
/// and has no wildcards, unlike `LIKE` on SQLite.
#[macro_export]
macro_rules! has_tag {
    ($column:expr, $tag:expr) => {{
        use $crate::page::instr;
        let [a, b, c, d] = $crate::page::tag_needles($tag);
        instr($column, a)
            .gt(0)
            .or(instr($column, b).gt(0))
            .or(instr($column, c).gt(0))
            .or(instr($column, d).gt(0))
    }};
}

/// The error for a cursor whose record is gone while sorting by a field:
/// its place in that order is no longer known.
pub fn cursor_gone() -> crate::StoreError {
    crate::StoreError::Invalid(palisade_domain::ValidationErrors::single(
        "cursor",
        "names a record that is gone: start again without it",
    ))
}

/// Loads one page of a list: `$filtered` builds the boxed, filtered query
/// (called again to count when asked); `$owner` keeps the cursor's lookup
/// inside the list (a cursor from elsewhere is a gone record); the keys
/// name the sortable columns and their Rust types. No sort means by id.
#[macro_export]
macro_rules! list_page {
    ($conn:expr, $page:expr, $table:ident, $row:ty, $owner:expr, $filtered:expr,
     { $($key:literal => ($col:expr, $ty:ty)),* $(,)? }) => {{
        use diesel::prelude::*;
        let page: &$crate::PageRequest = $page;
        let total: Option<i64> = if page.count {
            Some($filtered().count().get_result($conn)?)
        } else {
            None
        };
        let mut query = $filtered().select(<$row>::as_select());
        // Unused by a list with no sort keys.
        #[allow(unused_variables)]
        let descending = page.sort.is_some_and(|s| s.descending);
        match page.sort.map(|s| s.key) {
            None => {
                if let Some(after) = &page.after {
                    query = query.filter($table::id.gt(after.clone()));
                }
                query = query.order($table::id.asc());
            }
            $(Some($key) => {
                if let Some(after) = &page.after {
                    let v: $ty = $table::table
                        .filter($owner)
                        .filter($table::id.eq(after.clone()))
                        .select($col)
                        .first($conn)
                        .optional()?
                        .ok_or_else($crate::page::cursor_gone)?;
                    let tie = $col.eq(v.clone()).and($table::id.gt(after.clone()));
                    // The plain bound lets an index start at the cursor.
                    query = if descending {
                        query.filter($col.le(v.clone())).filter($col.lt(v).or(tie))
                    } else {
                        query.filter($col.ge(v.clone())).filter($col.gt(v).or(tie))
                    };
                }
                query = if descending {
                    query.order(($col.desc(), $table::id.asc()))
                } else {
                    query.order(($col.asc(), $table::id.asc()))
                };
            })*
            Some(other) => {
                return Err($crate::StoreError::Invalid(
                    palisade_domain::ValidationErrors::single(
                        "sort",
                        format!("cannot sort by {other}"),
                    ),
                ))
            }
        }
        let rows: Vec<$row> = query.limit(page.limit + 1).load($conn)?;
        $crate::Page::from_rows(rows, page.limit, |r| r.id.clone()).with_total(total)
    }};
}

/// Pages records filtered in memory (where a filter is computed, not
/// stored), in the order `list_page!` gives: by `key` when sorting (ties by
/// id), else by id.
pub fn page_in_memory<T, K: Ord>(
    items: Vec<T>,
    page: &PageRequest,
    id_of: impl Fn(&T) -> String,
    key: Option<impl Fn(&T) -> K>,
) -> Result<Page<T>, crate::StoreError> {
    let total = page
        .count
        .then(|| i64::try_from(items.len()).unwrap_or(i64::MAX));
    let mut keyed: Vec<(String, T)> = items.into_iter().map(|t| (id_of(&t), t)).collect();
    let rows: Vec<T> = match key {
        None => {
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            keyed
                .into_iter()
                .filter(|(id, _)| page.after.as_ref().is_none_or(|after| id > after))
                .map(|(_, t)| t)
                .collect()
        }
        Some(key) => {
            let descending = page.sort.is_some_and(|s| s.descending);
            keyed.sort_by(|a, b| {
                let by_key = key(&a.1).cmp(&key(&b.1));
                let by_key = if descending { by_key.reverse() } else { by_key };
                by_key.then_with(|| a.0.cmp(&b.0))
            });
            let start = match &page.after {
                None => 0,
                Some(after) => {
                    keyed
                        .iter()
                        .position(|(id, _)| id == after)
                        .ok_or_else(cursor_gone)?
                        + 1
                }
            };
            keyed.into_iter().skip(start).map(|(_, t)| t).collect()
        }
    };
    let take = usize::try_from(page.limit + 1).unwrap_or(usize::MAX);
    let rows: Vec<T> = rows.into_iter().take(take).collect();
    Ok(Page::from_rows(rows, page.limit, id_of).with_total(total))
}

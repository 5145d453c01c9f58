//! Keyset pagination over time-ordered (v7) ids: stable under inserts and
//! the same on both backends.

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

#[derive(Debug, Clone)]
pub struct PageRequest {
    /// The id of the last record of the previous page.
    pub after: Option<String>,
    pub limit: i64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            after: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The id to continue after, when there is more.
    pub next_after: Option<String>,
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
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_after: self.next_after,
        }
    }

    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            next_after: self.next_after,
        })
    }
}

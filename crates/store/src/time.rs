use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// Now, to the microsecond: PostgreSQL keeps microseconds and SQLite keeps
/// whatever it is given, so both must be given the same.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

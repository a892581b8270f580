use chrono::{Duration, NaiveDate, NaiveDateTime};

use crate::db::now;

/// When a key stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    Days(i64),
    /// The end of that day (UTC).
    On(NaiveDate),
    /// An exact time (the API's `expires_at`).
    At(NaiveDateTime),
    /// Editing: leave the expiry as it is.
    Keep,
}

impl Expiry {
    /// The time the key expires at, given the one it has (`current`); in the past is refused.
    pub(super) fn resolve(
        self,
        current: Option<NaiveDateTime>,
    ) -> Result<Option<NaiveDateTime>, String> {
        let at = now();
        match self {
            Self::Never => Ok(None),
            Self::Keep => Ok(current),
            Self::Days(days) => Ok(Some(at + Duration::days(days))),
            Self::At(at_time) => {
                if at_time <= at {
                    Err("Choose a time in the future.".to_string())
                } else {
                    Ok(Some(at_time))
                }
            }
            Self::On(date) => {
                let end = date.and_hms_opt(23, 59, 59).ok_or("Enter a valid date.")?;
                if end <= at {
                    Err("Choose a date in the future.".to_string())
                } else {
                    Ok(Some(end))
                }
            }
        }
    }
}

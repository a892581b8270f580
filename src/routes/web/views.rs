//! What several pages show the same way: times, a page of a list, an object's history.

use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::authz::Outcome;
use crate::models::audit::AuditEvent;

/// Rows per page of the console's lists.
pub const PAGE_SIZE: i64 = 25;

/// "2026-11-26 14:03 UTC"
pub fn format_time(at: &NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn format_optional(at: Option<NaiveDateTime>, none: &str) -> String {
    at.as_ref().map_or_else(|| none.to_string(), format_time)
}

/// `?page=N` of a list page.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

impl PageQuery {
    /// The page asked for, from 1.
    pub fn requested(&self) -> i64 {
        self.page.unwrap_or(1).max(1)
    }
}

/// A list page: the page shown (the one asked for, within range), how many pages there are, and the
/// offset of its first row.
pub struct PageWindow {
    pub page: i64,
    pub pages: i64,
    pub offset: i64,
}

impl PageWindow {
    pub fn new(total: i64, requested: i64, size: i64) -> Self {
        let pages = ((total + size - 1) / size).max(1);
        let page = requested.clamp(1, pages);
        Self {
            page,
            pages,
            offset: (page - 1) * size,
        }
    }
}

/// One row of an object's history (a key's, a person's).
pub struct HistoryRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub summary: String,
    pub outcome: String,
    pub succeeded: bool,
}

/// Whether an event's stored outcome is a success.
pub fn succeeded(outcome: &str) -> bool {
    Outcome::parse(outcome) == Some(Outcome::Success)
}

pub fn history_rows(events: Vec<AuditEvent>) -> Vec<HistoryRow> {
    events
        .into_iter()
        .map(|e| HistoryRow {
            at: format_time(&e.occurred_at),
            actor: e.actor_label,
            action: e.action,
            summary: e.summary,
            succeeded: succeeded(&e.outcome),
            outcome: e.outcome,
        })
        .collect()
}

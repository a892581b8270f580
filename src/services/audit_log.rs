//! The audit log: recording what people and keys did, and reading it back (filters, pages,
//! exports).

use chrono::{Duration, NaiveDate};

use crate::auth::Principal;
use crate::authz::catalog::AUDIT_LOG_RETRIEVE;
use crate::authz::{AuditAction, Outcome};
use crate::db::Db;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::audit::{self, Target};
use crate::services::FieldErrors;

pub use crate::models::audit::{AuditEvent, AuditFilter, Cursor};

/// Records that `principal` did `action` to `target`, in the caller's transaction.
pub fn record(
    conn: &mut DbConnection,
    principal: &Principal,
    action: AuditAction,
    target: Target,
    summary: impl Into<String>,
) -> Result<(), AppError> {
    audit::record(
        conn,
        audit::NewEvent {
            actor: &principal.actor(),
            action,
            target,
            summary: summary.into(),
            ip_address: principal.ip.as_deref(),
            outcome: Outcome::Success,
        },
    )?;
    Ok(())
}

/// Role names for an event's summary: `Billing, Reports`, or `none`.
pub fn role_names(roles: &[crate::models::role::Role]) -> String {
    if roles.is_empty() {
        return "none".into();
    }
    roles
        .iter()
        .map(|r| r.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refusals of one actor for one permission within this long are one audit event with a count.
pub const DENIALS_AGGREGATED_SECS: i64 = 3600;

/// Records that `principal` was refused `attempt` (`POST /roles`) for lacking `permission`. Repeats
/// by the same actor for the same permission within [`DENIALS_AGGREGATED_SECS`] count on that event
/// instead of adding rows, so a caller cannot grow the log by being refused. Failing to record is
/// logged, never the caller's problem: the refusal stands either way.
pub async fn record_denial(db: &Db, principal: Principal, attempt: String, permission: String) {
    let outcome = db
        .run(move |conn| {
            audit::record_repeated(
                conn,
                audit::NewEvent {
                    actor: &principal.actor(),
                    action: AuditAction::AccessDenied,
                    target: Target::route(attempt),
                    summary: format!("missing permission {permission}"),
                    ip_address: principal.ip.as_deref(),
                    outcome: Outcome::Denied,
                },
                crate::db::now() - Duration::seconds(DENIALS_AGGREGATED_SECS),
            )
            .map_err(AppError::from)
        })
        .await;
    match outcome {
        Ok(()) => {}
        // During a database outage (logged once by the database layer) nothing can be recorded.
        Err(AppError::Unavailable(detail)) => {
            tracing::debug!(error = %detail, "cannot record a denied attempt: database unavailable")
        }
        Err(err) => {
            tracing::error!(error = ?err, "cannot record a denied attempt in the audit log")
        }
    }
}

pub const PAGE_SIZE: i64 = 50;
/// The most rows one export holds; narrow the filters for more.
pub const EXPORT_LIMIT: i64 = 100_000;

/// The filters as typed in the tab's form (or the query string of an export).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub after: String,
}

impl AuditQuery {
    /// The filter, or messages for dates that are not dates.
    pub fn filter(&self) -> Result<AuditFilter, FieldErrors> {
        let mut errors = FieldErrors::default();
        let text = |value: &str| Some(value.trim().to_string()).filter(|v| !v.is_empty());
        let mut date = |field: &str, value: &str| match value.trim() {
            "" => None,
            given => match NaiveDate::parse_from_str(given, "%Y-%m-%d") {
                Ok(day) => day.and_hms_opt(0, 0, 0),
                Err(_) => {
                    errors.add(field, "Enter the date as YYYY-MM-DD.");
                    None
                }
            },
        };
        let from = date("from", &self.from);
        // "until" is inclusive: events of that whole day are shown.
        let until = date("until", &self.until).map(|day| day + Duration::days(1));
        errors.into_result()?;
        Ok(AuditFilter {
            actor: text(&self.actor),
            action: text(&self.action),
            target: text(&self.target),
            from,
            until,
        })
    }

    /// The query string for the same filters (for export links and the next page).
    pub fn to_query_string(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("actor", &self.actor)
            .append_pair("action", &self.action)
            .append_pair("target", &self.target)
            .append_pair("from", &self.from)
            .append_pair("until", &self.until)
            .finish()
    }
}

/// One page of events (newest first) and the cursor of the next page, if there is one.
pub async fn page(
    db: &Db,
    principal: &Principal,
    filter: AuditFilter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<(Vec<AuditEvent>, Option<String>), AppError> {
    principal.require(AUDIT_LOG_RETRIEVE)?;
    let mut events = db
        .run(move |conn| {
            Ok::<_, AppError>(audit::search(conn, &filter, after.as_ref(), limit + 1)?)
        })
        .await?;
    let next = if events.len() as i64 > limit {
        events.truncate(limit as usize);
        events.last().map(|e| {
            Cursor {
                occurred_at: e.occurred_at,
                id: e.id.clone(),
            }
            .encode()
        })
    } else {
        None
    };
    Ok((events, next))
}

pub async fn export(
    db: &Db,
    principal: &Principal,
    filter: AuditFilter,
) -> Result<Vec<AuditEvent>, AppError> {
    principal.require(AUDIT_LOG_RETRIEVE)?;
    db.run(move |conn| Ok::<_, AppError>(audit::search(conn, &filter, None, EXPORT_LIMIT)?))
        .await
}

/// The last events about one object, for its detail page (empty without `audit-log.retrieve`).
pub async fn history(
    db: &Db,
    principal: &Principal,
    target_id: String,
) -> Result<Vec<AuditEvent>, AppError> {
    if !principal.can(AUDIT_LOG_RETRIEVE) {
        return Ok(Vec::new());
    }
    db.run(move |conn| Ok::<_, AppError>(audit::recent_for_target(conn, &target_id, 10)?))
        .await
}

/// Writes events as CSV. Cells that a spreadsheet would run as a formula are prefixed with `'`.
pub fn to_csv(events: &[AuditEvent]) -> String {
    let mut out = String::from("occurred_at,actor_kind,actor,action,target_kind,target,target_id,outcome,ip_address,summary,repeat_count,last_occurred_at\n");
    for e in events {
        let row = [
            e.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            e.actor_kind.clone(),
            e.actor_label.clone(),
            e.action.clone(),
            e.target_kind.clone(),
            e.target_label.clone(),
            e.target_id.clone().unwrap_or_default(),
            e.outcome.clone(),
            e.ip_address.clone().unwrap_or_default(),
            e.summary.clone(),
            e.repeat_count.to_string(),
            e.last_occurred_at
                .map(|at| at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
                .unwrap_or_default(),
        ];
        out.push_str(
            &row.iter()
                .map(|cell| csv_cell(cell))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

fn csv_cell(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Actions offered in the filter's suggestions, sorted.
pub fn known_actions() -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
    actions.sort_unstable();
    actions
}

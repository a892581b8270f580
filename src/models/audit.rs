//! The audit log: who did what to which object, when, from where, and the outcome.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::audit_events;
use crate::db::{new_id, now, DbConnection};

pub const OUTCOME_SUCCESS: &str = "success";
pub const OUTCOME_FAILURE: &str = "failure";
pub const OUTCOME_DENIED: &str = "denied";

/// Who acted.
#[derive(Debug, Clone)]
pub enum Actor {
    User { id: String, label: String },
    Anonymous,
    System,
}

/// What an event is about.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: &'static str,
    pub id: Option<String>,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub target: Target,
    pub summary: String,
    pub ip_address: Option<&'a str>,
    pub outcome: &'a str,
}

pub fn record(conn: &mut DbConnection, event: NewEvent) -> QueryResult<()> {
    let (actor_kind, actor_id, actor_label) = match event.actor {
        Actor::User { id, label } => ("user", Some(id.as_str()), label.as_str()),
        Actor::Anonymous => ("anonymous", None, "anonymous"),
        Actor::System => ("system", None, "system"),
    };
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(new_id()),
            audit_events::occurred_at.eq(now()),
            audit_events::actor_kind.eq(actor_kind),
            audit_events::actor_id.eq(actor_id),
            audit_events::actor_label.eq(actor_label),
            audit_events::action.eq(event.action),
            audit_events::target_kind.eq(event.target.kind),
            audit_events::target_id.eq(event.target.id),
            audit_events::target_label.eq(event.target.label),
            audit_events::summary.eq(event.summary),
            audit_events::ip_address.eq(event.ip_address),
            audit_events::outcome.eq(event.outcome),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Times of the events with this action and target id since `since`, oldest first.
pub fn times_since(
    conn: &mut DbConnection,
    action: &str,
    target_id: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<NaiveDateTime>> {
    audit_events::table
        .filter(audit_events::target_id.eq(target_id))
        .filter(audit_events::action.eq(action))
        .filter(audit_events::occurred_at.ge(since))
        .order(audit_events::occurred_at.asc())
        .select(audit_events::occurred_at)
        .load(conn)
}

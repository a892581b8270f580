//! The audit log: who did what to which object, when, from where, and the outcome.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::authz::{ActorKind, AuditAction, Outcome, TargetKind};
use crate::db::schema::audit_events;
use crate::db::{new_id, now, DbConnection};
use crate::limits::{client_network_label, truncate, AUDIT_TEXT_MAX};

/// Who acted.
#[derive(Debug, Clone)]
pub enum Actor {
    User { id: String, label: String },
    Key { id: String, label: String },
    Anonymous,
    System,
}

/// What an event is about.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: TargetKind,
    pub id: Option<String>,
    pub label: String,
}

impl Target {
    /// An object with an id (a key, a role, a person, a permission by name).
    pub fn new(kind: TargetKind, id: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            kind,
            id: Some(id.into()),
            label: label.into(),
        }
    }

    pub fn key(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(TargetKind::Key, id, name)
    }

    pub fn user(id: impl Into<String>, email: impl Into<String>) -> Self {
        Self::new(TargetKind::User, id, email)
    }

    pub fn role(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(TargetKind::Role, id, name)
    }

    /// A permission, whose name is its id.
    pub fn permission(name: &str) -> Self {
        Self::new(TargetKind::Permission, name, name)
    }

    /// A console page or API endpoint, named by method and path.
    pub fn route(attempt: impl Into<String>) -> Self {
        Self {
            kind: TargetKind::Route,
            id: None,
            label: attempt.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub actor: &'a Actor,
    pub action: AuditAction,
    pub target: Target,
    pub summary: String,
    pub ip_address: Option<&'a str>,
    pub outcome: Outcome,
}

/// Records an event. Every text it stores is cut to [`AUDIT_TEXT_MAX`] characters here, so no
/// input (a typed email, a refused call's path) can make one event large, and every value fits the
/// indexes on both backends.
pub fn record(conn: &mut DbConnection, event: NewEvent) -> QueryResult<()> {
    let (actor_kind, actor_id, actor_label) = actor_columns(event.actor);
    let network = event.ip_address.and_then(client_network_label);
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(new_id()),
            audit_events::occurred_at.eq(now()),
            audit_events::actor_kind.eq(actor_kind),
            audit_events::actor_id.eq(actor_id.map(bounded)),
            audit_events::actor_label.eq(bounded(actor_label)),
            audit_events::action.eq(event.action.as_str()),
            audit_events::target_kind.eq(event.target.kind.as_str()),
            audit_events::target_id.eq(event.target.id.as_deref().map(bounded)),
            audit_events::target_label.eq(bounded(&event.target.label)),
            audit_events::summary.eq(bounded(&event.summary)),
            audit_events::ip_address.eq(event.ip_address.map(bounded)),
            audit_events::outcome.eq(event.outcome.as_str()),
            audit_events::client_network.eq(network),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records an event that may repeat (a refused call) as one more of the same actor's matching event
/// since `since`, if there is one, so that a client retrying a refused call cannot grow the log.
/// The count is one additive update: concurrent repeats are never lost.
pub fn record_repeated(
    conn: &mut DbConnection,
    event: NewEvent,
    since: NaiveDateTime,
) -> QueryResult<()> {
    let (_, actor_id, _) = actor_columns(event.actor);
    let Some(actor_id) = actor_id else {
        return record(conn, event);
    };
    let latest = audit_events::table
        .filter(audit_events::actor_id.eq(bounded(actor_id)))
        .filter(audit_events::action.eq(event.action.as_str()))
        .filter(audit_events::summary.eq(bounded(&event.summary)))
        .filter(audit_events::occurred_at.ge(since))
        .order((audit_events::occurred_at.desc(), audit_events::id.desc()))
        .select(audit_events::id)
        .first::<String>(conn)
        .optional()?;
    let Some(latest) = latest else {
        return record(conn, event);
    };
    diesel::update(audit_events::table.find(latest))
        .set((
            audit_events::repeat_count.eq(audit_events::repeat_count + 1),
            audit_events::last_occurred_at.eq(Some(now())),
        ))
        .execute(conn)
        .map(|_| ())
}

fn actor_columns(actor: &Actor) -> (&'static str, Option<&str>, &str) {
    match actor {
        Actor::User { id, label } => (ActorKind::User.as_str(), Some(id.as_str()), label.as_str()),
        Actor::Key { id, label } => (ActorKind::Key.as_str(), Some(id.as_str()), label.as_str()),
        Actor::Anonymous => (ActorKind::Anonymous.as_str(), None, "anonymous"),
        Actor::System => (ActorKind::System.as_str(), None, "system"),
    }
}

fn bounded(text: &str) -> String {
    truncate(text, AUDIT_TEXT_MAX).into_owned()
}

/// Which events a failure count counts: one action, and either one target id (an account) or one
/// client network (see [`crate::limits::client_network`]).
#[derive(Debug, Clone, Copy)]
pub enum CountedBy<'a> {
    Target(&'a str),
    /// A client address, counted by its network; text that is not an address counts nothing.
    Network(&'a str),
}

/// The events with `action` matching `by` since `since`, as a boxed query (each filter uses an
/// index: `(target_id, occurred_at)` or `(client_network, action, occurred_at)`); `None` when
/// nothing can match.
fn counted<'a>(
    action: AuditAction,
    by: CountedBy<'a>,
    since: NaiveDateTime,
) -> Option<audit_events::BoxedQuery<'a, <DbConnection as diesel::Connection>::Backend>> {
    let query = audit_events::table
        .filter(audit_events::action.eq(action.as_str()))
        .filter(audit_events::occurred_at.ge(since))
        .into_boxed();
    Some(match by {
        CountedBy::Target(id) => query.filter(audit_events::target_id.eq(id)),
        CountedBy::Network(ip) => {
            query.filter(audit_events::client_network.eq(client_network_label(ip)?))
        }
    })
}

/// How many events with `action` matching `by` happened since `since` (counted in SQL).
pub fn count_since(
    conn: &mut DbConnection,
    action: AuditAction,
    by: CountedBy,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    match counted(action, by, since) {
        Some(query) => query.count().get_result(conn),
        None => Ok(0),
    }
}

/// The time of the `nth` (from 0, oldest first) of those events, if there are that many.
pub fn nth_time_since(
    conn: &mut DbConnection,
    action: AuditAction,
    by: CountedBy,
    since: NaiveDateTime,
    nth: i64,
) -> QueryResult<Option<NaiveDateTime>> {
    let Some(query) = counted(action, by, since) else {
        return Ok(None);
    };
    query
        .order(audit_events::occurred_at.asc())
        .select(audit_events::occurred_at)
        .offset(nth)
        .limit(1)
        .first(conn)
        .optional()
}

/// One entry of the audit log.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: String,
    /// RFC 3339 in UTC, with microseconds (`2026-11-26T04:11:03.980989Z`), like every time the API answers.
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "utc_rfc3339")]
    pub occurred_at: NaiveDateTime,
    /// `user`, `service-account`, `anonymous` or `system`.
    pub actor_kind: String,
    #[schema(required = true)]
    pub actor_id: Option<String>,
    pub actor_label: String,
    pub action: String,
    pub target_kind: String,
    #[schema(required = true)]
    pub target_id: Option<String>,
    pub target_label: String,
    pub summary: String,
    #[schema(required = true)]
    pub ip_address: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// How many times this happened: repeated refusals of one actor for one permission within an
    /// hour are one event, from `occurred_at` (the first) to `last_occurred_at` (the latest).
    pub repeat_count: i32,
    /// The latest repeat (null when the event happened once).
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    #[serde(serialize_with = "utc_rfc3339_opt")]
    pub last_occurred_at: Option<NaiveDateTime>,
}

/// The audit log's filters; each is an exact match so that it can use an index at any size.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// An actor's email (or key name), or their id.
    pub actor: Option<String>,
    pub action: Option<String>,
    /// A target's name or id.
    pub target: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

/// Where the next page starts: the last event shown (keyset pagination, fast on deep pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub occurred_at: NaiveDateTime,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!(
            "{}_{}",
            self.occurred_at.and_utc().timestamp_micros(),
            self.id
        )
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (micros, id) = text.split_once('_')?;
        let occurred_at =
            chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
        Some(Self {
            occurred_at,
            id: id.to_string(),
        })
    }
}

/// Events matching `filter`, newest first, starting after `after`.
pub fn search(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    after: Option<&Cursor>,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    let mut query = audit_events::table
        .select(AuditEvent::as_select())
        .into_boxed();
    if let Some(actor) = &filter.actor {
        query = query.filter(
            audit_events::actor_label
                .eq(actor.clone())
                .or(audit_events::actor_id.eq(actor.clone())),
        );
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(target) = &filter.target {
        query = query.filter(
            audit_events::target_label
                .eq(target.clone())
                .or(audit_events::target_id.eq(target.clone())),
        );
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::occurred_at.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::occurred_at.lt(until));
    }
    if let Some(cursor) = after {
        query = query.filter(
            audit_events::occurred_at
                .lt(cursor.occurred_at)
                .or(audit_events::occurred_at
                    .eq(cursor.occurred_at)
                    .and(audit_events::id.lt(cursor.id.clone()))),
        );
    }
    query
        .order((audit_events::occurred_at.desc(), audit_events::id.desc()))
        .limit(limit)
        .load(conn)
}

/// The latest events about one object (a key's or a user's history).
pub fn recent_for_target(
    conn: &mut DbConnection,
    target_id: &str,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    audit_events::table
        .filter(audit_events::target_id.eq(target_id))
        .order((audit_events::occurred_at.desc(), audit_events::id.desc()))
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
}

fn utc_rfc3339<S: serde::Serializer>(at: &NaiveDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(
        &at.and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    )
}

fn utc_rfc3339_opt<S: serde::Serializer>(
    at: &Option<NaiveDateTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => utc_rfc3339(at, serializer),
        None => serializer.serialize_none(),
    }
}

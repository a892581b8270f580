//! Every bound on input in one place: the longest email, name and description Latchkey stores, the
//! characters text may hold, and how client addresses are grouped for per-address limits.
//!
//! The services check text against these (forms and API alike), the templates set `maxlength` from
//! them, and a test holds the OpenAPI document's `maxLength`s to them (utoipa takes literals only).

use std::borrow::Cow;
use std::net::{IpAddr, Ipv6Addr};

/// The longest email address (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;
/// A person's display name.
pub const DISPLAY_NAME_MAX: usize = 100;
/// An API key's name and description.
pub const KEY_NAME_MAX: usize = 100;
pub const KEY_DESCRIPTION_MAX: usize = 500;
/// A role's name (as long as a key's: an unnamed inline role is named after its key) and description.
pub const ROLE_NAME_MAX: usize = 100;
pub const ROLE_DESCRIPTION_MAX: usize = 500;
/// A permission's name (`resource.action`) and description.
pub const PERMISSION_NAME_MAX: usize = 100;
pub const PERMISSION_DESCRIPTION_MAX: usize = 200;
/// The most roles one request may name for a key or a person (`roles` in the API, `role_ids` in
/// forms): each reference costs lookups inside a write transaction, so an unbounded list would let
/// one request hold the database's write lock for seconds.
pub const ROLE_REFERENCES_MAX: usize = 100;
/// The most roles created together with one key (`new_roles`).
pub const NEW_ROLES_MAX: usize = 20;
/// The most permissions one request may put into a role (`permissions`). Far above the catalog's
/// built-in size; a catalog grown beyond it cannot be given whole to one custom role.
pub const ROLE_PERMISSIONS_MAX: usize = 500;
/// The longest text one audit event stores in a label, id or summary (a refused call's path, an
/// email typed at sign-in): longer text is cut there, so a refusal never writes more than this.
pub const AUDIT_TEXT_MAX: usize = 512;

/// The characters a one-line field (a name, an email) may not hold: every control character, NUL
/// included.
pub fn has_control_chars(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// The same for multi-line text (descriptions): control characters other than tab and line breaks.
pub fn has_control_chars_multiline(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// The message beside a field holding characters it may not hold.
pub const CONTROL_CHARS_MESSAGE: &str =
    "Remove the control characters (such as NUL) from this text.";
/// The same for a one-line field, where line breaks and tabs are control characters too.
pub const CONTROL_CHARS_LINE_MESSAGE: &str =
    "Remove the control characters (such as NUL, tabs or line breaks) from this text.";

/// Why a one-line field's text is refused for its characters, if it is.
pub fn line_problem(text: &str) -> Option<&'static str> {
    has_control_chars(text).then_some(CONTROL_CHARS_LINE_MESSAGE)
}

/// Why a multi-line field's text is refused for its characters, if it is.
pub fn text_problem(text: &str) -> Option<&'static str> {
    has_control_chars_multiline(text).then_some(CONTROL_CHARS_MESSAGE)
}

/// Whether `name` is a built-in role's id or name (case-insensitively): no other role may take it,
/// so nothing can pass itself off as the Admin role in a list, a log or an API answer.
pub fn is_builtin_role_name(name: &str) -> bool {
    use crate::authz::catalog::{ADMIN_ROLE_ID, ADMIN_ROLE_NAME};
    let name = name.trim();
    [ADMIN_ROLE_ID, ADMIN_ROLE_NAME]
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(name))
}

/// A conservative email syntax: one `@`; a local part without spaces, angle brackets, double quotes,
/// backticks, backslashes, commas, semicolons or control characters; a domain of letters, digits and hyphens in
/// dot-separated labels, with at least one dot; at most [`EMAIL_MAX`] characters.
pub fn is_valid_email(email: &str) -> bool {
    if email.chars().count() > EMAIL_MAX {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.chars().count() <= 64
        && !local.chars().any(|c| {
            c.is_control()
                || c.is_whitespace()
                || matches!(
                    c,
                    '@' | '<' | '>' | '"' | '`' | '\\' | ',' | ';' | '(' | ')' | '[' | ']'
                )
        });
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    local_ok && domain_ok
}

/// `text` cut to at most `max` characters (on a character boundary), with `…` marking the cut.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((cut, _)) if text[cut..].chars().nth(1).is_some() => {
            Cow::Owned(format!("{}…", &text[..cut]))
        }
        _ => Cow::Borrowed(text),
    }
}

/// The unit per-address limits count: an IPv4 address, or the /64 network of an IPv6 address (one
/// subscriber usually holds a whole /64, so counting single IPv6 addresses would count nothing).
/// An IPv4-mapped IPv6 address counts as its IPv4 address.
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// [`client_network`] as the text stored with audit events (`203.0.113.7`, `2001:db8:1:2::/64`);
/// `None` for text that is not an address.
pub fn client_network_label(ip: &str) -> Option<String> {
    let parsed: IpAddr = ip.parse().ok()?;
    Some(match client_network(parsed) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("{v6}/64"),
    })
}

/// A password's length in characters (the form's `minlength`, the service's check).
pub const PASSWORD_MIN: usize = 12;
pub const PASSWORD_MAX: usize = 256;

/// The largest form a page may post.
pub const FORM_LIMIT_BYTES: usize = 128 * 1024;
/// The largest body any request may declare.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_of_one_64_count_as_one_client() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_network(a), client_network(b));
        assert_ne!(client_network(a), client_network(other));
        assert_eq!(
            client_network_label("2001:db8:1:2:abcd::9").as_deref(),
            Some("2001:db8:1:2::/64")
        );
    }

    #[test]
    fn ipv4_addresses_count_one_by_one_also_when_mapped() {
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let b: IpAddr = "203.0.113.8".parse().unwrap();
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_ne!(client_network(a), client_network(b));
        assert_eq!(client_network(mapped), a);
        assert_eq!(
            client_network_label("::ffff:203.0.113.7").as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(client_network_label("not an address"), None);
    }

    #[test]
    fn emails_need_one_at_a_plain_local_part_and_a_dotted_domain() {
        for good in [
            "ada@example.com",
            "first.last+tag@mail.example.co.uk",
            "o'hara@example.com",
            "x@a-b.io",
        ] {
            assert!(is_valid_email(good), "{good}");
        }
        for bad in [
            "<script>alert(17)</script>@evil.io",
            "no-at.example.com",
            "two@@example.com",
            "a@b@example.com",
            "@example.com",
            "ada@localhost",
            "ada@example..com",
            "ada@-example.com",
            "ada@exa_mple.com",
            "a da@example.com",
            "\"ada\"@example.com",
            "ada\u{0}@example.com",
            "ada@example.com\n",
        ] {
            assert!(!is_valid_email(bad), "{bad:?}");
        }
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(63));
        assert!(is_valid_email(&long));
        let too_long = format!(
            "{}@{}.{}.{}.com",
            "a".repeat(64),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(63)
        );
        assert!(too_long.len() > EMAIL_MAX);
        assert!(!is_valid_email(&too_long));
    }

    #[test]
    fn truncation_cuts_on_a_character_boundary_and_marks_the_cut() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly10!", 10), "exactly10!");
        assert_eq!(truncate("ééééééééééé", 5), "éééé…");
        assert_eq!(truncate("ééééééééééé", 5).chars().count(), 5);
    }

    #[test]
    fn names_refuse_every_control_character_descriptions_keep_line_breaks() {
        assert!(has_control_chars("a\u{0}b"));
        assert!(has_control_chars("a\nb"));
        assert!(!has_control_chars("Billing — prod"));
        assert!(has_control_chars_multiline("a\u{0}b"));
        assert!(has_control_chars_multiline("a\u{1b}[31m"));
        assert!(!has_control_chars_multiline("line one\nline two\tend"));
    }
}

//! The words the audit log, the API's 401 answers and people's records are written in, each one
//! enum so that a typo is a compile error and every list of them (a filter, a schema) is complete.

/// Declares a fieldless enum whose variants each stand for one stored or answered word, with
/// `as_str`, `ALL` (in declaration order) and `parse`.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            pub fn parse(word: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|candidate| candidate.as_str() == word)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// What an audit event records that someone did.
    AuditAction {
        AccessDenied => "access.denied",
        SignedIn => "auth.signed-in",
        SignedOut => "auth.signed-out",
        SignInFailed => "auth.sign-in-failed",
        OtherSessionsEnded => "auth.other-sessions-ended",
        PermissionCreated => "permission.created",
        PermissionUpdated => "permission.updated",
        PermissionDeleted => "permission.deleted",
        RoleCreated => "role.created",
        RoleUpdated => "role.updated",
        RoleDeleted => "role.deleted",
        KeyCreated => "service-account.created",
        KeyUpdated => "service-account.updated",
        KeyRevoked => "service-account.revoked",
        SetupCompleted => "setup.completed",
        UserCreated => "user.created",
        UserInvited => "user.invited",
        InvitationAccepted => "user.invitation-accepted",
        PasswordChanged => "user.password-changed",
        PasswordLinkIssued => "user.password-link-issued",
        PasswordReset => "user.password-reset",
        UserRolesGranted => "user.roles-granted",
        UserRolesRevoked => "user.roles-revoked",
        UserDeactivated => "user.deactivated",
        UserReactivated => "user.reactivated",
    }
}

vocabulary! {
    /// What kind of object an audit event is about.
    TargetKind {
        User => "user",
        /// An API key; the stored word keeps the help page's name.
        Key => "service-account",
        Role => "role",
        Permission => "permission",
        /// A console page or API endpoint (a refused request).
        Route => "route",
    }
}

vocabulary! {
    /// Who acted, as the audit log records it.
    ActorKind {
        User => "user",
        /// An API key; the stored word keeps the help page's name.
        Key => "service-account",
        Anonymous => "anonymous",
        System => "system",
    }
}

vocabulary! {
    /// How an audited attempt ended.
    Outcome {
        Success => "success",
        Failure => "failure",
        Denied => "denied",
    }
}

vocabulary! {
    /// Why the API refused to authenticate a request (the code of its 401 answer).
    KeyRefusal {
        /// Unknown key, or a wrong secret.
        InvalidKey => "INVALID_KEY",
        /// Not in Latchkey's key format.
        MalformedKey => "MALFORMED_KEY",
        Expired => "EXPIRED",
        Revoked => "REVOKED",
        /// No key was presented.
        Missing => "MISSING",
    }
}

impl KeyRefusal {
    /// The sentence the 401 answer carries.
    pub const fn sentence(self) -> &'static str {
        match self {
            Self::MalformedKey => "The API key is not in Latchkey's format (lk_<id>_<secret>). Send it as `Authorization: Bearer <key>`.",
            Self::Expired => "The API key has expired. Ask for a new key or a later expiry.",
            Self::Revoked => "The API key was revoked and can never be used again.",
            Self::Missing => "Send an API key as `Authorization: Bearer <key>` (or `X-Api-Key: <key>`).",
            Self::InvalidKey => "The API key is not valid.",
        }
    }
}

vocabulary! {
    /// Where a person's account stands.
    UserStatus {
        Active => "active",
        /// Invited and not yet signed in with a password of their own.
        Invited => "invited",
        Deactivated => "deactivated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_parses_back_to_its_variant_and_no_two_share_a_word() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            word: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            let mut seen = std::collections::BTreeSet::new();
            for &value in all {
                assert!(seen.insert(word(value)), "{:?} repeats a word", value);
                assert_eq!(parse(word(value)), Some(value));
            }
            assert_eq!(parse("no-such-word"), None);
        }
        check(AuditAction::ALL, AuditAction::as_str, AuditAction::parse);
        check(TargetKind::ALL, TargetKind::as_str, TargetKind::parse);
        check(Outcome::ALL, Outcome::as_str, Outcome::parse);
        check(ActorKind::ALL, ActorKind::as_str, ActorKind::parse);
        check(KeyRefusal::ALL, KeyRefusal::as_str, KeyRefusal::parse);
        check(UserStatus::ALL, UserStatus::as_str, UserStatus::parse);
    }
}

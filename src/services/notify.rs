//! Getting a one-time set-password link to the person it is for. Latchkey has no mail server yet, so
//! every link is handed to the person who issued it, shown once; a mail transport
//! (`LATCHKEY_SMTP_URL`) would be added here and nowhere else.

/// How a link reached (or must reach) its recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Show the link once to the issuer, who hands it over.
    HandOver { link: String },
}

/// Delivers an invitation or password-reset link for `email`.
pub fn deliver_password_link(email: &str, link: String) -> Delivery {
    tracing::info!(recipient = %email, "set-password link issued; shown once to the issuer");
    Delivery::HandOver { link }
}

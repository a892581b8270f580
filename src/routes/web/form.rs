//! Reads url-encoded forms with repeated fields (`role_ids=a&role_ids=b`), which actix's `Form`
//! (serde_urlencoded) cannot express.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use crate::error::AppError;
use crate::limits::FORM_LIMIT_BYTES;

#[derive(Debug, Clone, Default)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub fn parse(body: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of a field, or "" when absent.
    pub fn text(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    }

    /// Every value of a repeated field, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(key, _)| key == name)
    }
}

impl FromRequest for FormFields {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = body.await.map_err(|_| AppError::PayloadTooLarge {
                limit_kib: FORM_LIMIT_BYTES / 1024,
            })?;
            if bytes.len() > FORM_LIMIT_BYTES {
                return Err(AppError::PayloadTooLarge {
                    limit_kib: FORM_LIMIT_BYTES / 1024,
                });
            }
            Ok(Self::parse(&bytes))
        })
    }
}

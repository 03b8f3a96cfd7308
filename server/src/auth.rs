//! Authentication: OIDC ID tokens validated against their issuer's keys.
//!
//! A token is accepted when it is signed (RS256 or ES256 only) by a key its issuer publishes,
//! names a configured issuer and audience, and is within its validity window. The principal is
//! a configurable claim (default `email`); supervisors are members of a configurable group.

pub mod dev_authorize;
pub mod dev_issuer;
pub mod jwks;
mod verified;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use protocol::{ErrorCode, Millis};
use serde_json::{Map, Value};

pub use dev_issuer::DevIssuer;
pub use jwks::{Issuer, KeySource};

use crate::metrics::Metrics;

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub(crate) const LEEWAY_S: u64 = 30;
/// Longest token accepted (anything that claims to live longer is refused).
const MAX_TOKEN_CHARS: usize = 16 * 1024;

/// Who a connection belongs to, from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub principal: String,
    pub display_name: Option<String>,
    pub supervisor: bool,
    pub expires_at: Millis,
}

/// Why a token was refused. Clients see only the code and a short reason; logs get the rest.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("token is malformed")]
    Malformed,
    #[error("token algorithm is not accepted (RS256 and ES256 are)")]
    Algorithm,
    #[error("token issuer is not trusted")]
    UnknownIssuer,
    #[error("token is signed by an unknown key")]
    UnknownKey,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token audience is not accepted")]
    WrongAudience,
    #[error("token lacks the `{0}` claim")]
    MissingClaim(String),
    #[error("issuer keys are unavailable: {0}")]
    Unavailable(String),
}

impl AuthError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Expired => ErrorCode::TokenExpired,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            _ => ErrorCode::Unauthenticated,
        }
    }
}

/// What an identity is read from.
#[derive(Debug, Clone)]
pub struct ClaimNames {
    pub identity: String,
    pub name: String,
    pub groups: String,
    pub supervisor_group: String,
}

/// Validates tokens from a fixed set of issuers.
pub struct Verifier {
    issuers: Vec<Issuer>,
    claims: ClaimNames,
    verified: verified::Verified,
}

impl Verifier {
    pub fn new(issuers: Vec<Issuer>, claims: ClaimNames) -> Self {
        Self { issuers, claims, verified: verified::Verified::default() }
    }

    /// Verifies a token and reads the identity from it.
    pub async fn verify(&self, token: &str, metrics: &Metrics) -> Result<Identity, AuthError> {
        let generation: u64 = self.issuers.iter().map(Issuer::retirements).sum();
        if let Some(identity) = self.verified.get(token, generation) {
            return Ok(identity);
        }
        let result = self.verify_inner(token, metrics).await;
        if let Ok(identity) = &result {
            self.verified.insert(token, identity, generation);
        }
        if let Err(e) = &result {
            metrics.auth_failures.inc();
            tracing::info!(reason = %e, "token refused");
        }
        result
    }

    /// Refreshes every issuer's keys that are older than the TTL (see
    /// [`Issuer::refresh_if_stale`]); a failure keeps the keys already trusted.
    pub async fn refresh_keys(&self, metrics: &Metrics) {
        for issuer in &self.issuers {
            if let Err(e) = issuer.refresh_if_stale(metrics).await {
                tracing::warn!(issuer = %issuer.issuer(), error = %e, "JWKS refresh failed; keeping the keys we have");
            }
        }
    }

    async fn verify_inner(&self, token: &str, metrics: &Metrics) -> Result<Identity, AuthError> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(AuthError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(AuthError::Algorithm);
        }
        let claimed_issuer = unverified_issuer(token)?;
        let issuer = self.issuers.iter().find(|i| i.issuer() == claimed_issuer).ok_or(AuthError::UnknownIssuer)?;
        let (key, alg) = issuer.key(header.kid.as_deref(), metrics).await?;
        if alg != header.alg {
            return Err(AuthError::Algorithm);
        }
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_S;
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer.issuer()]);
        validation.set_audience(issuer.audiences());
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data =
            jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                ErrorKind::InvalidAudience => AuthError::WrongAudience,
                ErrorKind::InvalidIssuer => AuthError::UnknownIssuer,
                ErrorKind::InvalidSignature => AuthError::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => AuthError::Algorithm,
                ErrorKind::MissingRequiredClaim(c) => AuthError::MissingClaim(c.clone()),
                _ => AuthError::Malformed,
            })?;
        // The library checks `nbf` but not `iat`: a token issued beyond the skew allowance in the
        // future (a clock set ahead, a forged lifetime) is not valid yet either.
        let now_s = crate::clock::now_ms() / 1000;
        // NumericDate may be written with a fraction: read it as a number either way.
        if data.claims.get("iat").and_then(Value::as_f64).is_some_and(|iat| iat > (now_s + LEEWAY_S as i64) as f64) {
            return Err(AuthError::NotYetValid);
        }
        self.identity(&data.claims)
    }

    fn identity(&self, claims: &Map<String, Value>) -> Result<Identity, AuthError> {
        let principal = claims
            .get(&self.claims.identity)
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty() && p.len() <= 320)
            .ok_or_else(|| AuthError::MissingClaim(self.claims.identity.clone()))?;
        let display_name = claims.get(&self.claims.name).and_then(Value::as_str).map(str::to_owned);
        let supervisor = match claims.get(&self.claims.groups) {
            Some(Value::Array(groups)) => groups.iter().any(|g| g.as_str() == Some(&self.claims.supervisor_group)),
            Some(Value::String(g)) => g.split([' ', ',']).any(|g| g == self.claims.supervisor_group),
            _ => false,
        };
        let exp = claims.get("exp").and_then(Value::as_i64).ok_or_else(|| AuthError::MissingClaim("exp".into()))?;
        Ok(Identity { principal: principal.to_owned(), display_name, supervisor, expires_at: exp.saturating_mul(1000) })
    }
}

/// The `iss` claim, read before the signature is checked only to pick the issuer's keys.
fn unverified_issuer(token: &str) -> Result<String, AuthError> {
    let payload = token.split('.').nth(1).ok_or(AuthError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| AuthError::Malformed)?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed)?;
    claims.get("iss").and_then(Value::as_str).map(str::to_owned).ok_or(AuthError::MissingClaim("iss".into()))
}

/// How long a connection may go on with this identity's token: until it expires, plus the
/// clock-skew leeway the token was accepted with.
pub fn time_left(identity: &Identity, now: Millis) -> Duration {
    let until = identity.expires_at.saturating_add(LEEWAY_S as Millis * 1000);
    Duration::from_millis(u64::try_from(until.saturating_sub(now)).unwrap_or(0))
}

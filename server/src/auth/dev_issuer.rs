//! The development token issuer: signs ES256 ID tokens for demo agents and publishes its keys
//! like an OIDC provider (discovery document and JWKS). It mints a token for anyone who asks,
//! so the relay serves it only when `--dev-issuer` is given, and only on loopback unless
//! `--dev-issuer-non-loopback` is given too.

use std::sync::{Arc, RwLock};

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use protocol::{ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::dev_authorize::Codes;

/// The audience of development tokens.
pub const DEV_AUDIENCE: &str = "ccp-sidecar-dev";
/// Where the issuer lives under the relay.
pub const DEV_PATH: &str = "/dev/oidc";

struct SigningKey {
    kid: String,
    key: EncodingKey,
    jwk: Value,
}

/// An in-process issuer with a rotating set of P-256 keys.
pub struct DevIssuer {
    issuer: String,
    /// Users its sign-in flow makes supervisors, and the group that says so.
    supervisors: Vec<String>,
    supervisor_group: String,
    keys: RwLock<Vec<SigningKey>>,
    generation: std::sync::atomic::AtomicU32,
}

/// What a demo agent asks a token for.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TokenRequest {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub ttl_s: Option<i64>,
    /// Echoed as the `nonce` claim (the authorization-code flow sets it).
    #[serde(default)]
    pub nonce: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TokenResponse {
    pub id_token: String,
    pub expires_at: i64,
}

impl DevIssuer {
    /// A new issuer named `issuer` (its URL) with one fresh key.
    pub fn new(issuer: impl Into<String>) -> Self {
        let this = Self {
            issuer: issuer.into(),
            supervisors: Vec::new(),
            supervisor_group: String::new(),
            keys: RwLock::default(),
            generation: 0.into(),
        };
        this.rotate(false);
        this
    }

    /// Its sign-in flow gives `users` (e-mail addresses, case ignored) the supervisor `group`.
    pub fn with_supervisors(mut self, users: &[String], group: &str) -> Self {
        self.supervisors = users.iter().map(|u| u.trim().to_lowercase()).filter(|u| !u.is_empty()).collect();
        self.supervisor_group = group.to_owned();
        self
    }

    /// The groups the sign-in flow puts in `email`'s tokens.
    pub fn groups_of(&self, email: &str) -> Vec<String> {
        let email = email.trim().to_lowercase();
        if self.supervisors.contains(&email) { vec![self.supervisor_group.clone()] } else { Vec::new() }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Adds a new signing key and signs with it from now on. With `retire`, the old keys leave
    /// the JWKS, so tokens they signed stop validating.
    pub fn rotate(&self, retire: bool) {
        let generation = self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let secret = p256::SecretKey::random(&mut rand_core::OsRng);
        let kid = format!("dev-{generation}-{:08x}", rand_core::RngCore::next_u32(&mut rand_core::OsRng));
        let point = secret.public_key().to_encoded_point(false);
        let coord = |c: Option<&p256::FieldBytes>| URL_SAFE_NO_PAD.encode(c.map(|b| &b[..]).unwrap_or_default());
        let jwk = json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                         "x": coord(point.x()), "y": coord(point.y())});
        let pem = secret.to_pkcs8_pem(LineEnding::LF).map(|p| p.to_string()).unwrap_or_default();
        let Ok(key) = EncodingKey::from_ec_pem(pem.as_bytes()) else {
            tracing::error!("could not encode a development key");
            return;
        };
        if let Ok(mut keys) = self.keys.write() {
            if retire {
                keys.clear();
            }
            keys.insert(0, SigningKey { kid, key, jwk });
        }
    }

    /// The public keys, as the JWKS endpoint serves them.
    pub fn jwks(&self) -> JwkSet {
        let keys: Vec<Value> = self.keys.read().map(|k| k.iter().map(|k| k.jwk.clone()).collect()).unwrap_or_default();
        serde_json::from_value(json!({ "keys": keys })).unwrap_or(JwkSet { keys: Vec::new() })
    }

    /// Signs arbitrary claims with the current key (tests use this to make bad tokens too).
    pub fn sign(&self, claims: &Value) -> String {
        let Ok(keys) = self.keys.read() else { return String::new() };
        let Some(current) = keys.first() else { return String::new() };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(current.kid.clone());
        jsonwebtoken::encode(&header, claims, &current.key).unwrap_or_default()
    }

    /// An ID token for a demo agent, valid for `ttl_s` (default one hour).
    pub fn mint(&self, request: &TokenRequest) -> TokenResponse {
        let now = crate::clock::now_ms() / 1000;
        let exp = now + request.ttl_s.unwrap_or(3600).clamp(1, 24 * 3600);
        let name = request.name.clone().unwrap_or_else(|| request.email.clone());
        // The subject is an opaque id, as real issuers make them, never the e-mail: code that
        // confused the two would pass every test otherwise.
        let sub = subject_of(&request.email);
        let claims = json!({
            "iss": self.issuer, "aud": DEV_AUDIENCE, "sub": sub, "email": request.email,
            "name": name, "groups": request.groups, "iat": now, "nbf": now, "exp": exp,
        });
        let mut claims = claims;
        if let Some(nonce) = &request.nonce {
            claims["nonce"] = json!(nonce);
        }
        TokenResponse { id_token: self.sign(&claims), expires_at: exp * 1000 }
    }

    /// Discovery, JWKS, authorization (code + PKCE) and token endpoints, to nest under
    /// [`DEV_PATH`]. Every answer allows any origin: a browser extension reads them.
    pub fn router(self: Arc<Self>) -> Router {
        let codes = Arc::new(Codes::default());
        Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks.json", get(jwks))
            .route("/token", post(token))
            .with_state(self.clone())
            .merge(
                Router::new()
                    .route("/authorize", get(super::dev_authorize::authorize))
                    .with_state((self, codes.clone())),
            )
            .layer(axum::Extension(codes))
            .layer(axum::middleware::map_response(|mut response: axum::response::Response| async move {
                response.headers_mut().insert("access-control-allow-origin", axum::http::HeaderValue::from_static("*"));
                response
            }))
    }
}

async fn discovery(State(dev): State<Arc<DevIssuer>>) -> Json<Value> {
    Json(json!({
        "issuer": dev.issuer,
        "jwks_uri": format!("{}/jwks.json", dev.issuer),
        "token_endpoint": format!("{}/token", dev.issuer),
        "authorization_endpoint": format!("{}/authorize", dev.issuer),
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "subject_types_supported": ["public"],
        "response_types_supported": ["code", "id_token"],
    }))
}

async fn jwks(State(dev): State<Arc<DevIssuer>>) -> Json<JwkSet> {
    Json(dev.jwks())
}

/// The token endpoint. A form body is the authorization-code exchange (OAuth 2.0 errors); a JSON
/// body mints a token directly for tests and the load generator (the protocol's error body).
async fn token(
    State(dev): State<Arc<DevIssuer>>,
    axum::Extension(codes): axum::Extension<Arc<Codes>>,
    headers: axum::http::HeaderMap,
    body: bytes::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-www-form-urlencoded"));
    if form {
        let Ok(exchange) = serde_urlencoded_from(&body) else {
            return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_request"}))).into_response();
        };
        return match super::dev_authorize::exchange(&dev, &codes, exchange) {
            Ok(token) => Json(token).into_response(),
            Err(error) => (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response(),
        };
    }
    let request = Json::<TokenRequest>::from_bytes(&body);
    match mint_json(&dev, request) {
        Ok(token) => token.into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

fn serde_urlencoded_from(body: &[u8]) -> Result<super::dev_authorize::CodeExchange, ()> {
    serde_urlencoded::from_bytes(body).map_err(|_| ())
}

fn mint_json(
    dev: &DevIssuer,
    request: Result<Json<TokenRequest>, JsonRejection>,
) -> Result<Json<TokenResponse>, (StatusCode, Json<ErrorBody>)> {
    let invalid = |message: String| (StatusCode::BAD_REQUEST, Json(ErrorBody::new(ErrorCode::Invalid, message)));
    let Json(request) = request.map_err(|e| invalid(e.body_text()))?;
    if request.email.is_empty() || request.email.len() > 320 {
        return Err(invalid("email must be 1 to 320 bytes".into()));
    }
    Ok(Json(dev.mint(&request)))
}

/// The development issuer's `sub` for an e-mail: stable, opaque, and not the e-mail.
pub fn subject_of(email: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(email.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("dev-{hex}")
}

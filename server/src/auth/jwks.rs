//! An issuer's signing keys: OIDC discovery, a cached JWKS, and refetching when a token names
//! a key the cache does not have (key rotation), at most once per cooldown so that tokens with
//! made-up key ids cannot make the relay hammer the issuer.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::{AuthError, DevIssuer};
use crate::metrics::Metrics;

/// Least time between two JWKS fetches for unknown key ids.
const REFETCH_COOLDOWN: Duration = Duration::from_secs(10);

/// Where an issuer's keys come from.
#[derive(Clone)]
pub enum KeySource {
    /// Discovery document at `<issuer>/.well-known/openid-configuration`, then its `jwks_uri`.
    Remote(reqwest::Client),
    /// The in-process development issuer.
    Local(Arc<DevIssuer>),
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched: Option<Instant>,
    /// The last fetch made because a token named an unknown key id.
    last_forced: Option<Instant>,
    jwks_uri: Option<String>,
}

/// One trusted issuer.
pub struct Issuer {
    issuer: String,
    audiences: Vec<String>,
    source: KeySource,
    ttl: Duration,
    cache: RwLock<Cache>,
    refresh: tokio::sync::Mutex<()>,
    /// Counts fetches that found a key gone: tokens verified before are checked again.
    retirements: std::sync::atomic::AtomicU64,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

impl Issuer {
    pub fn new(issuer: String, audiences: Vec<String>, source: KeySource, ttl: Duration) -> Self {
        Self {
            issuer,
            audiences,
            source,
            ttl,
            cache: RwLock::default(),
            refresh: tokio::sync::Mutex::new(()),
            retirements: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many times a fetch found that a key the issuer used to publish is gone.
    pub fn retirements(&self) -> u64 {
        self.retirements.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// The decoding key for `kid` (or the only key, when the token names none).
    pub async fn key(&self, kid: Option<&str>, metrics: &Metrics) -> Result<(DecodingKey, Algorithm), AuthError> {
        if let KeySource::Local(dev) = &self.source {
            return lookup(&decode_set(&dev.jwks()), kid).ok_or(AuthError::UnknownKey);
        }
        if let Some(found) = self.cached(kid, true) {
            return Ok(found);
        }
        let _guard = self.refresh.lock().await;
        if let Some(found) = self.cached(kid, true) {
            return Ok(found);
        }
        // A fresh cache without the key id: the issuer may have rotated its keys. Fetch again,
        // but at most once per cooldown, whatever key ids tokens make up.
        let (fresh, forced_recently) = self.cache.read().map_or((false, false), |c| {
            (
                c.fetched.is_some_and(|t| t.elapsed() < self.ttl),
                c.last_forced.is_some_and(|t| t.elapsed() < REFETCH_COOLDOWN),
            )
        });
        if !(fresh && forced_recently) {
            match self.fetch(metrics, fresh).await {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(issuer = %self.issuer, error = %e, "JWKS fetch failed");
                    // Keep serving keys we already trust rather than lock everyone out.
                    return self.cached(kid, false).ok_or(e);
                }
            }
        }
        self.cached(kid, false).ok_or(AuthError::UnknownKey)
    }

    /// Fetches the key set again once it is older than half the TTL, for the background refresh
    /// (which runs every half TTL): a key the issuer retired then stops being trusted within one
    /// TTL, even when no new token names an unknown key. An issuer never used yet is left alone.
    pub async fn refresh_if_stale(&self, metrics: &Metrics) -> Result<(), AuthError> {
        if !matches!(self.source, KeySource::Remote(_)) {
            return Ok(());
        }
        let stale = |c: &Cache| c.fetched.is_some_and(|t| t.elapsed() >= self.ttl / 2);
        if !self.cache.read().is_ok_and(|c| stale(&c)) {
            return Ok(());
        }
        let _guard = self.refresh.lock().await;
        if !self.cache.read().is_ok_and(|c| stale(&c)) {
            return Ok(());
        }
        self.fetch(metrics, false).await
    }

    fn cached(&self, kid: Option<&str>, fresh_only: bool) -> Option<(DecodingKey, Algorithm)> {
        let cache = self.cache.read().ok()?;
        if fresh_only && cache.fetched.is_none_or(|t| t.elapsed() >= self.ttl) {
            return None;
        }
        lookup(&cache.keys, kid)
    }

    async fn fetch(&self, metrics: &Metrics, forced: bool) -> Result<(), AuthError> {
        let KeySource::Remote(http) = &self.source else { return Ok(()) };
        let known_uri = self.cache.read().ok().and_then(|c| c.jwks_uri.clone());
        let jwks_uri = match known_uri {
            Some(uri) => uri,
            None => {
                let url = format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'));
                let discovery: Discovery = get_json(http, &url).await?;
                if discovery.issuer != self.issuer {
                    return Err(AuthError::Unavailable(format!(
                        "discovery names issuer {:?}, expected {:?}",
                        discovery.issuer, self.issuer
                    )));
                }
                discovery.jwks_uri
            }
        };
        metrics.jwks_fetches.inc();
        let set: JwkSet = get_json(http, &jwks_uri).await?;
        let keys = decode_set(&set);
        tracing::info!(issuer = %self.issuer, keys = keys.len(), "fetched JWKS");
        if let Ok(mut cache) = self.cache.write() {
            if cache.keys.keys().any(|kid| !keys.contains_key(kid)) {
                self.retirements.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let now = Instant::now();
            let last_forced = if forced { Some(now) } else { cache.last_forced };
            *cache = Cache { keys, fetched: Some(now), last_forced, jwks_uri: Some(jwks_uri) };
        }
        Ok(())
    }
}

/// GETs a JSON document; any failure means the issuer's keys are unavailable for now.
async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> Result<T, AuthError> {
    let unavailable = |e: reqwest::Error| AuthError::Unavailable(e.without_url().to_string());
    http.get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(unavailable)?
        .json()
        .await
        .map_err(unavailable)
}

fn lookup(keys: &HashMap<String, (DecodingKey, Algorithm)>, kid: Option<&str>) -> Option<(DecodingKey, Algorithm)> {
    match kid {
        Some(kid) => keys.get(kid).cloned(),
        None if keys.len() == 1 => keys.values().next().cloned(),
        None => None,
    }
}

/// Usable signature keys of a set, by key id: RSA and P-256 keys meant for signing.
fn decode_set(set: &JwkSet) -> HashMap<String, (DecodingKey, Algorithm)> {
    set.keys
        .iter()
        .filter_map(|jwk| {
            let alg = algorithm(jwk)?;
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some((jwk.common.key_id.clone().unwrap_or_default(), (key, alg)))
        })
        .collect()
}

fn algorithm(jwk: &Jwk) -> Option<Algorithm> {
    if jwk.common.public_key_use.as_ref().is_some_and(|u| *u != jsonwebtoken::jwk::PublicKeyUse::Signature) {
        return None;
    }
    match (&jwk.algorithm, jwk.common.key_algorithm) {
        (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Some(Algorithm::RS256),
        (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
            if ec.curve == EllipticCurve::P256 =>
        {
            Some(Algorithm::ES256)
        }
        _ => None,
    }
}

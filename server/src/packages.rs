//! `/extension/`: the organisation's own extension package and its update manifest, served from
//! `--extension-dir`, so one host serves the relay and what Chrome installs and updates from
//! (`cargo xtask dist --crx` writes both).
//!
//! Only file names of letters, digits, `.`, `_` and `-` ending in `.crx` or `.xml` are served
//! (nothing outside the directory, no listing). Chrome's updater fetches `updates.xml` at every
//! check, so it is never cached; a package's name carries its version, so it may be.

use std::path::Path;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The URL prefix the packages are served under.
pub const EXTENSION_PATH: &str = "/extension";

/// The content type and caching of a file the directory may serve; `None` for any other name.
pub fn served_as(name: &str) -> Option<(&'static str, &'static str)> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !plain {
        return None;
    }
    if name.ends_with(".crx") {
        Some(("application/x-chrome-extension", "public, max-age=86400"))
    } else if name.ends_with(".xml") {
        Some(("application/xml; charset=utf-8", "no-cache"))
    } else {
        None
    }
}

/// `GET /extension/{name}` from `dir`.
pub async fn serve(dir: &Path, name: &str) -> Response {
    let Some((content_type, cache)) = served_as(name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match tokio::fs::read(dir.join(name)).await {
        Ok(bytes) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
            response
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::warn!(%name, error = %e, "reading an extension package");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The route's handler, over the relay's `--extension-dir`.
pub async fn handler(
    State(dir): State<std::sync::Arc<std::path::PathBuf>>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    serve(&dir, &name).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_packages_and_update_manifests_by_plain_names() {
        assert_eq!(served_as("updates.xml").map(|s| s.1), Some("no-cache"));
        assert_eq!(served_as("ccp-sidecar-1.2.0.crx").map(|s| s.0), Some("application/x-chrome-extension"));
        for bad in
            ["", ".hidden.xml", "../updates.xml", "a/b.crx", "key.pem", "updates.xml.bak", "x%2e.crx", "名前.crx"]
        {
            assert_eq!(served_as(bad), None, "{bad}");
        }
    }
}

//! What the gateway serves besides stock, embedded at build time so every adapter answers the
//! same bytes: its OpenAPI document, the `<b24-stock>` badge script and the demo page.

use std::sync::LazyLock;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue};
use http::Response;

use super::static_asset::StaticAsset;

/// Generated from `openapi.yaml` by `scripts/openapi.sh build`; `tests/openapi.rs` keeps them equal.
static OPENAPI: LazyLock<StaticAsset> = LazyLock::new(|| {
    let asset = StaticAsset::new(
        &include_bytes!("../../../openapi.json")[..],
        "application/json; charset=utf-8",
    );
    // The Workers runtime compresses answers itself (and hands a Worker no Accept-Encoding):
    // compressed copies would only make the Worker's bundle larger.
    #[cfg(not(target_arch = "wasm32"))]
    let asset = asset.with_encodings(
        include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json.br")),
        include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json.gz")),
    );
    asset
});

static WIDGET: LazyLock<StaticAsset> = LazyLock::new(|| {
    let asset = StaticAsset::new(
        &include_bytes!("../../../widget/b24-stock.js")[..],
        "text/javascript; charset=utf-8",
    );
    #[cfg(not(target_arch = "wasm32"))]
    let asset = asset.with_encodings(
        include_bytes!(concat!(env!("OUT_DIR"), "/widget.js.br")),
        include_bytes!(concat!(env!("OUT_DIR"), "/widget.js.gz")),
    );
    asset
});

/// The page links the current widget version, so it may keep the script for a year.
static DEMO_PAGE: LazyLock<StaticAsset> = LazyLock::new(|| {
    let page =
        include_str!("../../../widget/demo.html").replace("WIDGET_VERSION", widget_version());
    StaticAsset::new(page, "text/html; charset=utf-8")
});

/// The page loads only the gateway's own script and data; the badge's styles are constructed
/// stylesheets, which `style-src` does not govern, and the page's own are inline.
const DEMO_PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
     style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// A day: the document changes with releases only.
const OPENAPI_CACHE: &str = "public, max-age=86400";
/// `/widget.js?v=<current>` never changes.
const WIDGET_VERSIONED_CACHE: &str = "public, max-age=31536000, immutable";
/// `/widget.js` as a shop links it: a new release reaches its pages within the hour.
const WIDGET_CACHE: &str = "public, max-age=3600";

pub fn widget_version() -> &'static str {
    WIDGET.version()
}

pub fn openapi(request: &HeaderMap) -> Response<Bytes> {
    OPENAPI.answer(request, HeaderValue::from_static(OPENAPI_CACHE))
}

/// The badge script; a year-long lifetime only under the URL of this very version.
pub fn widget(query: Option<&str>, request: &HeaderMap) -> Response<Bytes> {
    let versioned = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .any(|(key, value)| key == "v" && value == widget_version());
    let cache = if versioned {
        WIDGET_VERSIONED_CACHE
    } else {
        WIDGET_CACHE
    };
    WIDGET.answer(request, HeaderValue::from_static(cache))
}

/// The demo page: revalidated on every visit, so it always names the current widget.
pub fn demo_page(request: &HeaderMap) -> Response<Bytes> {
    let mut response = DEMO_PAGE.answer(request, HeaderValue::from_static("no-cache"));
    response.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static(DEMO_PAGE_POLICY),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::CACHE_CONTROL;

    #[test]
    fn the_demo_page_links_this_widget_version() {
        let page = DEMO_PAGE.body();
        let text = std::str::from_utf8(page).unwrap();
        assert!(text.contains(&format!("widget.js?v={}", widget_version())));
        assert!(!text.contains("WIDGET_VERSION"));
    }

    #[test]
    fn only_the_current_version_is_immutable() {
        let none = HeaderMap::new();
        let current = format!("v={}", widget_version());
        assert_eq!(
            widget(Some(&current), &none).headers()[CACHE_CONTROL],
            WIDGET_VERSIONED_CACHE
        );
        for query in [None, Some("v=0000000000000000"), Some("x=1")] {
            assert_eq!(
                widget(query, &none).headers()[CACHE_CONTROL],
                WIDGET_CACHE,
                "{query:?}"
            );
        }
    }

    #[test]
    fn the_openapi_document_is_json() {
        let doc: serde_json::Value = serde_json::from_slice(OPENAPI.body()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
    }
}

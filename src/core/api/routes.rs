//! The public routes and the methods each accepts.

use http::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/v1/store-products/{id}`: the raw path segment, validated later.
    StoreProductByPath(&'a str),
    /// `/v1/store-products?id=` or `?ids=`
    StoreProductsByQuery,
    /// `/v1/products/{productId}/stock`: the raw segment, validated later.
    ProductStock(&'a str),
    /// `catalog.storeproduct.get` (also `.json`), at the root or under a webhook-shaped prefix.
    BitrixGet,
    /// `batch` (also `.json`), at the root or under a webhook-shaped prefix.
    BitrixBatch,
    /// `/healthz`
    Health,
    /// `/openapi.json`: this API's OpenAPI document.
    OpenApi,
    /// `/widget.js`: the `<b24-stock>` badge script.
    Widget,
    /// `/`: the demo page; the gateway answers it only when the demo setting is on.
    DemoPage,
    /// `/rest/{user}/{token}/` + one of the two methods above, with a token other than the
    /// placeholder: most likely a real webhook code, refused with a pointer to the placeholder
    /// URL (never logged).
    WebhookCodeSent,
}

/// Every path template of the public API, as `openapi.yaml` writes them; `tests/openapi.rs`
/// checks that the document has exactly these and that the router answers each.
pub const DOCUMENTED_PATHS: &[&str] = &[
    "/v1/store-products/{id}",
    "/v1/store-products",
    "/v1/products/{productId}/stock",
    "/catalog.storeproduct.get",
    "/catalog.storeproduct.get.json",
    "/rest/{user}/{token}/catalog.storeproduct.get",
    "/rest/{user}/{token}/catalog.storeproduct.get.json",
    "/batch",
    "/batch.json",
    "/rest/{user}/{token}/batch",
    "/rest/{user}/{token}/batch.json",
    "/healthz",
    "/openapi.json",
    "/widget.js",
    "/",
];

const STORE_PRODUCTS: &str = "/v1/store-products";
const PRODUCTS: &str = "/v1/products/";

impl<'a> Route<'a> {
    pub fn recognise(path: &'a str) -> Option<Self> {
        match path {
            "/healthz" => return Some(Route::Health),
            "/openapi.json" => return Some(Route::OpenApi),
            "/widget.js" => return Some(Route::Widget),
            "/" => return Some(Route::DemoPage),
            STORE_PRODUCTS => return Some(Route::StoreProductsByQuery),
            _ => {}
        }
        if let Some(segment) = path
            .strip_prefix(STORE_PRODUCTS)
            .and_then(|rest| rest.strip_prefix('/'))
        {
            return (!segment.contains('/')).then_some(Route::StoreProductByPath(segment));
        }
        if let Some(rest) = path.strip_prefix(PRODUCTS) {
            let segment = rest.strip_suffix("/stock")?;
            return (!segment.contains('/')).then_some(Route::ProductStock(segment));
        }
        if let Some(shaped) = WebhookShaped::split(path) {
            let method = bitrix_method(shaped.method)?;
            return Some(if shaped.token == WEBHOOK_PLACEHOLDER_TOKEN {
                method
            } else {
                Route::WebhookCodeSent
            });
        }
        bitrix_method(path.strip_prefix('/')?)
    }

    /// A stable name for logs and metrics (never the id or anything else the caller typed).
    pub fn name(self) -> &'static str {
        match self {
            Route::StoreProductByPath(_) => "v1.store_product",
            Route::StoreProductsByQuery => "v1.store_products",
            Route::ProductStock(_) => "v1.product_stock",
            Route::BitrixGet => "bitrix.catalog.storeproduct.get",
            Route::BitrixBatch => "bitrix.batch",
            Route::Health => "healthz",
            Route::OpenApi => "openapi",
            Route::Widget => "widget",
            Route::DemoPage => "demo_page",
            Route::WebhookCodeSent => "bitrix.webhook_code_sent",
        }
    }

    /// The `Allow` header value.
    pub fn allow(self) -> &'static str {
        if self.speaks_bitrix() {
            "POST, GET, OPTIONS"
        } else {
            "GET, HEAD, OPTIONS"
        }
    }

    pub fn accepts(self, method: &Method) -> bool {
        if self.speaks_bitrix() {
            method == Method::POST || method == Method::GET
        } else {
            method == Method::GET || method == Method::HEAD
        }
    }

    /// Whether the route answers stock for caches to keep (records, lists, products): its
    /// 200s carry an `ETag` and revalidate.
    pub fn is_stock_data(self) -> bool {
        matches!(
            self,
            Route::StoreProductByPath(_) | Route::StoreProductsByQuery | Route::ProductStock(_)
        )
    }

    /// Whether answers and errors on this route use the Bitrix envelope.
    pub fn speaks_bitrix(self) -> bool {
        matches!(
            self,
            Route::BitrixGet | Route::BitrixBatch | Route::WebhookCodeSent
        )
    }

    /// Whether the answer is the gateway's own (health, embedded files): no portal, no cache;
    /// the caller limit counts it like any other request.
    pub fn is_local(self) -> bool {
        matches!(
            self,
            Route::Health | Route::OpenApi | Route::Widget | Route::DemoPage
        )
    }
}

fn bitrix_method(name: &str) -> Option<Route<'static>> {
    match name.strip_suffix(".json").unwrap_or(name) {
        "catalog.storeproduct.get" => Some(Route::BitrixGet),
        "batch" => Some(Route::BitrixBatch),
        _ => None,
    }
}

/// The only token the webhook-shaped routes take: `https://GATEWAY/rest/0/public/`.
pub const WEBHOOK_PLACEHOLDER_TOKEN: &str = "public";

/// `/rest/{user}/{token}/METHOD`: Bitrix SDKs insist on a webhook URL, so one shaped like it
/// (`https://gateway/rest/0/public/`) reaches the same routes. The user is ignored; the token
/// must be the placeholder, because an SDK user who swapped only the host would otherwise keep
/// sending the portal's real code here. Neither is forwarded or logged.
struct WebhookShaped<'a> {
    token: &'a str,
    method: &'a str,
}

impl<'a> WebhookShaped<'a> {
    fn split(path: &'a str) -> Option<Self> {
        let rest = path.strip_prefix("/rest/")?;
        let (user, rest) = rest.split_once('/')?;
        let (token, method) = rest.split_once('/')?;
        let shaped = !user.is_empty()
            && user.bytes().all(|b| b.is_ascii_digit())
            && !token.is_empty()
            && !method.contains('/');
        shaped.then_some(WebhookShaped { token, method })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises() {
        let cases = [
            ("/v1/store-products/13", Route::StoreProductByPath("13")),
            ("/v1/store-products/", Route::StoreProductByPath("")),
            ("/v1/store-products", Route::StoreProductsByQuery),
            ("/v1/products/6973/stock", Route::ProductStock("6973")),
            ("/v1/products//stock", Route::ProductStock("")),
            ("/catalog.storeproduct.get", Route::BitrixGet),
            ("/catalog.storeproduct.get.json", Route::BitrixGet),
            ("/batch", Route::BitrixBatch),
            ("/batch.json", Route::BitrixBatch),
            ("/rest/0/public/catalog.storeproduct.get", Route::BitrixGet),
            (
                "/rest/1/public/catalog.storeproduct.get.json",
                Route::BitrixGet,
            ),
            ("/rest/12/public/batch", Route::BitrixBatch),
            ("/rest/12/public/batch.json", Route::BitrixBatch),
            // Any other token there may be a real webhook code: refused.
            ("/rest/12/tok-en_1/batch", Route::WebhookCodeSent),
            (
                "/rest/1/x4k9q2/catalog.storeproduct.get.json",
                Route::WebhookCodeSent,
            ),
            ("/rest/1/PUBLIC/batch", Route::WebhookCodeSent),
            ("/healthz", Route::Health),
            ("/openapi.json", Route::OpenApi),
            ("/widget.js", Route::Widget),
            ("/", Route::DemoPage),
        ];
        for (path, route) in cases {
            assert_eq!(Route::recognise(path), Some(route), "{path}");
        }
        for none in [
            "",
            "/index.html",
            "/openapi.yaml",
            "/widget.js/x",
            "/v1/store-products/1/2",
            "/v1/store-productsX",
            "/v1/products/6973",
            "/v1/products/6973/stock/x",
            "/v1/products/1/2/stock",
            "/catalog.storeproduct.list",
            "/batch.xml",
            "/rest/1/public/catalog.storeproduct.list",
            "/rest/1/x/catalog.storeproduct.list",
            "/rest/1/x/crm.deal.list",
            "/rest/x/y/batch",
            "/rest/1//batch",
            "/rest/1/x/y/batch",
            "/rest/batch",
            "/rest/1/batch",
        ] {
            assert_eq!(Route::recognise(none), None, "{none}");
        }
    }

    /// The documented templates, with sample values, reach every route there is.
    #[test]
    fn documented_paths_cover_every_route() {
        let mut seen = [false; 10];
        seen[9] = Route::recognise("/rest/1/realcode/batch") == Some(Route::WebhookCodeSent);
        for template in DOCUMENTED_PATHS {
            let path = template
                .replace("{id}", "13")
                .replace("{productId}", "6973")
                .replace("{user}", "0")
                .replace("{token}", "public");
            let route = Route::recognise(&path).unwrap_or_else(|| panic!("{template}"));
            // Exhaustive: a new route fails to compile here until it is counted.
            let index = match route {
                Route::StoreProductByPath(_) => 0,
                Route::StoreProductsByQuery => 1,
                Route::ProductStock(_) => 2,
                Route::BitrixGet => 3,
                Route::BitrixBatch => 4,
                Route::Health => 5,
                Route::OpenApi => 6,
                Route::Widget => 7,
                Route::DemoPage => 8,
                Route::WebhookCodeSent => 9,
            };
            seen[index] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
    }
}

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
}

const STORE_PRODUCTS: &str = "/v1/store-products";
const PRODUCTS: &str = "/v1/products/";

impl<'a> Route<'a> {
    pub fn recognise(path: &'a str) -> Option<Self> {
        match path {
            "/healthz" => return Some(Route::Health),
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
        bitrix_method(path.strip_prefix('/')?)
            .or_else(|| bitrix_method(without_webhook_prefix(path)?))
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

    /// Whether answers and errors on this route use the Bitrix envelope.
    pub fn speaks_bitrix(self) -> bool {
        matches!(self, Route::BitrixGet | Route::BitrixBatch)
    }
}

fn bitrix_method(name: &str) -> Option<Route<'static>> {
    match name.strip_suffix(".json").unwrap_or(name) {
        "catalog.storeproduct.get" => Some(Route::BitrixGet),
        "batch" => Some(Route::BitrixBatch),
        _ => None,
    }
}

/// `/rest/{user}/{token}/METHOD` -> `METHOD`: Bitrix SDKs insist on a webhook URL, so one
/// shaped like it (`https://gateway/rest/0/public/`) reaches the same routes. The user and
/// token are ignored: never forwarded, never logged.
fn without_webhook_prefix(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/rest/")?;
    let (user, rest) = rest.split_once('/')?;
    let (token, method) = rest.split_once('/')?;
    let shaped = !user.is_empty()
        && user.bytes().all(|b| b.is_ascii_digit())
        && !token.is_empty()
        && !method.contains('/');
    shaped.then_some(method)
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
                "/rest/1/anything/catalog.storeproduct.get.json",
                Route::BitrixGet,
            ),
            ("/rest/12/tok-en_1/batch", Route::BitrixBatch),
            ("/rest/12/x/batch.json", Route::BitrixBatch),
            ("/healthz", Route::Health),
        ];
        for (path, route) in cases {
            assert_eq!(Route::recognise(path), Some(route), "{path}");
        }
        for none in [
            "/",
            "/v1/store-products/1/2",
            "/v1/store-productsX",
            "/v1/products/6973",
            "/v1/products/6973/stock/x",
            "/v1/products/1/2/stock",
            "/catalog.storeproduct.list",
            "/batch.xml",
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
}

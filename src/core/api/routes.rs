//! The public routes and the methods each accepts.

use http::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/v1/store-products/{id}`: the raw path segment, validated later.
    StoreProductByPath(&'a str),
    /// `/v1/store-products?id=`
    StoreProductByQuery,
    /// `/catalog.storeproduct.get` or `/catalog.storeproduct.get.json`
    BitrixGet,
    /// `/healthz`
    Health,
}

const V1_PREFIX: &str = "/v1/store-products";

impl<'a> Route<'a> {
    pub fn recognise(path: &'a str) -> Option<Self> {
        match path {
            "/healthz" => Some(Route::Health),
            "/catalog.storeproduct.get" | "/catalog.storeproduct.get.json" => {
                Some(Route::BitrixGet)
            }
            V1_PREFIX => Some(Route::StoreProductByQuery),
            _ => {
                let segment = path.strip_prefix(V1_PREFIX)?.strip_prefix('/')?;
                (!segment.contains('/')).then_some(Route::StoreProductByPath(segment))
            }
        }
    }

    /// A stable name for logs (never the id or anything else the caller typed).
    pub fn name(self) -> &'static str {
        match self {
            Route::StoreProductByPath(_) => "v1.store_product",
            Route::StoreProductByQuery => "v1.store_products",
            Route::BitrixGet => "bitrix.catalog.storeproduct.get",
            Route::Health => "healthz",
        }
    }

    /// The `Allow` header value.
    pub fn allow(self) -> &'static str {
        match self {
            Route::BitrixGet => "POST, GET, OPTIONS",
            _ => "GET, HEAD, OPTIONS",
        }
    }

    pub fn accepts(self, method: &Method) -> bool {
        match self {
            Route::BitrixGet => method == Method::POST || method == Method::GET,
            _ => method == Method::GET || method == Method::HEAD,
        }
    }

    /// Whether errors on this route use the Bitrix envelope.
    pub fn speaks_bitrix(self) -> bool {
        matches!(self, Route::BitrixGet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises() {
        assert_eq!(
            Route::recognise("/v1/store-products/13"),
            Some(Route::StoreProductByPath("13"))
        );
        assert_eq!(
            Route::recognise("/v1/store-products/"),
            Some(Route::StoreProductByPath(""))
        );
        assert_eq!(
            Route::recognise("/v1/store-products"),
            Some(Route::StoreProductByQuery)
        );
        assert_eq!(
            Route::recognise("/catalog.storeproduct.get.json"),
            Some(Route::BitrixGet)
        );
        assert_eq!(Route::recognise("/healthz"), Some(Route::Health));
        for none in [
            "/",
            "/v1/store-products/1/2",
            "/v1/store-productsX",
            "/catalog.storeproduct.list",
            "/rest/1/x/catalog.storeproduct.get",
        ] {
            assert_eq!(Route::recognise(none), None, "{none}");
        }
    }
}

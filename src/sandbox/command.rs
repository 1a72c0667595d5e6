//! One call of a REST method, direct or inside a batch: which fault it plays, its operating
//! time, and its outcome. What counts the call and what writes the answer differ between the
//! two, so they stay with the callers.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::faults::{fault_for_id, Fault};
use super::methods::{self, data_id, Outcome};
use super::play;
use super::state::SandboxState;
use super::wire::time_json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    List,
    /// `catalog.product.get`: a product's flags.
    Product,
    /// `catalog.product.list`: products' flags by catalog.
    ProductList,
    /// `catalog.document.mode.status`: whether inventory accounting is on.
    Mode,
    /// `catalog.catalog.list` and `catalog.product.offer.list` (administrators only).
    Catalogs,
    Offers,
}

impl Method {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "catalog.storeproduct.get" => Some(Method::Get),
            "catalog.storeproduct.list" => Some(Method::List),
            "catalog.product.get" => Some(Method::Product),
            "catalog.product.list" => Some(Method::ProductList),
            "catalog.document.mode.status" => Some(Method::Mode),
            "catalog.catalog.list" => Some(Method::Catalogs),
            "catalog.product.offer.list" => Some(Method::Offers),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Method::Get => "catalog.storeproduct.get",
            Method::List => "catalog.storeproduct.list",
            Method::Product => "catalog.product.get",
            Method::ProductList => "catalog.product.list",
            Method::Mode => "catalog.document.mode.status",
            Method::Catalogs => "catalog.catalog.list",
            Method::Offers => "catalog.product.offer.list",
        }
    }
}

/// A call about to run.
pub struct Call {
    pub method: Method,
    pub params: Map<String, Value>,
    /// The id a `get` asks for.
    pub get_id: Option<u32>,
    /// A reserved id's fault, else the global switch's (which applies to `get` only).
    pub fault: Option<Fault>,
}

/// A call that ran: its outcome with its own `time`, and an exchange-breaking fault the
/// answer it ends up in must play.
pub struct Ran {
    pub outcome: Outcome,
    pub time: Value,
    pub exchange: Option<Fault>,
}

impl Call {
    pub fn new(state: &SandboxState, method: Method, params: Map<String, Value>) -> Self {
        let get_id = (method == Method::Get)
            .then(|| params.get("id").and_then(data_id))
            .flatten();
        let fault = get_id.and_then(fault_for_id).or_else(|| {
            let global = state.lock().fault;
            global.filter(|_| method == Method::Get)
        });
        Self {
            method,
            params,
            get_id,
            fault,
        }
    }

    /// Counts a `get` by id, charges operating time, then plays the fault or runs the method.
    pub fn run(self, state: &SandboxState, started: Duration) -> Ran {
        let operating = {
            let mut inner = state.lock();
            if let Some(id) = self.get_id {
                *inner.stats.get_calls_by_id.entry(id).or_default() += 1;
            }
            let operating = inner.charge_operating(self.method.name());
            if operating.blocked {
                inner.stats.operation_time_limit += 1;
            }
            operating
        };
        let time = time_json(started, operating.used, operating.reset_at);
        if operating.blocked {
            return Ran {
                outcome: Outcome::failed(
                    429,
                    json!("OPERATION_TIME_LIMIT"),
                    "Method is blocked due to operation time limit.",
                ),
                time,
                exchange: None,
            };
        }
        if let Some(fault) = self.fault {
            return Ran {
                outcome: play::outcome(fault, self.get_id.unwrap_or(13)),
                time,
                exchange: fault.breaks_exchange().then_some(fault),
            };
        }
        let outcome = {
            let inner = state.lock();
            match self.method {
                Method::Get => methods::storeproduct_get(&inner.inventory, &self.params),
                Method::List => methods::storeproduct_list(&inner.inventory, &self.params),
                Method::Product => methods::product_get(&inner.inventory, &self.params),
                Method::ProductList => methods::product_list(&inner.inventory, &self.params),
                Method::Mode => methods::mode_status(&inner.inventory),
                Method::Catalogs => methods::catalogs(&inner.inventory),
                Method::Offers => methods::offers(&inner.inventory, &self.params),
            }
        };
        Ran {
            outcome,
            time,
            exchange: None,
        }
    }
}

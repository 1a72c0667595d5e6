//! The caller's address, as the platform's trusted source reports it.

use std::net::IpAddr;

/// Put in the request's extensions by the adapter (peer address, request context,
/// `CF-Connecting-IP`); never read from a header the caller controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

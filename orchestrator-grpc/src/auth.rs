//! Bearer tokens: the data-plane check on every RPC, and the helpers the admin check uses.

use std::sync::Arc;

use subtle::ConstantTimeEq;
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// The bearer token of a request ("" when none).
pub(crate) fn bearer<T>(req: &Request<T>) -> &str {
    req.metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
}

/// Constant-time token compare.
pub(crate) fn token_is(given: &str, expected: &[u8]) -> bool {
    bool::from(given.as_bytes().ct_eq(expected))
}

/// Bearer-token check with a constant-time compare; no token configured means no check. The
/// admin token is accepted too (the admin RPCs check for it themselves).
#[derive(Clone)]
pub(crate) struct Auth {
    pub(crate) token: Option<Arc<Vec<u8>>>,
    pub(crate) admin: Option<Arc<Vec<u8>>>,
}

impl Interceptor for Auth {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.token else { return Ok(req) };
        let given = bearer(&req);
        if token_is(given, expected) || self.admin.as_ref().is_some_and(|a| token_is(given, a)) {
            Ok(req)
        } else {
            Err(Status::unauthenticated("missing or invalid bearer token"))
        }
    }
}

//! [`EndpointPool`]: the endpoints one owner (a service's agent factory, a program) builds its
//! agents on, by name. A value passed around, not a global: two pools never share limits or
//! breaker state, and one pool never holds two configs under one name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::Error;
use crate::llm::config::EndpointConfig;
use crate::llm::endpoint::Endpoint;

/// Named endpoints, each built once and shared (its rate limit, in-flight cap and circuit
/// breaker hold across every agent on it). Cloning shares the pool.
#[derive(Debug, Clone, Default)]
pub struct EndpointPool {
    endpoints: Arc<Mutex<HashMap<String, Arc<Endpoint>>>>,
}

impl EndpointPool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// The endpoint called `name`, built from `config` the first time. Asking again under the
    /// same name with a different config is an error naming the endpoint, never a silent reuse
    /// of the first one.
    pub fn get_or_build(&self, name: &str, config: EndpointConfig) -> Result<Arc<Endpoint>, Error> {
        let mut map = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = map.get(name) {
            if e.config() != &config {
                return Err(Error::invalid(
                    format!("endpoints.{name}"),
                    "is already built in this pool with another configuration",
                ));
            }
            return Ok(e.clone());
        }
        let e = Arc::new(Endpoint::new(config).map_err(|e| match e {
            Error::InvalidInput { field, message } => {
                Error::invalid(format!("endpoints.{name}.{}", field.trim_start_matches("endpoint.")), message)
            }
            other => other,
        })?);
        map.insert(name.to_owned(), e.clone());
        Ok(e)
    }

    /// The endpoint called `name`, if built.
    pub fn get(&self, name: &str) -> Option<Arc<Endpoint>> {
        self.endpoints.lock().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }

    /// Names of the built endpoints.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.endpoints.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str, timeout: u64) -> EndpointConfig {
        EndpointConfig { base_url: url.into(), timeout: std::time::Duration::from_secs(timeout), ..Default::default() }
    }

    #[test]
    fn one_endpoint_per_name_and_pools_are_independent() {
        let a = EndpointPool::new();
        let e1 = a.get_or_build("m", cfg("http://127.0.0.1:1/v1", 5)).unwrap();
        let e2 = a.get_or_build("m", cfg("http://127.0.0.1:1/v1", 5)).unwrap();
        assert!(Arc::ptr_eq(&e1, &e2), "same name and config share one endpoint");
        // Another config under the same name is refused, not silently replaced by the first.
        let err = a.get_or_build("m", cfg("http://127.0.0.1:1/v1", 60)).unwrap_err();
        assert!(err.to_string().contains("endpoints.m"), "{err}");
        // A second pool builds its own endpoint for the same URL (no process-wide registry).
        let b = EndpointPool::new();
        let e3 = b.get_or_build("m", cfg("http://127.0.0.1:1/v1", 60)).unwrap();
        assert!(!Arc::ptr_eq(&e1, &e3));
        assert_eq!(e3.config().timeout, std::time::Duration::from_secs(60));
        assert_eq!(a.names(), vec!["m".to_owned()]);
    }
}

//! Python bindings: convert types, call the core, map errors. The deliberation itself runs in
//! `orchestrator-core`; this crate only drives its future from the caller's asyncio event loop
//! ([`driver`]), adapts Python agents and scorers ([`agent`], [`scorer`]) and maps errors once
//! ([`errors`]).
#![allow(unsafe_code)] // pyo3's macros expand to unsafe FFI glue.

mod agent;
mod driver;
mod errors;
mod native;
mod orchestrator;
mod scorer;
mod spec;

use pyo3::prelude::*;

/// The native module `orchestrator._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<driver::Driver>()?;
    m.add_class::<native::NativeAgent>()?;
    m.add_class::<native::NativeScorer>()?;
    m.add_class::<native::NativeEndpoint>()?;
    m.add_class::<orchestrator::NativeOrchestrator>()?;
    m.add_function(wrap_pyfunction!(spec::prepare, m)?)?;
    m.add_function(wrap_pyfunction!(orchestrator::run_tests, m)?)?;
    m.add("__version__", orchestrator_core::VERSION)?;
    Ok(())
}

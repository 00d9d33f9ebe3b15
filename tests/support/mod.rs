//! Test support shared by the integration tests (`tests/it`) and the benchmarks (`benches/`):
//! both include this folder with `#[path = "../support/mod.rs"] mod support;`.

pub(crate) mod fake;
pub(crate) mod postgres;

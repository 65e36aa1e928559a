//! Tests of the condition language. `differential.rs` holds the two
//! evaluators to each other on random cases; the others pin the semantics
//! both share (operators, boundaries, errors, the canonical form).

mod commerce;
mod differential;
mod errors;
mod events;
mod forms;
mod kit;
mod random;
mod values;

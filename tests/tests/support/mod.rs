//! Helpers shared by the test files and examples that include them.

pub mod hostile;

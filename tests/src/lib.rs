//! Cross-crate test scenarios live in `tests/`; this library is empty on purpose.

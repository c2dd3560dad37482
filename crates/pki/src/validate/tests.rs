//! Unit tests of the validator (see tests/*.rs for the suites).

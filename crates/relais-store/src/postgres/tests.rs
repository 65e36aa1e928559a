//! Unit tests of the PostgreSQL engine's pure helpers.

use super::setup::quote_ident;
use super::*;

#[test]
fn upper_bound_of_a_prefix() {
    assert_eq!(prefix_upper_bound("ada").as_deref(), Some("adb"));
    assert_eq!(prefix_upper_bound("").as_deref(), None);
    assert_eq!(prefix_upper_bound("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
    assert_eq!(
        prefix_upper_bound("a\u{10FFFF}").as_deref(),
        Some("b"),
        "the last code point carries"
    );
    assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
}

#[test]
fn last_wins_keeps_first_position_and_last_value() {
    let items = [(1, "a"), (2, "b"), (1, "c")];
    let got: Vec<_> = last_wins(&items, |i| i.0).into_iter().copied().collect();
    assert_eq!(got, vec![(1, "c"), (2, "b")]);
}

#[test]
fn identifiers_are_quoted() {
    assert_eq!(quote_ident("relais_test_1"), "\"relais_test_1\"");
    assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
}

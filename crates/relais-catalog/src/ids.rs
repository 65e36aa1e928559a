//! Ids of catalog products and physical shops, as the retailer's systems
//! write them (strings), checked once on the way in.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest id or SKU, in bytes.
pub const MAX_ID_LEN: usize = 256;

/// The rules of an id or a SKU: never empty, at most [`MAX_ID_LEN`] bytes,
/// no surrounding spaces, no control characters, and no `|` (the separator
/// of lists in CSV cells, so that every id can be written in one).
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("is empty".into());
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!("is {} bytes long (at most {MAX_ID_LEN})", id.len()));
    }
    if id.trim() != id {
        return Err(format!("'{id}' has surrounding spaces"));
    }
    if id.contains('|') {
        return Err(format!("'{id}' contains '|' (the list separator)"));
    }
    if id.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Result<$name, String> {
                let id = id.into();
                check_id(&id)?;
                Ok($name(id))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                $name::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        // Lets maps keyed by the id be queried with a `&str` (the derived
        // Hash of a one-field struct is the hash of its `String`).
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A catalog product id.
    ProductId
);
string_id!(
    /// A physical shop's id (`store_id` in files and events: "store" is the
    /// retail word, but `Store` in Relais is the database).
    ShopId
);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn ids_follow_the_rules_and_look_up_by_str() {
        assert!(ProductId::new("p-1").is_ok());
        assert_eq!(ProductId::new("").unwrap_err(), "is empty");
        assert_eq!(ProductId::new(" p1").unwrap_err(), "' p1' has surrounding spaces");
        assert_eq!(
            ProductId::new("a|b").unwrap_err(),
            "'a|b' contains '|' (the list separator)"
        );
        assert!(ShopId::new("x".repeat(MAX_ID_LEN + 1)).is_err());
        assert!(ShopId::new("a\u{7}").is_err());
        let m: HashMap<ProductId, u8> = [(ProductId::new("p1").unwrap(), 1)].into();
        assert_eq!(m.get("p1"), Some(&1));
        let json: Result<ShopId, _> = serde_json::from_str("\"\"");
        assert!(json.is_err());
    }
}

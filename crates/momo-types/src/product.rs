//! The three MoMo products.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A MoMo product. Each has its own subscription keys and its own path prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Product {
    Collection,
    Disbursement,
    Remittance,
}

impl Product {
    /// All products, in MTN's order.
    pub const ALL: [Product; 3] = [Product::Collection, Product::Disbursement, Product::Remittance];

    /// The lowercase name, which is also the first path segment (`/collection/…`).
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Collection => "collection",
            Product::Disbursement => "disbursement",
            Product::Remittance => "remittance",
        }
    }

    /// The product a request path belongs to, from its first segment.
    pub fn from_path(path: &str) -> Option<Product> {
        let first = path.trim_start_matches('/').split('/').next()?;
        first.parse().ok()
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a string that names no product.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown product {0:?}: expected collection, disbursement or remittance")]
pub struct UnknownProduct(pub String);

impl FromStr for Product {
    type Err = UnknownProduct;

    /// Any case, singular or plural. Compared in place: every MoMo request's path is read with
    /// this, and a lowercase copy was an allocation per request.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const NAMES: [(&str, Product); 6] = [
            ("collection", Product::Collection),
            ("collections", Product::Collection),
            ("disbursement", Product::Disbursement),
            ("disbursements", Product::Disbursement),
            ("remittance", Product::Remittance),
            ("remittances", Product::Remittance),
        ];
        NAMES
            .iter()
            .find(|(name, _)| s.eq_ignore_ascii_case(name))
            .map(|&(_, product)| product)
            .ok_or_else(|| UnknownProduct(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_from_path_uses_first_segment() {
        assert_eq!(Product::from_path("/collection/token/"), Some(Product::Collection));
        assert_eq!(Product::from_path("/remittance/v1_0/transfer"), Some(Product::Remittance));
        assert_eq!(Product::from_path("/v1_0/apiuser"), None);
        assert_eq!(Product::from_path("/"), None);
    }

    #[test]
    fn products_parse_in_any_case_singular_or_plural_and_nothing_else() {
        for (text, product) in [
            ("collection", Product::Collection),
            ("COLLECTIONS", Product::Collection),
            ("Disbursement", Product::Disbursement),
            ("disbursementS", Product::Disbursement),
            ("remittance", Product::Remittance),
            ("Remittances", Product::Remittance),
        ] {
            assert_eq!(text.parse::<Product>().ok(), Some(product), "{text}");
        }
        for text in ["", "wallet", "collectionss", "collectio", "v1_0"] {
            assert!(text.parse::<Product>().is_err(), "{text}");
        }
    }
}

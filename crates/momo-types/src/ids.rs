//! Identifiers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// An `X-Reference-Id`: a UUID of version 4 in its hyphenated form, as MTN requires
/// ("UUID version 4 is required"). It names the resource a POST creates.
///
/// Parsing accepts either case and normalises to lowercase, so a later `GET` with the id in
/// another case finds the same resource.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReferenceId(Uuid);

/// Why a string is not a [`ReferenceId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceIdError {
    #[error("is not a UUID in the form xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx")]
    NotAUuid,
    #[error("is a UUID of version {0}, but version 4 is required")]
    NotVersion4(usize),
}

impl ReferenceId {
    /// A fresh random reference id.
    pub fn new_v4() -> Self {
        Self(Uuid::new_v4())
    }

    /// The id as a [`Uuid`].
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl FromStr for ReferenceId {
    type Err = ReferenceIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Only the 36-character hyphenated form: the braced, URN and simple forms that the uuid
        // crate also reads are not what MoMo documents, and accepting them would make two
        // spellings of one id.
        let hyphens_ok = s.len() == 36
            && s.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        if !hyphens_ok {
            return Err(ReferenceIdError::NotAUuid);
        }
        let uuid = Uuid::parse_str(s).map_err(|_| ReferenceIdError::NotAUuid)?;
        match uuid.get_version_num() {
            4 if uuid.get_variant() == uuid::Variant::RFC4122 => Ok(Self(uuid)),
            4 => Err(ReferenceIdError::NotAUuid),
            v => Err(ReferenceIdError::NotVersion4(v)),
        }
    }
}

impl fmt::Display for ReferenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for ReferenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReferenceId({})", self.0.hyphenated())
    }
}

impl Serialize for ReferenceId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ReferenceId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_guides_example_id() {
        let id: ReferenceId = "c72025f5-5cd1-4630-99e4-8ba4722fad56".parse().unwrap();
        assert_eq!(id.to_string(), "c72025f5-5cd1-4630-99e4-8ba4722fad56");
    }

    #[test]
    fn normalises_uppercase_to_lowercase() {
        let id: ReferenceId = "C72025F5-5CD1-4630-99E4-8BA4722FAD56".parse().unwrap();
        assert_eq!(id.to_string(), "c72025f5-5cd1-4630-99e4-8ba4722fad56");
    }

    #[test]
    fn rejects_other_versions_and_forms() {
        assert_eq!(
            "c72025f5-5cd1-1630-99e4-8ba4722fad56".parse::<ReferenceId>(),
            Err(ReferenceIdError::NotVersion4(1))
        );
        for bad in [
            "",
            "c72025f55cd1463099e48ba4722fad56",
            "{c72025f5-5cd1-4630-99e4-8ba4722fad56}",
            "c72025f5-5cd1-4630-99e4-8ba4722fad5",
            "c72025f5-5cd1-4630-c9e4-8ba4722fad56",
            "g72025f5-5cd1-4630-99e4-8ba4722fad56",
            "c72025f5+5cd1-4630-99e4-8ba4722fad56",
        ] {
            assert!(bad.parse::<ReferenceId>().is_err(), "{bad:?} was accepted");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC*") {
            let _ = s.parse::<ReferenceId>();
        }

        #[test]
        fn every_v4_roundtrips(bytes in any::<[u8; 16]>()) {
            let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
            let id: ReferenceId = uuid.hyphenated().to_string().parse().unwrap();
            prop_assert_eq!(id.as_uuid(), &uuid);
        }
    }
}

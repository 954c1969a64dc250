//! Enums whose wire form is one string and that MTN may extend.
//!
//! Each such enum has an `Unknown(String)` variant: a value this crate does not know decodes into it
//! and is written back exactly as sent, so a new value from MTN never breaks a caller.

/// `Serialize`, `Deserialize` and `Display` for an enum with `as_str(&self) -> &str` and a total
/// `From<&str>` (which keeps unknown values). Why a macro: docs/architecture.md.
macro_rules! wire_string {
    ($($ty:ty),* $(,)?) => {$(
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok(<$ty>::from(&*s))
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

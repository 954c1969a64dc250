//! Account-holder data: `…/accountholder/{type}/{id}/basicuserinfo` and the consent flow's
//! `…/oauth2/v1_0/userinfo`.
//!
//! Field order is the order MTN's sandbox writes (docs/compatibility.md), so a serialised body
//! matches MTN's byte for byte; the names are OpenID Connect's snake case, as on the wire.

use serde::{Deserialize, Serialize};

/// `GET …/basicuserinfo`. The sandbox writes
/// `sub, name, given_name, family_name, birthdate, locale, gender, updated_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BasicUserInfo {
    pub sub: String,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub birthdate: String,
    pub locale: String,
    pub gender: String,
    /// Seconds since the Unix epoch.
    pub updated_at: i64,
}

/// A postal address as the sandbox's `userinfo` writes it (an object, although MTN's spec
/// types it as a string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Address {
    pub formatted: String,
    pub street_address: String,
    pub postal_code: String,
    pub locality: String,
    pub region: String,
    pub country: String,
}

/// `GET …/oauth2/v1_0/userinfo` (`consentkycResponse`), in the sandbox's key order: `status`
/// comes between `locale` and `gender`, `updated_at` after `address`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UserInfo {
    pub sub: String,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub birthdate: String,
    pub locale: String,
    pub status: String,
    pub gender: String,
    pub email: String,
    pub email_verified: bool,
    pub phone_number: String,
    pub phone_number_verified: bool,
    pub address: Address,
    /// Seconds since the Unix epoch.
    pub updated_at: i64,
    /// A number on the wire (the spec says a string).
    pub credit_score: i64,
    pub active: bool,
    pub country_of_birth: String,
    pub region_of_birth: String,
    pub city_of_birth: String,
    pub occupation: String,
    pub employer_name: String,
    pub identification_type: String,
    pub identification_value: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_user_info_has_the_sandboxs_key_order() {
        let info = BasicUserInfo {
            sub: "42".into(),
            name: "Ada Lovelace".into(),
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            birthdate: "1815-12-10".into(),
            locale: "en_GB".into(),
            gender: "FEMALE".into(),
            updated_at: 1,
        };
        assert_eq!(
            serde_json::to_string(&info).unwrap(),
            r#"{"sub":"42","name":"Ada Lovelace","given_name":"Ada","family_name":"Lovelace","birthdate":"1815-12-10","locale":"en_GB","gender":"FEMALE","updated_at":1}"#
        );
    }
}

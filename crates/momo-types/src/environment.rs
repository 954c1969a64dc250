//! Target environments (`X-Target-Environment`) and their currencies.

use serde::Serialize;

/// A wallet-platform environment a user belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Environment {
    /// The `X-Target-Environment` value.
    pub name: &'static str,
    /// The ISO 4217 currency the environment accepts.
    pub currency: &'static str,
    /// How many decimal places amounts in that currency may carry.
    pub currency_decimals: u8,
    /// The country, for people (empty for the sandbox).
    pub country: &'static str,
}

impl Environment {
    /// Whether this is the sandbox (users are provisioned through the API, magic test numbers).
    pub fn is_sandbox(&self) -> bool {
        self.name == "sandbox"
    }

    /// The environment with this exact `X-Target-Environment` value.
    pub fn lookup(name: &str) -> Option<&'static Environment> {
        ENVIRONMENTS.iter().find(|e| e.name == name)
    }
}

const fn env(name: &'static str, currency: &'static str, currency_decimals: u8, country: &'static str) -> Environment {
    Environment { name, currency, currency_decimals, country }
}

/// The sandbox and MTN's production environments, with their currencies (docs/compatibility.md: the
/// eleven on MTN's common-error page, and Rwanda, which has a portal of its own).
pub const ENVIRONMENTS: &[Environment] = &[
    env("sandbox", "EUR", 2, ""),
    env("mtnuganda", "UGX", 0, "Uganda"),
    env("mtnghana", "GHS", 2, "Ghana"),
    env("mtnivorycoast", "XOF", 0, "Côte d'Ivoire"),
    env("mtnzambia", "ZMW", 2, "Zambia"),
    env("mtncameroon", "XAF", 0, "Cameroon"),
    env("mtnbenin", "XOF", 0, "Benin"),
    env("mtncongo", "XAF", 0, "Congo-Brazzaville"),
    env("mtnswaziland", "SZL", 2, "Eswatini"),
    env("mtnguineaconakry", "GNF", 0, "Guinea"),
    env("mtnsouthafrica", "ZAR", 2, "South Africa"),
    env("mtnliberia", "LRD", 2, "Liberia"),
    env("mtnrwanda", "RWF", 0, "Rwanda"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_is_eur_and_lookup_is_exact() {
        assert_eq!(Environment::lookup("sandbox").unwrap().currency, "EUR");
        assert_eq!(Environment::lookup("mtnuganda").unwrap().currency, "UGX");
        assert!(Environment::lookup("Sandbox").is_none());
        assert!(Environment::lookup("production").is_none());
    }
}

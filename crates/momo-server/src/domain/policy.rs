//! The policies domain logic reads (which sandbox test numbers apply, the shape of `reason`),
//! chosen by settings (`crate::config`), which depend on the domain and never the reverse.

/// An enum of a setting's values, each with its one accepted spelling: `as_str`, `VALUES`,
/// `FromStr` (with an error that lists the values) and `Display`. Why a macro:
/// docs/architecture.md.
macro_rules! setting_enum {
    ($(#[$doc:meta])* $name:ident { $( $(#[$vdoc:meta])* $variant:ident = $wire:literal ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $( $(#[$vdoc])* $variant ),* }

        impl $name {
            /// The accepted spellings.
            pub const VALUES: &'static [&'static str] = &[$($wire),*];

            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $wire ),* }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $wire => Ok($name::$variant), )*
                    other => Err(format!("{other:?} is not one of: {}", Self::VALUES.join(", "))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use setting_enum;

setting_enum! {
    /// The sandbox's test numbers (docs/scenarios.md).
    ScenarioProfile {
        /// What the sandbox really does (docs/scenarios.md).
        Observed = "observed",
        /// MTN's published Sandbox Use Cases (docs/scenarios.md).
        Documented = "documented",
    }
}

setting_enum! {
    /// The shape of `reason` in status and callback bodies (docs/compatibility.md).
    ReasonFormat {
        /// As observed: a bare string for requests to pay, withdrawals, transfers, deposits and
        /// refunds; `{code,message}` for invoices, payments and pre-approvals.
        Observed = "observed",
        /// Always `{"code":…,"message":…}`, as MTN's spec says.
        Object = "object",
        /// Always a bare string.
        String = "string",
    }
}

//! Header names used by the MoMo Open API (lowercase, as HTTP/2 and the `http` crate want them).

/// The gateway's subscription key header.
pub const SUBSCRIPTION_KEY: &str = "ocp-apim-subscription-key";
/// The query-parameter alternative to [`SUBSCRIPTION_KEY`].
pub const SUBSCRIPTION_KEY_QUERY: &str = "subscription-key";
/// The id of the resource a POST creates (a UUID v4).
pub const REFERENCE_ID: &str = "x-reference-id";
/// The wallet platform environment (`sandbox`, `mtnuganda`, …).
pub const TARGET_ENVIRONMENT: &str = "x-target-environment";
/// Where the final status of a transaction is sent.
pub const CALLBACK_URL: &str = "x-callback-url";
/// Set by openmomo on every response: the id of the request in the server's logs.
pub const REQUEST_ID: &str = "x-request-id";

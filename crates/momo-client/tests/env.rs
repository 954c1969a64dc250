//! `Client::from_env()`: `MOMO_*` variables and `.env` (in a binary of its own: it changes the
//! process's environment and working directory).

use momo_client::{Client, Error};
use momo_types::Product;
use secrecy::ExposeSecret;

#[test]
fn from_env_reads_variables_and_dot_env_without_overriding_and_names_bad_variables() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "MOMO_BASE_URL=http://127.0.0.1:9\nMOMO_API_USER=from-dot-env\nMOMO_API_KEY=key-from-dot-env\n\
         MOMO_SUBSCRIPTION_KEY=all-products-key\nMOMO_DISBURSEMENT_SUBSCRIPTION_KEY=disbursement-key\n",
    )
    .unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    for name in
        ["MOMO_BASE_URL", "MOMO_API_USER", "MOMO_API_KEY", "MOMO_SUBSCRIPTION_KEY", "MOMO_CURRENCY", "MOMO_PLATFORM"]
    {
        std::env::remove_var(name);
    }
    std::env::set_var("MOMO_API_USER", "from-the-environment");
    std::env::set_var("MOMO_TARGET_ENVIRONMENT", "mtnuganda");

    let client = Client::from_env().unwrap();
    let config = client.config();
    assert_eq!(config.base_url.as_str(), "http://127.0.0.1:9/");
    assert_eq!(config.api_user.as_deref(), Some("from-the-environment"), "the real environment wins over .env");
    assert_eq!(config.api_key.as_ref().unwrap().expose_secret(), "key-from-dot-env");
    assert_eq!(config.target_environment, "mtnuganda");
    assert_eq!(config.subscription_keys[&Product::Collection].expose_secret(), "all-products-key");
    assert_eq!(config.subscription_keys[&Product::Disbursement].expose_secret(), "disbursement-key");

    std::env::set_var("MOMO_CURRENCY", "euro");
    let error = Client::from_env().unwrap_err();
    assert!(matches!(&error, Error::Config(m) if m.contains("MOMO_CURRENCY")), "{error}");
    std::env::remove_var("MOMO_CURRENCY");
    std::env::set_var("MOMO_PLATFORM", "new");
    let error = Client::from_env().unwrap_err();
    assert!(matches!(&error, Error::Config(m) if m.contains("MOMO_PLATFORM")), "{error}");
}

//! Generating, hashing and checking secrets.
//!
//! Generated API keys, subscription keys and operator tokens carry at least 122 random bits, but
//! subscription keys and operator tokens may also be chosen by a person (`--subscription-key`,
//! `--admin-token`), and a plain hash of a guessable value can be reversed by trying guesses
//! against a copy of the database. So the stored form is keyed: HMAC-SHA-256, under the
//! credential hash key that the server keeps *outside* the database (a file of its own,
//! docs/configuration.md), of the secret's SHA-256. A stolen database alone gives nothing to
//! guess against. Hashing the SHA-256 rather than the secret lets a database of plain SHA-256
//! hashes (before this scheme) be converted in place at start. Comparisons are constant time.

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use rand::Rng as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// The stored form of a secret: see the module's documentation. Its `Debug` shows only a prefix.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretHash([u8; 32]);

/// Hashes secrets under the credential hash key.
#[derive(Clone)]
pub struct SecretHasher {
    /// The HMAC with the key already absorbed: each hash clones it instead of hashing the key's
    /// two padded blocks again (two of the five SHA-256 blocks a subscription-key check costs).
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHasher { key: [redacted] }")
    }
}

/// What the database keeps to tell which key its hashes were made with (the HMAC of this label).
const KEY_CHECK_LABEL: &[u8] = b"openmomo credential hash key check";

impl SecretHasher {
    pub fn new(key: &[u8]) -> Self {
        Self { keyed: <Hmac<Sha256>>::new_from_slice(key).expect("HMAC takes a key of any length") }
    }

    fn mac(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// The stored form of a presented or generated secret.
    pub fn hash(&self, secret: &str) -> SecretHash {
        self.rehash(&SecretHash::unkeyed(secret))
    }

    /// The stored form of a secret whose plain SHA-256 (the scheme before keyed hashes) is `old`.
    pub fn rehash(&self, old: &SecretHash) -> SecretHash {
        SecretHash(self.mac(&old.0))
    }

    /// Whether `secret` is the secret behind `stored`, compared in constant time.
    pub fn matches(&self, stored: &SecretHash, secret: &str) -> bool {
        stored.0.ct_eq(&self.hash(secret).0).into()
    }

    /// A value that identifies the key without revealing it, kept in the database so that a
    /// start with another key is refused instead of locking every credential out.
    pub fn key_check(&self) -> Vec<u8> {
        self.mac(KEY_CHECK_LABEL).to_vec()
    }
}

impl SecretHash {
    /// The plain SHA-256 of a secret: what databases before keyed hashes stored.
    pub fn unkeyed(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Lowercase hex, the stored form.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Read the stored form back.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(out))
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHash({}…)", &self.to_hex()[..8])
    }
}

/// A new API key or subscription key: 32 lowercase hex digits, the form MTN issues (a UUID v4
/// without its hyphens).
pub fn generate_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A new operator token: 64 lowercase hex digits.
pub fn generate_operator_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new-platform User ID: base64 of 16 random bytes, so it ends in `==` like MTN's.
pub fn generate_momo_africa_user_id() -> String {
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A new-platform Credential Token: 40 characters including punctuation, which clients must
/// put into the Basic header raw (never URL-encoded).
pub fn generate_credential_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.!*@";
    let mut rng = rand::rng();
    (0..40).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

/// A secret for signing tokens.
pub fn generate_signing_key() -> Vec<u8> {
    let bytes: [u8; 32] = rand::random();
    bytes.to_vec()
}

/// What a subscription key or operator token given by a person may look like: printable ASCII
/// without spaces or commas (the separator of `MOMO_SUBSCRIPTION_KEYS`), 8 to 256 characters.
pub fn check_subscription_key_value(key: &str) -> Result<(), String> {
    if !(8..=256).contains(&key.len()) {
        return Err("a subscription key must be 8 to 256 characters long".into());
    }
    if !key.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
        return Err("a subscription key may contain only printable ASCII without spaces or commas".into());
    }
    Ok(())
}

/// The first four characters of a key, shown in listings to tell keys apart.
pub fn hint(key: &str) -> String {
    key.chars().take(4).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_look_like_mtns() {
        let key = generate_key();
        assert_eq!(key.len(), 32);
        assert!(key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(key, generate_key());
    }

    #[test]
    fn hash_roundtrips_through_hex_and_matches_only_its_secret() {
        let hasher = SecretHasher::new(b"0123456789abcdef0123456789abcdef");
        let hash = hasher.hash("f1db798c98df4bcf83b538175893bbf0");
        assert_eq!(SecretHash::from_hex(&hash.to_hex()), Some(hash.clone()));
        assert!(hasher.matches(&hash, "f1db798c98df4bcf83b538175893bbf0"));
        assert!(!hasher.matches(&hash, "f1db798c98df4bcf83b538175893bbf1"));
        assert!(!format!("{hash:?}").contains(&hash.to_hex()));
        assert!(!format!("{hasher:?}").contains("0123456789abcdef"));
    }

    /// Stored hashes must stay what earlier versions wrote: known answers, computed apart (Python's
    /// `hmac.new(key, sha256(secret).digest(), sha256)`), and the same on every use of a hasher.
    #[test]
    fn hashes_are_hmac_sha256_of_the_secrets_sha256_every_time() {
        let hasher = SecretHasher::new(b"0123456789abcdef0123456789abcdef");
        for _ in 0..2 {
            let hash = hasher.hash("f1db798c98df4bcf83b538175893bbf0");
            assert_eq!(hash.to_hex(), "7b1e59314df8e7bae005d4dbe1407578745ccd9734c2dad317326f6ce8fdbf17");
            assert_eq!(
                hex::encode(hasher.key_check()),
                "27d844876704ad8846b0daa42678d7c3b126662480a228dc648a5080f6297aee"
            );
        }
    }

    #[test]
    fn stored_hashes_are_keyed_and_an_old_plain_hash_converts_to_the_same_value() {
        let one = SecretHasher::new(b"0123456789abcdef0123456789abcdef");
        let other = SecretHasher::new(b"fedcba9876543210fedcba9876543210");
        let pinned = "my-pinned-key-1";
        // Without the key, a guess hashed the old way no longer finds the stored value.
        assert_ne!(one.hash(pinned), SecretHash::unkeyed(pinned));
        assert_ne!(one.hash(pinned), other.hash(pinned));
        assert!(!other.matches(&one.hash(pinned), pinned));
        // A database of plain SHA-256 hashes is converted in place.
        assert_eq!(one.rehash(&SecretHash::unkeyed(pinned)), one.hash(pinned));
        assert_ne!(one.key_check(), other.key_check());
    }

    #[test]
    fn momo_africa_credentials_have_the_new_platforms_shape() {
        let id = generate_momo_africa_user_id();
        assert!(id.ends_with('='), "{id}");
        let token = generate_credential_token();
        assert_eq!(token.len(), 40);
        assert!(!token.contains(':'));
    }

    #[test]
    fn subscription_key_values_are_checked() {
        assert!(check_subscription_key_value("0123456789abcdef0123456789abcdef").is_ok());
        assert!(check_subscription_key_value("short").is_err());
        assert!(check_subscription_key_value("has space in it").is_err());
        assert!(check_subscription_key_value("has,comma,inside").is_err());
        assert!(check_subscription_key_value("nön-ascii-key").is_err());
    }
}

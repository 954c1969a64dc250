//! The files the server keeps on disk, private to the user it runs as.
//!
//! The SQLite database holds the token-signing key and the callback-signing root in clear
//! (`server_secrets`): anyone who can read it can forge access tokens. So the data directory is
//! `0700`, and the database and its `-wal` and `-shm` files `0600`, whatever the umask. SQLite
//! gives the `-wal` and `-shm` files it creates the mode of the database file, so creating that
//! file `0600` before SQLite opens it is enough for the others. docs/configuration.md says what
//! protects the same secrets on PostgreSQL.

use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// The mode of the data directory.
pub(crate) const DIR_MODE: u32 = 0o700;
/// The mode of every file in it.
pub(crate) const FILE_MODE: u32 = 0o600;

/// Make `dir` a private data directory: create it `0700`; refuse one that other users can write
/// (they could have replaced or planted files in it); tighten one that they can only read or
/// enter, with a warning.
pub(crate) fn prepare(dir: &Path) -> anyhow::Result<()> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(|e| anyhow::anyhow!("cannot create the data directory {}: {e}", dir.display())),
        Err(e) => anyhow::bail!("cannot read the data directory {}: {e}", dir.display()),
        Ok(meta) if !meta.is_dir() => anyhow::bail!("the data directory {} is not a directory", dir.display()),
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o022 != 0 {
                anyhow::bail!(
                    "the data directory {} can be written by other users (mode {mode:04o}): they could replace the \
                     database. Use a private directory, or make this one private with `chmod 700 {}`",
                    dir.display(),
                    dir.display()
                );
            }
            if mode & 0o077 != 0 {
                tracing::warn!(
                    directory = %dir.display(),
                    mode = format!("{mode:04o}"),
                    "the data directory was readable by other users; its mode is now 0700"
                );
                fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
                    .map_err(|e| anyhow::anyhow!("cannot make the data directory {} private: {e}", dir.display()))?;
            }
            Ok(())
        }
    }
}

/// Make the SQLite database at `db` and its companion files private: create the database file
/// `0600` if it does not exist yet (so that SQLite's `-wal` and `-shm` inherit that mode), and
/// tighten any of the three that other users can read, with a warning.
pub(crate) fn protect_database(db: &Path) -> anyhow::Result<()> {
    match OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(db) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => anyhow::bail!("cannot create the database file {}: {e}", db.display()),
    }
    for file in companions(db) {
        let meta = match fs::metadata(&file) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => anyhow::bail!("cannot read {}: {e}", file.display()),
        };
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                file = %file.display(),
                mode = format!("{mode:04o}"),
                "a database file was readable by other users; its mode is now 0600"
            );
            fs::set_permissions(&file, Permissions::from_mode(FILE_MODE))
                .map_err(|e| anyhow::anyhow!("cannot make {} private: {e}", file.display()))?;
        }
    }
    Ok(())
}

/// The credential hash key in `path` (docs/configuration.md): 32 random bytes, kept as 64 hex
/// digits in a file of its own, outside the database, so that a copy of the database alone does
/// not allow guessing pinned keys against their hashes. Created `0600` on first use; tightened,
/// with a warning, if others can read it.
pub(crate) fn credential_hash_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    let shown = path.display();
    if !path.exists() {
        create_key_file(path).map_err(|e| anyhow::anyhow!("cannot create the credential hash key {shown}: {e}"))?;
    }
    let mode =
        fs::metadata(path).map_err(|e| anyhow::anyhow!("cannot read {shown}: {e}"))?.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        tracing::warn!(file = %shown, mode = format!("{mode:04o}"), "the credential hash key was readable by other users; its mode is now 0600");
        fs::set_permissions(path, Permissions::from_mode(FILE_MODE))
            .map_err(|e| anyhow::anyhow!("cannot make {shown} private: {e}"))?;
    }
    let text =
        fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read the credential hash key {shown}: {e}"))?;
    match hex::decode(text.trim()) {
        Ok(key) if key.len() >= 16 => Ok(key),
        _ => anyhow::bail!("the credential hash key {shown} must hold at least 32 hex digits (64 when generated)"),
    }
}

/// Write a new key to a temporary file, sync it, and link it into place only if `path` does
/// not exist yet: a crash never leaves a partial key, and of two instances starting at once on
/// one data directory, both end up with the same key (the one linked first).
fn create_key_file(path: &Path) -> io::Result<()> {
    use std::io::Write as _;
    let temporary = path.with_extension(format!("new-{}", uuid::Uuid::new_v4().simple()));
    let written = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(&temporary)?;
        let key: [u8; 32] = rand::random();
        file.write_all(format!("{}\n", hex::encode(key)).as_bytes())?;
        file.sync_all()?;
        match fs::hard_link(&temporary, path) {
            Ok(()) => {
                tracing::info!(file = %path.display(), "created the credential hash key");
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e),
        }
    })();
    let _ = fs::remove_file(&temporary);
    written
}

/// The database file and the two files SQLite keeps beside it in WAL mode.
fn companions(db: &Path) -> [PathBuf; 3] {
    let with_suffix = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [db.to_owned(), with_suffix("-wal"), with_suffix("-shm")]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_new_data_directory_and_database_are_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        prepare(&dir).unwrap();
        assert_eq!(mode(&dir), DIR_MODE);
        let db = dir.join("momo.db");
        protect_database(&db).unwrap();
        assert_eq!(mode(&db), FILE_MODE);
    }

    #[test]
    fn an_open_data_directory_and_its_files_are_tightened() {
        let root = tempfile::tempdir().unwrap();
        fs::set_permissions(root.path(), Permissions::from_mode(0o755)).unwrap();
        let db = root.path().join("momo.db");
        for file in companions(&db) {
            fs::write(&file, b"").unwrap();
            fs::set_permissions(&file, Permissions::from_mode(0o644)).unwrap();
        }
        prepare(root.path()).unwrap();
        protect_database(&db).unwrap();
        assert_eq!(mode(root.path()), DIR_MODE);
        for file in companions(&db) {
            assert_eq!(mode(&file), FILE_MODE, "{}", file.display());
        }
    }

    #[test]
    fn the_credential_hash_key_is_created_private_and_read_back() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("credential-hash.key");
        let key = credential_hash_key(&path).unwrap();
        assert_eq!(key.len(), 32);
        assert_eq!(mode(&path), FILE_MODE);
        assert_eq!(credential_hash_key(&path).unwrap(), key, "the same key on the next start");
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        assert_eq!(credential_hash_key(&path).unwrap(), key);
        assert_eq!(mode(&path), FILE_MODE, "tightened");
        fs::write(&path, "not hex").unwrap();
        assert!(credential_hash_key(&path).is_err());
    }

    #[test]
    fn a_data_directory_others_can_write_is_refused() {
        for open in [0o777, 0o1777, 0o770, 0o702] {
            let root = tempfile::tempdir().unwrap();
            fs::set_permissions(root.path(), Permissions::from_mode(open)).unwrap();
            let e = prepare(root.path()).unwrap_err().to_string();
            assert!(e.contains("can be written by other users"), "{open:o}: {e}");
            assert_eq!(mode(root.path()), open, "left as it was");
        }
    }
}

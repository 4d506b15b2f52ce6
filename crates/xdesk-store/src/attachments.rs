//! Content-addressed attachment files: `<root>/<aa>/<sha256>` (256 directories, so writing a
//! file seldom means creating a directory too; files of the earlier `<aa>/<bb>/<sha256>`
//! layout are still found). A file is written (and synced) before the transaction that
//! references it commits, so a committed row always has its bytes; a crash in between leaves
//! an unreferenced file that garbage collection removes.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::io::AsyncWriteExt;

#[derive(Clone, Debug)]
pub struct AttachmentStore {
    root: PathBuf,
}

/// A file that is safely on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    pub sha256: String,
    pub size: i64,
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl AttachmentStore {
    pub async fn open(root: PathBuf) -> std::io::Result<Self> {
        tokio::fs::create_dir_all(root.join("tmp")).await?;
        Ok(Self { root })
    }

    fn path_of(&self, sha: &str) -> PathBuf {
        self.root.join(&sha[0..2]).join(sha)
    }

    fn legacy_path_of(&self, sha: &str) -> PathBuf {
        self.root.join(&sha[0..2]).join(&sha[2..4]).join(sha)
    }

    /// Where the file is, in either layout.
    async fn find(&self, sha: &str) -> std::io::Result<Option<PathBuf>> {
        for p in [self.path_of(sha), self.legacy_path_of(sha)] {
            if tokio::fs::try_exists(&p).await? {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }

    /// Stores bytes and returns their digest. Writing the same content twice stores it once.
    pub async fn put(&self, bytes: &[u8]) -> std::io::Result<StoredFile> {
        let sha = hex::encode(Sha256::digest(bytes));
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        if let Some(existing) = self.find(&sha).await? {
            // An old, unreferenced copy may be next in line for the collector, which takes only
            // files untouched for its grace period: marking it new keeps it for the transaction
            // about to reference it.
            let f = tokio::fs::OpenOptions::new()
                .write(true)
                .open(&existing)
                .await?;
            f.into_std().await.set_modified(SystemTime::now())?;
            return Ok(StoredFile { sha256: sha, size });
        }
        let dest = self.path_of(&sha);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let tmp = self
            .root
            .join("tmp")
            .join(format!("{sha}.{}", rand_suffix()));
        let mut f = tokio::fs::File::create(&tmp).await?;
        f.write_all(bytes).await?;
        f.sync_data().await?;
        drop(f);
        tokio::fs::rename(&tmp, &dest).await?;
        Ok(StoredFile { sha256: sha, size })
    }

    /// Reads a stored file; `None` when it is not there.
    pub async fn get(&self, sha: &str) -> std::io::Result<Option<Vec<u8>>> {
        if !is_sha256_hex(sha) {
            return Ok(None);
        }
        match self.find(sha).await? {
            Some(p) => match tokio::fs::read(p).await {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }

    pub async fn exists(&self, sha: &str) -> std::io::Result<bool> {
        if !is_sha256_hex(sha) {
            return Ok(false);
        }
        Ok(self.find(sha).await?.is_some())
    }

    /// Removes a file; `false` when it was not there.
    pub async fn remove(&self, sha: &str) -> std::io::Result<bool> {
        if !is_sha256_hex(sha) {
            return Ok(false);
        }
        let mut removed = false;
        for p in [self.path_of(sha), self.legacy_path_of(sha)] {
            match tokio::fs::remove_file(p).await {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// Whether the file at `path` was modified (or stored again) within `age`.
    pub async fn touched_within(&self, path: &Path, age: Duration) -> std::io::Result<bool> {
        let cutoff = SystemTime::now()
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        match modified_before(path, cutoff).await {
            Ok(old) => Ok(!old),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every stored file last modified more than `age` ago, with its digest.
    pub async fn list_older_than(&self, age: Duration) -> std::io::Result<Vec<(String, PathBuf)>> {
        let cutoff = SystemTime::now()
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let mut rd = tokio::fs::read_dir(&dir).await?;
            while let Some(entry) = rd.next_entry().await? {
                let ft = entry.file_type().await?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if ft.is_dir() {
                    if name != "tmp" {
                        stack.push(entry.path());
                    }
                } else if is_sha256_hex(&name) && modified_before(&entry.path(), cutoff).await? {
                    out.push((name, entry.path()));
                }
            }
        }
        Ok(out)
    }
}

async fn modified_before(path: &Path, cutoff: SystemTime) -> std::io::Result<bool> {
    let m = tokio::fs::metadata(path).await?.modified()?;
    Ok(m <= cutoff)
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_is_idempotent_and_readable() {
        let dir = tempfile::tempdir().unwrap();
        let s = AttachmentStore::open(dir.path().to_path_buf())
            .await
            .unwrap();
        let a = s.put("截图 🚀".as_bytes()).await.unwrap();
        let b = s.put("截图 🚀".as_bytes()).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(
            s.get(&a.sha256).await.unwrap().unwrap(),
            "截图 🚀".as_bytes()
        );
        assert!(s.get("../../etc/passwd").await.unwrap().is_none());
        // A file of the earlier two-level layout is still found and removed.
        let old = "ab".repeat(32);
        let legacy = dir.path().join("ab").join("ab").join(&old);
        std::fs::create_dir_all(legacy.parent().unwrap()).unwrap();
        std::fs::write(&legacy, b"old").unwrap();
        assert_eq!(s.get(&old).await.unwrap().unwrap(), b"old");
        assert!(s.exists(&old).await.unwrap());
        assert!(s.remove(&old).await.unwrap());
        assert!(!s.exists(&old).await.unwrap());
        assert_eq!(s.list_older_than(Duration::ZERO).await.unwrap().len(), 1);
        assert!(dir.path().join(&a.sha256[..2]).join(&a.sha256).exists());
    }

    /// A file stored again while it sat old and unreferenced is not collected: the transaction
    /// that stored it is about to reference it.
    #[tokio::test]
    async fn a_file_stored_again_is_not_collected() {
        let dir = tempfile::tempdir().unwrap();
        let s = crate::testing::store(dir.path()).await;
        let f = s.files().put(b"receipt").await.unwrap();
        let path = dir
            .path()
            .join("attachments")
            .join(&f.sha256[..2])
            .join(&f.sha256);
        let age = |p: &Path| {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(SystemTime::now() - Duration::from_secs(7200))
                .unwrap()
        };
        age(&path);
        s.files().put(b"receipt").await.unwrap();
        let hour = Duration::from_secs(3600);
        assert_eq!(s.collect_unreferenced_files(hour).await.unwrap(), 0);
        assert!(path.exists());
        // Left alone and unreferenced, it goes.
        age(&path);
        assert_eq!(s.collect_unreferenced_files(hour).await.unwrap(), 1);
        assert!(!path.exists());
    }
}

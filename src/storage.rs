//! Where file bytes live. A trait so object stores can replace the local directory; keys are opaque to callers.
use std::path::PathBuf;

use async_trait::async_trait;
use bytes::Bytes;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no stored object `{0}`")]
    NotFound(String),
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

#[async_trait]
pub trait FileStorage: Send + Sync {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError>;
    async fn get(&self, key: &str) -> Result<Bytes, StorageError>;
    async fn delete(&self, key: &str) -> Result<(), StorageError>;
}

/// Files in a local directory, written to a temporary name and renamed so a crash never leaves half a file
/// under a real key.
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str) -> PathBuf {
        // Keys are generated ids (`[a-z0-9-]`); anything else is flattened so it cannot escape the root.
        let safe: String = key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        self.root.join(safe)
    }
}

#[async_trait]
impl FileStorage for LocalStorage {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        tokio::fs::create_dir_all(&self.root).await?;
        let path = self.path(key);
        let partial = path.with_extension("partial");
        tokio::fs::write(&partial, &bytes).await?;
        tokio::fs::rename(&partial, &path).await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        match tokio::fs::read(self.path(key)).await {
            Ok(bytes) => Ok(Bytes::from(bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(StorageError::NotFound(key.to_owned())),
            Err(err) => Err(err.into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err.into()),
            _ => Ok(()),
        }
    }
}

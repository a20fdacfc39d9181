//! Where file bytes live. A trait so object stores can replace the local directory; keys are opaque to callers.
use std::path::PathBuf;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, stream::BoxStream};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no stored object `{0}`")]
    NotFound(String),
    #[error("the object exceeds {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("reading the upload failed: {0}")]
    Source(String),
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

/// What a streamed write produced: its size, its SHA-256, and its first bytes (to sniff the content type).
#[derive(Debug, Clone)]
pub struct Written {
    pub size: u64,
    pub sha256: String,
    pub head: Vec<u8>,
}

/// Bytes arriving in pieces (an upload), with the error the source may end in.
pub type ByteStream<'a> = BoxStream<'a, Result<Bytes, StorageError>>;

/// How many leading bytes [`Written::head`] keeps.
pub const HEAD_BYTES: usize = 8192;

#[async_trait]
pub trait FileStorage: Send + Sync {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError>;
    /// Writes a stream as it arrives (memory stays flat whatever the size), refusing it past `limit` bytes; a
    /// refused or failed write leaves nothing under `key`.
    async fn put_stream(&self, key: &str, chunks: ByteStream<'_>, limit: u64) -> Result<Written, StorageError>;
    async fn get(&self, key: &str) -> Result<Bytes, StorageError>;
    /// `len` bytes from `start`, as a stream.
    async fn read_range(&self, key: &str, start: u64, len: u64) -> Result<ByteStream<'static>, StorageError>;
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

    async fn put_stream(&self, key: &str, mut chunks: ByteStream<'_>, limit: u64) -> Result<Written, StorageError> {
        use tokio::io::AsyncWriteExt;
        tokio::fs::create_dir_all(&self.root).await?;
        let path = self.path(key);
        let partial = path.with_extension("partial");
        let written = async {
            let mut file = tokio::fs::File::create(&partial).await?;
            let (mut size, mut hasher, mut head) = (0u64, Sha256::new(), Vec::new());
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk?;
                size += chunk.len() as u64;
                if size > limit {
                    return Err(StorageError::TooLarge { limit });
                }
                if head.len() < HEAD_BYTES {
                    head.extend_from_slice(&chunk[..chunk.len().min(HEAD_BYTES - head.len())]);
                }
                hasher.update(&chunk);
                file.write_all(&chunk).await?;
            }
            file.sync_all().await?;
            Ok(Written { size, sha256: hex::encode(hasher.finalize()), head })
        }
        .await;
        match written {
            Ok(written) => {
                tokio::fs::rename(&partial, &path).await?;
                Ok(written)
            }
            Err(err) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(err)
            }
        }
    }

    async fn read_range(&self, key: &str, start: u64, len: u64) -> Result<ByteStream<'static>, StorageError> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut file = match tokio::fs::File::open(self.path(key)).await {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(StorageError::NotFound(key.to_owned()));
            }
            Err(err) => return Err(err.into()),
        };
        file.seek(std::io::SeekFrom::Start(start)).await?;
        let stream = tokio_util::io::ReaderStream::with_capacity(file.take(len), 64 * 1024);
        Ok(stream.map(|chunk| chunk.map_err(StorageError::from)).boxed())
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

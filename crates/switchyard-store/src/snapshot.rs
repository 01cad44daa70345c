//! Snapshot files: a consistent copy of the state machine's trees, written once, verified when
//! read, and moved between nodes in chunks.
//!
//! Layout: the magic bytes `SWYDSNP1`, then frames, each a little-endian `u32` length and a
//! postcard-encoded [`Frame`]. The last frame is `End` with the number of records and a SHA-256
//! over every frame before it, so a truncated or corrupted file is refused before anything is
//! installed.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec::{decode, encode};

const MAGIC: &[u8; 8] = b"SWYDSNP1";

/// Largest chunk of a snapshot sent in one message: well below tonic's 4 MiB default limit.
pub const SNAPSHOT_CHUNK_BYTES_MAX: usize = 1024 * 1024;
/// Largest snapshot a node accepts from a peer.
pub const SNAPSHOT_BYTES_MAX: u64 = 16 * 1024 * 1024 * 1024;
/// Largest single frame (one record) in a snapshot file.
const FRAME_BYTES_MAX: u32 = 16 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
enum Frame {
    Record {
        tree: u8,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    End {
        records: u64,
        sha256: [u8; 32],
    },
}

/// A snapshot on disk: what openraft hands around as the state machine's snapshot data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    pub path: PathBuf,
    pub bytes: u64,
}

impl SnapshotFile {
    /// Reads the whole file and checks its end frame (record count and SHA-256). A receiver runs
    /// this before installing, so that a damaged transfer is refused, not installed.
    pub fn verify(&self) -> io::Result<u64> {
        let mut reader = SnapshotReader::open(&self.path)?;
        let mut records = 0;
        while reader.next_record()?.is_some() {
            records += 1;
        }
        Ok(records)
    }

    /// Reads up to `max_bytes` (at most [`SNAPSHOT_CHUNK_BYTES_MAX`]) from `offset`. An empty
    /// chunk means the end.
    pub fn read_chunk(&self, offset: u64, max_bytes: usize) -> io::Result<Vec<u8>> {
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut chunk = vec![0; max_bytes.min(SNAPSHOT_CHUNK_BYTES_MAX)];
        let mut filled = 0;
        while filled < chunk.len() {
            let read = file.read(&mut chunk[filled..])?;
            if read == 0 {
                break;
            }
            filled += read;
        }
        chunk.truncate(filled);
        Ok(chunk)
    }
}

/// Receives a snapshot from a peer, chunk by chunk, into a file.
#[derive(Debug)]
pub struct SnapshotSink {
    path: PathBuf,
    file: BufWriter<File>,
    written: u64,
}

impl SnapshotSink {
    /// Starts a file at `path` (replacing any leftover of an earlier attempt).
    pub fn create(path: PathBuf) -> io::Result<SnapshotSink> {
        let file = File::create(&path)?;
        Ok(SnapshotSink {
            path,
            file: BufWriter::new(file),
            written: 0,
        })
    }

    /// Appends the chunk that starts at `offset`; chunks must come in order and within the
    /// size limits.
    pub fn write_chunk(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if offset != self.written {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "snapshot chunk at offset {offset}, expected {}",
                    self.written
                ),
            ));
        }
        if data.len() > SNAPSHOT_CHUNK_BYTES_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "snapshot chunk of {} bytes exceeds {SNAPSHOT_CHUNK_BYTES_MAX}",
                    data.len()
                ),
            ));
        }
        if self.written + data.len() as u64 > SNAPSHOT_BYTES_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("snapshot exceeds {SNAPSHOT_BYTES_MAX} bytes"),
            ));
        }
        self.file.write_all(data)?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Completes the file, synced to disk.
    pub fn finish(self) -> io::Result<SnapshotFile> {
        let file = self.file.into_inner().map_err(|error| error.into_error())?;
        file.sync_all()?;
        Ok(SnapshotFile {
            path: self.path,
            bytes: self.written,
        })
    }
}

/// Writes a snapshot file.
pub(crate) struct SnapshotWriter {
    file: BufWriter<File>,
    path: PathBuf,
    hasher: Sha256,
    records: u64,
    bytes: u64,
}

impl SnapshotWriter {
    pub(crate) fn create(path: &Path) -> io::Result<SnapshotWriter> {
        let mut file = BufWriter::new(File::create(path)?);
        file.write_all(MAGIC)?;
        Ok(SnapshotWriter {
            file,
            path: path.to_owned(),
            hasher: Sha256::new(),
            records: 0,
            bytes: MAGIC.len() as u64,
        })
    }

    fn frame(&mut self, frame: &Frame) -> io::Result<()> {
        let body = encode(frame)?;
        let length = u32::try_from(body.len())
            .ok()
            .filter(|length| *length <= FRAME_BYTES_MAX)
            .ok_or_else(|| io::Error::other("snapshot record too large"))?;
        let header = length.to_le_bytes();
        if matches!(frame, Frame::Record { .. }) {
            self.hasher.update(header);
            self.hasher.update(&body);
        }
        self.file.write_all(&header)?;
        self.file.write_all(&body)?;
        self.bytes += 4 + body.len() as u64;
        Ok(())
    }

    pub(crate) fn record(&mut self, tree: u8, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.records += 1;
        self.frame(&Frame::Record {
            tree,
            key: key.to_vec(),
            value: value.to_vec(),
        })
    }

    /// Writes the end frame and syncs the file.
    pub(crate) fn finish(mut self) -> io::Result<SnapshotFile> {
        let sha256: [u8; 32] = self.hasher.clone().finalize().into();
        let records = self.records;
        self.frame(&Frame::End { records, sha256 })?;
        let file = self.file.into_inner().map_err(|error| error.into_error())?;
        file.sync_all()?;
        Ok(SnapshotFile {
            path: self.path,
            bytes: self.bytes,
        })
    }
}

/// One record of a snapshot: a key and value of the tree numbered `tree`.
pub(crate) struct SnapshotRecord {
    pub(crate) tree: u8,
    pub(crate) key: Vec<u8>,
    pub(crate) value: Vec<u8>,
}

/// Reads the records of a snapshot file, verifying its end frame.
pub(crate) struct SnapshotReader {
    file: BufReader<File>,
    hasher: Sha256,
    records: u64,
    finished: bool,
}

impl SnapshotReader {
    pub(crate) fn open(path: &Path) -> io::Result<SnapshotReader> {
        let mut file = BufReader::new(File::open(path)?);
        let mut magic = [0u8; 8];
        file.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a Switchyard snapshot file",
            ));
        }
        Ok(SnapshotReader {
            file,
            hasher: Sha256::new(),
            records: 0,
            finished: false,
        })
    }

    /// The next record `(tree, key, value)`, or `None` after a verified end.
    pub(crate) fn next_record(&mut self) -> io::Result<Option<SnapshotRecord>> {
        if self.finished {
            return Ok(None);
        }
        let mut header = [0u8; 4];
        self.file.read_exact(&mut header).map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("snapshot truncated: {error}"),
            )
        })?;
        let length = u32::from_le_bytes(header);
        if length > FRAME_BYTES_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "snapshot frame too large",
            ));
        }
        let mut body = vec![0u8; length as usize];
        self.file.read_exact(&mut body)?;
        match decode::<Frame>(&body, "snapshot frame")? {
            Frame::Record { tree, key, value } => {
                self.hasher.update(header);
                self.hasher.update(&body);
                self.records += 1;
                Ok(Some(SnapshotRecord { tree, key, value }))
            }
            Frame::End { records, sha256 } => {
                let computed: [u8; 32] = self.hasher.clone().finalize().into();
                if records != self.records || computed != sha256 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "snapshot check failed: {} records read, {records} expected, checksum {}",
                            self.records,
                            if computed == sha256 { "ok" } else { "wrong" }
                        ),
                    ));
                }
                self.finished = true;
                Ok(None)
            }
        }
    }
}

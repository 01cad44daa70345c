//! Generates the message types, clients and servers of `proto/` with a vendored `protoc`.
//!
//! Two compilations, each with its own file descriptor set: the public contracts
//! (`switchyard.v1`, `switchyard.admin.v1`), which the public port exposes through gRPC
//! reflection, and the internal Raft contract (`switchyard.raft.v1`), which only the internal port
//! serves.

use std::error::Error;
use std::path::{Path, PathBuf};

/// The public API files, relative to the proto root.
const PUBLIC_PROTO_FILES: [&str; 5] = [
    "switchyard/v1/types.proto",
    "switchyard/v1/events.proto",
    "switchyard/v1/participant.proto",
    "switchyard/v1/tso.proto",
    "switchyard/admin/v1/admin.proto",
];

/// The internal Raft file, relative to the proto root.
const RAFT_PROTO_FILES: [&str; 1] = ["switchyard/raft/v1/raft.proto"];

fn main() -> Result<(), Box<dyn Error>> {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    let proto_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let protoc = protoc_bin_vendored::protoc_bin_path()?;

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", proto_root.display());

    compile(
        &protoc,
        &proto_root,
        &PUBLIC_PROTO_FILES,
        &out_dir.join("switchyard_public_descriptor.bin"),
        false,
    )?;
    compile(
        &protoc,
        &proto_root,
        &RAFT_PROTO_FILES,
        &out_dir.join("switchyard_raft_descriptor.bin"),
        true,
    )?;
    Ok(())
}

/// Compiles `files` into Rust (messages, clients and servers) and writes their descriptor set.
/// `bytes_fields` maps `bytes` fields to `prost::bytes::Bytes`, which spares copies of large Raft
/// payloads.
fn compile(
    protoc: &Path,
    proto_root: &Path,
    files: &[&str],
    descriptor_set: &Path,
    bytes_fields: bool,
) -> Result<(), Box<dyn Error>> {
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    if bytes_fields {
        config.bytes(["."]);
    }
    let files: Vec<PathBuf> = files.iter().map(|file| proto_root.join(file)).collect();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .file_descriptor_set_path(descriptor_set)
        .compile_with_config(config, &files, &[proto_root.to_path_buf()])?;
    Ok(())
}

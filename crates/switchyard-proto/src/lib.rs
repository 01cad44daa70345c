//! Switchyard's gRPC contracts: the code generated from `proto/` and the conversions between wire
//! messages and the domain types of `switchyard-domain`.
//!
//! The contracts come in three packages, one per audience:
//!
//! - [`v1`] (`switchyard.v1`): the Participant API and the TSO API, for retailers, TSOs and
//!   operators;
//! - [`admin::v1`] (`switchyard.admin.v1`): the Admin API, for operators;
//! - [`raft::v1`] (`switchyard.raft.v1`): the internal Raft service between nodes, whose payloads
//!   are opaque serde-serialized bytes (openraft types never appear here).
//!
//! Each package has clients and servers (tonic) and message types (prost). The public packages'
//! descriptors are in [`FILE_DESCRIPTOR_SET`] for gRPC reflection on the public port; the Raft
//! package's are in [`RAFT_FILE_DESCRIPTOR_SET`].
//!
//! How the files divide the work:
//!
//! - `build.rs`: code generation with a vendored `protoc`;
//! - `error`: [`WireError`], which names the offending field by its dotted path, and its mapping
//!   to `INVALID_ARGUMENT`;
//! - `limits`: every bound the contracts document (page sizes, chunk sizes, batch sizes);
//! - `convert/`: one file per family of conversions (`ids`, `dates`, `facility`, `participant`,
//!   `stop_on_behalf`, `application`, `notice`, `policy`, `event`), plus `command` (write
//!   requests to domain commands, answers back) and `query` (read requests). Domain to wire is
//!   infallible (`From`); wire to domain validates (`TryFrom`, error [`WireError`]).

mod error;

pub mod convert;
pub mod limits;

pub use error::WireError;

/// The Participant and TSO APIs (`switchyard.v1`).
#[allow(
    clippy::all,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]
pub mod v1 {
    tonic::include_proto!("switchyard.v1");
}

/// The operators' API.
pub mod admin {
    /// The Admin API (`switchyard.admin.v1`).
    #[allow(
        clippy::all,
        missing_debug_implementations,
        unreachable_pub,
        rust_2018_idioms
    )]
    pub mod v1 {
        tonic::include_proto!("switchyard.admin.v1");
    }
}

/// The internal Raft contract.
pub mod raft {
    /// The Raft service between nodes (`switchyard.raft.v1`).
    #[allow(
        clippy::all,
        missing_debug_implementations,
        unreachable_pub,
        rust_2018_idioms
    )]
    pub mod v1 {
        tonic::include_proto!("switchyard.raft.v1");
    }
}

/// The encoded `FileDescriptorSet` of the public packages (`switchyard.v1` and
/// `switchyard.admin.v1`), for `tonic_reflection::server::Builder::register_encoded_file_descriptor_set`.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(
    env!("OUT_DIR"),
    "/switchyard_public_descriptor.bin"
));

/// The encoded `FileDescriptorSet` of the internal Raft package (`switchyard.raft.v1`), kept apart
/// so that the public port never advertises the internal service.
pub const RAFT_FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/switchyard_raft_descriptor.bin"));

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    fn services(encoded: &[u8]) -> Vec<String> {
        let set = prost_types::FileDescriptorSet::decode(encoded).unwrap();
        set.file
            .iter()
            .flat_map(|file| {
                file.service
                    .iter()
                    .map(move |service| format!("{}.{}", file.package(), service.name()))
            })
            .collect()
    }

    /// The public descriptor set advertises exactly the three public services, and the Raft set
    /// only the Raft service.
    #[test]
    fn descriptor_sets_split_public_and_internal() {
        let mut public = services(FILE_DESCRIPTOR_SET);
        public.sort();
        assert_eq!(
            public,
            [
                "switchyard.admin.v1.AdminService",
                "switchyard.v1.ParticipantService",
                "switchyard.v1.TsoService",
            ]
        );
        assert_eq!(
            services(RAFT_FILE_DESCRIPTOR_SET),
            ["switchyard.raft.v1.RaftService"]
        );
    }

    /// Every enum in the contracts starts with `<ENUM_NAME>_UNSPECIFIED = 0`, and every write
    /// request (a request with a `request_id`) has it as field 1, a string.
    #[test]
    fn contract_conventions() {
        for encoded in [FILE_DESCRIPTOR_SET, RAFT_FILE_DESCRIPTOR_SET] {
            let set = prost_types::FileDescriptorSet::decode(encoded).unwrap();
            for file in &set.file {
                let nested_enums = file
                    .message_type
                    .iter()
                    .flat_map(|message| message.enum_type.iter());
                for enumeration in file.enum_type.iter().chain(nested_enums) {
                    let first = &enumeration.value[0];
                    let mut expected = String::new();
                    for (index, character) in enumeration.name().chars().enumerate() {
                        if character.is_uppercase() && index > 0 {
                            expected.push('_');
                        }
                        expected.push(character.to_ascii_uppercase());
                    }
                    expected.push_str("_UNSPECIFIED");
                    assert_eq!(first.name(), expected);
                    assert_eq!(first.number(), 0);
                }
                for message in &file.message_type {
                    if let Some(field) = message
                        .field
                        .iter()
                        .find(|field| field.name() == "request_id")
                    {
                        assert_eq!(field.number(), 1, "{}", message.name());
                        assert_eq!(
                            field.r#type(),
                            prost_types::field_descriptor_proto::Type::String
                        );
                        assert!(message.name().ends_with("Request"), "{}", message.name());
                    }
                }
            }
        }
    }

    /// Every RPC takes a `<Method>Request` and returns a `<Method>Response`.
    #[test]
    fn rpc_message_names() {
        for encoded in [FILE_DESCRIPTOR_SET, RAFT_FILE_DESCRIPTOR_SET] {
            let set = prost_types::FileDescriptorSet::decode(encoded).unwrap();
            for file in &set.file {
                for service in &file.service {
                    for method in &service.method {
                        let name = method.name();
                        assert!(
                            method.input_type().ends_with(&format!(".{name}Request")),
                            "{name}"
                        );
                        assert!(
                            method.output_type().ends_with(&format!(".{name}Response")),
                            "{name}"
                        );
                    }
                }
            }
        }
    }
}

//! The contacts export: every participant's contacts as a document to keep outside the system.
//!
//! In 2022 the participants' contact list lived inside the system that was down, so nobody could
//! be told. The export is meant to run on a schedule (see `docs/RUNBOOK.md`) and is served from
//! any node's applied state (LOCAL by default), so it works while there is no leader.

use std::ops::ControlFlow;

use switchyard_proto::admin::v1 as admin;
use switchyard_proto::v1;
use switchyard_raft::NodeHandle;
use tonic::Status;

use crate::status;

/// Every participant in party id order, as the wire shows them.
pub(crate) fn participants(node: &NodeHandle) -> Result<Vec<v1::Participant>, Status> {
    let mut all = Vec::new();
    node.store()
        .state_machine
        .scan_participants(None, |participant| {
            all.push(v1::Participant::from(participant));
            ControlFlow::Continue(())
        })
        .map_err(|error| status::local_disk(&error))?;
    Ok(all)
}

/// The export document in `format`.
pub(crate) fn render(format: admin::ContactsFormat, participants: &[v1::Participant]) -> Vec<u8> {
    match format {
        admin::ContactsFormat::Json => json(participants),
        admin::ContactsFormat::Csv | admin::ContactsFormat::Unspecified => csv(participants),
    }
}

/// UTF-8 CSV (RFC 4180 quoting), a header row, one row per contact.
fn csv(participants: &[v1::Participant]) -> Vec<u8> {
    let mut out = String::from("party_id,participant_name,contact_name,role,email,phone\r\n");
    for participant in participants {
        for contact in &participant.contacts {
            let fields = [
                participant.party_id.as_str(),
                participant.name.as_str(),
                contact.name.as_str(),
                contact.role.as_str(),
                contact.email.as_str(),
                contact.phone.as_str(),
            ];
            for (index, field) in fields.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&csv_field(field));
            }
            out.push_str("\r\n");
        }
    }
    out.into_bytes()
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// UTF-8 JSON: an array of `switchyard.v1.Participant` in the proto3 JSON mapping.
fn json(participants: &[v1::Participant]) -> Vec<u8> {
    let document: Vec<serde_json::Value> = participants
        .iter()
        .map(|participant| {
            serde_json::json!({
                "partyId": participant.party_id,
                "name": participant.name,
                "contacts": participant.contacts.iter().map(|contact| serde_json::json!({
                    "name": contact.name,
                    "role": contact.role,
                    "email": contact.email,
                    "phone": contact.phone,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut bytes = serde_json::to_vec_pretty(&document).expect("JSON values always serialize");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<v1::Participant> {
        vec![v1::Participant {
            party_id: "A0001".to_owned(),
            name: "関西でんき, 株式会社".to_owned(),
            contacts: vec![v1::Contact {
                name: "Sato \"desk\"".to_owned(),
                role: "operations".to_owned(),
                email: "desk@example.jp".to_owned(),
                phone: "+81 6 1234 5678".to_owned(),
            }],
        }]
    }

    /// Commas and quotes are quoted; Japanese text passes unchanged.
    #[test]
    fn csv_quotes_what_needs_quoting() {
        let text = String::from_utf8(render(admin::ContactsFormat::Csv, &sample())).unwrap();
        assert_eq!(
            text,
            "party_id,participant_name,contact_name,role,email,phone\r\n\
             A0001,\"関西でんき, 株式会社\",\"Sato \"\"desk\"\"\",operations,desk@example.jp,+81 6 1234 5678\r\n"
        );
    }

    /// The JSON export uses the proto3 JSON field names.
    #[test]
    fn json_uses_proto_field_names() {
        let value: serde_json::Value =
            serde_json::from_slice(&render(admin::ContactsFormat::Json, &sample())).unwrap();
        assert_eq!(value[0]["partyId"], "A0001");
        assert_eq!(value[0]["contacts"][0]["email"], "desk@example.jp");
    }
}

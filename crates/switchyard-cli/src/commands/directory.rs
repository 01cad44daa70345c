//! `participants`, `notices`, `contacts update`: the directory and the notices.

use switchyard_proto::v1;

use super::{Context, check_write, print_list, print_write, read_pages};
use crate::args::{ContactsUpdateArgs, NoticesArgs, ParticipantsArgs};
use crate::error::CliError;
use crate::output::table::key_values;
use crate::output::{human, json};

pub(crate) fn participants_request(args: &ParticipantsArgs) -> v1::ListParticipantsRequest {
    v1::ListParticipantsRequest {
        page_size: 0,
        page_token: String::new(),
        kind: args
            .kind
            .map_or(v1::PartyKind::Unspecified, |kind| kind.wire()) as i32,
        consistency: args.read.consistency() as i32,
    }
}

pub(crate) fn notices_request(args: &NoticesArgs) -> v1::ListNoticesRequest {
    v1::ListNoticesRequest {
        page_size: 0,
        page_token: String::new(),
        consistency: args.read.consistency() as i32,
    }
}

pub(crate) fn update_contacts_request(
    args: &ContactsUpdateArgs,
    request_id: &str,
) -> v1::UpdateContactsRequest {
    v1::UpdateContactsRequest {
        request_id: request_id.to_owned(),
        contacts: args
            .contacts
            .iter()
            .map(|contact| v1::Contact {
                name: contact.name.clone(),
                role: contact.role.clone(),
                email: contact.email.clone(),
                phone: contact.phone.clone(),
            })
            .collect(),
    }
}

pub(crate) async fn participants(
    context: &mut Context<'_>,
    args: ParticipantsArgs,
) -> Result<(), CliError> {
    let page = read_pages(
        context,
        participants_request(&args),
        &args.page,
        |link, request| async move { link.participant().list_participants(request).await },
    )
    .await?;
    print_list(
        context,
        &page,
        "participants",
        human::participant_table,
        json::participant,
    )
}

pub(crate) async fn notices(context: &mut Context<'_>, args: NoticesArgs) -> Result<(), CliError> {
    let page = read_pages(
        context,
        notices_request(&args),
        &args.page,
        |link, request| async move { link.participant().list_notices(request).await },
    )
    .await?;
    let table = if args.full {
        human::notice_blocks
    } else {
        human::notice_table
    };
    print_list(context, &page, "notices", table, json::notice)
}

pub(crate) async fn update_contacts(
    context: &mut Context<'_>,
    args: ContactsUpdateArgs,
) -> Result<(), CliError> {
    let request = update_contacts_request(&args, &context.request_id);
    check_write(&request)?;
    let response = context
        .call(|link| {
            let request = request.clone();
            async move { link.participant().update_contacts(request).await }
        })
        .await?;
    let contacts = request.contacts.len();
    print_write(
        context,
        |request_id| {
            key_values(&[
                ("party", response.party_id.clone()),
                ("contacts", contacts.to_string()),
                ("revision", response.revision.to_string()),
                ("request id", request_id.to_owned()),
            ])
        },
        || serde_json::json!({"party_id": response.party_id, "contacts": contacts}),
        response.revision,
    )
}

#[cfg(test)]
mod tests {
    use switchyard_domain::Command;
    use switchyard_proto::convert::IncomingWrite;

    use super::*;
    use crate::args::{ContactArg, PageArgs, PartyKindArg, ReadArgs};

    fn page() -> PageArgs {
        PageArgs {
            page_size: 0,
            page_token: None,
            all_pages: false,
        }
    }

    /// The participants list filters by kind (unspecified: every kind) and honours --local.
    #[test]
    fn participants_filter() {
        let request = participants_request(&ParticipantsArgs {
            kind: Some(PartyKindArg::Retailer),
            page: page(),
            read: ReadArgs { local: true },
        });
        assert_eq!(request.kind, v1::PartyKind::Retailer as i32);
        assert_eq!(request.consistency, v1::ReadConsistency::Local as i32);
        let request = participants_request(&ParticipantsArgs {
            kind: None,
            page: page(),
            read: ReadArgs { local: false },
        });
        assert_eq!(request.kind, 0);
        let notices = notices_request(&NoticesArgs {
            full: false,
            page: page(),
            read: ReadArgs { local: false },
        });
        assert_eq!(
            notices.consistency,
            v1::ReadConsistency::Linearizable as i32
        );
    }

    /// Contacts become wire contacts in order, and the contract's conversion accepts them.
    #[test]
    fn update_contacts() {
        let request = update_contacts_request(
            &ContactsUpdateArgs {
                contacts: vec![
                    ContactArg {
                        name: "Sato, Taro".to_owned(),
                        role: "operations desk".to_owned(),
                        email: "sato@example.jp".to_owned(),
                        phone: "+81 3-1234-5678".to_owned(),
                    },
                    ContactArg {
                        name: "Suzuki".to_owned(),
                        role: "outage notices".to_owned(),
                        email: "suzuki@example.jp".to_owned(),
                        phone: "03-0000-0000".to_owned(),
                    },
                ],
            },
            "id-1",
        );
        assert_eq!(request.contacts.len(), 2);
        assert_eq!(
            request.contacts[0],
            v1::Contact {
                name: "Sato, Taro".to_owned(),
                role: "operations desk".to_owned(),
                email: "sato@example.jp".to_owned(),
                phone: "+81 3-1234-5678".to_owned(),
            }
        );
        let write = IncomingWrite::try_from(request).unwrap();
        let Command::UpdateContacts { contacts } = write.command else {
            panic!("{:?}", write.command)
        };
        assert_eq!(contacts.len(), 2);
    }
}

//! The commands: one file per family, each building wire requests from arguments (pure
//! functions, unit-tested), making the call through the [`Context`] and printing the answer.
//!
//! - `lookup`: facility look-up;
//! - `stop_on_behalf`: `sob register | inbox | judge | cancel | get`;
//! - `applications`: `app submit | amend | cancel | get | list`;
//! - `tso`: `tso needing-action | complete | reject`;
//! - `directory`: `participants`, `notices`, `contacts update`;
//! - `watch`: the event stream, resumed across failures;
//! - `status` (operators): every endpoint asked at once, the answers merged into one view;
//! - `failover` (operators): planned leadership transfer, confirmed at the new leader;
//! - `operations` (operators): `member`, `snapshot save`, `notice publish`, `contacts export`.

mod applications;
mod directory;
pub(crate) mod failover;
mod lookup;
mod operations;
pub(crate) mod status;
mod stop_on_behalf;
mod tso;
mod watch;

use std::future::Future;
use std::io::Write;

use switchyard_proto::WireError;
use switchyard_proto::convert::IncomingWrite;
use switchyard_proto::v1;
use tonic::Status;

use crate::args::{Command, ContactsCommand, PageArgs};
use crate::connect::{Link, Session};
use crate::error::CliError;
use crate::output::Printer;

/// Most pages `--all-pages` follows (at 500 entries a page, 5 million entries).
const PAGES_MAX: usize = 10_000;

/// What a running command works with: the session, stdout, stderr and the request id of a write.
pub(crate) struct Context<'a> {
    pub(crate) session: Session,
    pub(crate) printer: Printer<'a>,
    stderr: &'a mut (dyn Write + Send),
    /// The request id a write sends (given or generated).
    pub(crate) request_id: String,
}

impl<'a> Context<'a> {
    pub(crate) fn new(
        session: Session,
        printer: Printer<'a>,
        stderr: &'a mut (dyn Write + Send),
        request_id: String,
    ) -> Context<'a> {
        Context {
            session,
            printer,
            stderr,
            request_id,
        }
    }

    /// One call with failover; failovers are noted on stderr.
    pub(crate) async fn call<T, F, Fut>(&mut self, call: F) -> Result<T, CliError>
    where
        F: FnMut(Link) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let result = self.session.call(call).await;
        self.flush_notes();
        result
    }

    /// Writes the session's failover notes to stderr.
    pub(crate) fn flush_notes(&mut self) {
        for note in self.session.take_notes() {
            self.note(&note);
        }
    }

    /// One `note: ...` line on stderr. Losing a note is not worth failing the command for.
    pub(crate) fn note(&mut self, note: &str) {
        let _ = writeln!(self.stderr, "note: {note}");
        let _ = self.stderr.flush();
    }
}

/// Runs a parsed command.
pub(crate) async fn execute(command: Command, context: &mut Context<'_>) -> Result<(), CliError> {
    match command {
        Command::Lookup(args) => lookup::run(context, args).await,
        Command::Sob(command) => stop_on_behalf::run(context, command).await,
        Command::App(command) => applications::run(context, command).await,
        Command::Tso(command) => tso::run(context, command).await,
        Command::Participants(args) => directory::participants(context, args).await,
        Command::Notices(args) => directory::notices(context, args).await,
        Command::Contacts(ContactsCommand::Update(args)) => {
            directory::update_contacts(context, args).await
        }
        Command::Contacts(ContactsCommand::Export(args)) => {
            operations::export_contacts(context, args).await
        }
        Command::Member(command) => operations::member(context, command).await,
        Command::Snapshot(command) => operations::snapshot(context, command).await,
        Command::Notice(command) => operations::notice(context, command).await,
        Command::Watch(args) => watch::run(context, args).await,
        Command::Status(args) => status::run(context, args).await,
        Command::Failover(args) => failover::run(context, args).await,
    }
}

/// Checks a write request with the contract's own wire -> domain conversion before it is sent,
/// so a request the server would refuse with INVALID_ARGUMENT is refused here (exit 2), naming
/// the field.
pub(crate) fn check_write<Request>(request: &Request) -> Result<(), CliError>
where
    Request: Clone,
    IncomingWrite: TryFrom<Request, Error = WireError>,
{
    IncomingWrite::try_from(request.clone())
        .map(|_| ())
        .map_err(|error| CliError::Usage(format!("the request is invalid: {error}")))
}

/// Entries of one page, or of every page with `--all-pages`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Page<Item> {
    pub(crate) items: Vec<Item>,
    /// Where the next page starts; empty after the last page.
    pub(crate) next_page_token: String,
    /// The revision the (last) page was served at.
    pub(crate) served_at_revision: u64,
}

/// A list request.
pub(crate) trait PagedRequest: Clone {
    fn set_page(&mut self, page_size: u32, page_token: String);
}

/// A list response.
pub(crate) trait PagedResponse {
    type Item;
    fn into_page(self) -> Page<Self::Item>;
}

macro_rules! paged {
    ($request:ty => $response:ty, $items:ident: $item:ty) => {
        impl PagedRequest for $request {
            fn set_page(&mut self, page_size: u32, page_token: String) {
                self.page_size = page_size;
                self.page_token = page_token;
            }
        }

        impl PagedResponse for $response {
            type Item = $item;
            fn into_page(self) -> Page<$item> {
                Page {
                    items: self.$items,
                    next_page_token: self.next_page_token,
                    served_at_revision: self.served_at_revision,
                }
            }
        }
    };
}

paged!(v1::ListStopOnBehalfInboxRequest => v1::ListStopOnBehalfInboxResponse, requests: v1::StopOnBehalfRequest);
paged!(v1::ListApplicationsRequest => v1::ListApplicationsResponse, applications: v1::Application);
paged!(v1::ListApplicationsNeedingActionRequest => v1::ListApplicationsNeedingActionResponse, applications: v1::Application);
paged!(v1::ListParticipantsRequest => v1::ListParticipantsResponse, participants: v1::Participant);
paged!(v1::ListNoticesRequest => v1::ListNoticesResponse, notices: v1::Notice);

/// Reads one page, or follows next-page tokens to the end with `--all-pages` (at most
/// [`PAGES_MAX`] pages).
pub(crate) async fn read_pages<Request, Response, F, Fut>(
    context: &mut Context<'_>,
    mut request: Request,
    page: &PageArgs,
    mut call: F,
) -> Result<Page<Response::Item>, CliError>
where
    Request: PagedRequest,
    Response: PagedResponse,
    F: FnMut(Link, Request) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Response>, Status>>,
{
    request.set_page(page.page_size, page.page_token.clone().unwrap_or_default());
    let mut items = Vec::new();
    for _ in 0..PAGES_MAX {
        let this_page = request.clone();
        let response = context
            .call(|link| call(link, this_page.clone()))
            .await?
            .into_page();
        items.extend(response.items);
        if !page.all_pages || response.next_page_token.is_empty() {
            return Ok(Page {
                items,
                next_page_token: response.next_page_token,
                served_at_revision: response.served_at_revision,
            });
        }
        request.set_page(page.page_size, response.next_page_token);
    }
    Err(CliError::Failed(format!(
        "--all-pages stopped after {PAGES_MAX} pages"
    )))
}

/// Prints a list: a table (or a "no ..." line) and the footer, or one JSON document.
pub(crate) fn print_list<Item>(
    context: &mut Context<'_>,
    page: &Page<Item>,
    key: &str,
    table: impl FnOnce(&[Item]) -> String,
    json_item: impl Fn(&Item) -> serde_json::Value,
) -> Result<(), CliError> {
    context.printer.result(
        || {
            let mut text = if page.items.is_empty() {
                format!("no {}\n", key.replace('_', " "))
            } else {
                table(&page.items)
            };
            text.push_str(&crate::output::human::list_footer(
                &page.next_page_token,
                page.served_at_revision,
            ));
            text
        },
        || {
            crate::output::json::list(
                key,
                page.items.iter().map(json_item).collect(),
                &page.next_page_token,
                page.served_at_revision,
            )
        },
    )?;
    Ok(())
}

/// The answer of a write: result, revision and the request id used.
pub(crate) fn print_write(
    context: &mut Context<'_>,
    human: impl FnOnce(&str) -> String,
    json_result: impl FnOnce() -> serde_json::Value,
    revision: u64,
) -> Result<(), CliError> {
    let request_id = context.request_id.clone();
    context.printer.result(
        || human(&request_id),
        || crate::output::json::write_answer(json_result(), revision, &request_id),
    )?;
    Ok(())
}

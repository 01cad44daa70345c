//! The command line: global options, the commands and their arguments (clap derive).
//!
//! Values that have a cheap local check (supply point numbers, dates, serial numbers, request
//! ids, bounded texts) are validated here by the domain's own constructors, so a mistake is
//! reported before anything is sent, naming the option. Checks that involve several options
//! (which procedure takes which data) are made when the request is built.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use switchyard_proto::admin::v1 as admin;
use switchyard_proto::v1;

use crate::LONG_ABOUT;

/// `swctl`: the command-line client of Switchyard, for participants and operators.
#[derive(Debug, Parser)]
#[command(
    name = "swctl",
    version,
    about = "Switchyard client: facility look-ups, stop-on-behalf requests, applications, TSO \
             work, the directory and the event stream; cluster status and failover for operators",
    long_about = LONG_ABOUT
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes: where to connect, who to be, how to print.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Node address, or several separated by commas: they are tried in order, moving to the next
    /// when one is unreachable or answers UNAVAILABLE.
    #[arg(
        long = "endpoint",
        global = true,
        env = "SWITCHYARD_ENDPOINT",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:7400",
        value_name = "URL"
    )]
    pub endpoints: Vec<String>,

    /// Bearer token sent as `authorization: Bearer TOKEN` on every call (development
    /// authentication, e.g. `dev-A1001`, `dev-T03`, `dev-op:operator`).
    #[arg(
        long,
        global = true,
        env = "SWITCHYARD_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,

    /// PEM file of the certificate authority that signed the nodes' certificates; required for
    /// https endpoints.
    #[arg(long, global = true, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,

    /// PEM file of this participant's client certificate (mutual TLS); needs --client-key.
    #[arg(long, global = true, value_name = "PEM")]
    pub client_cert: Option<PathBuf>,

    /// PEM file of the client certificate's private key; needs --client-cert.
    #[arg(long, global = true, value_name = "PEM")]
    pub client_key: Option<PathBuf>,

    /// Name to verify the node's certificate against, when it differs from the endpoint's host.
    #[arg(long, global = true, value_name = "NAME")]
    pub tls_domain: Option<String>,

    /// Print JSON instead of tables: one document per command, or one object per line for
    /// `watch` and `status --watch`.
    #[arg(long, global = true)]
    pub json: bool,

    /// Longest wait for one call, in milliseconds (connecting included). For `failover`: how
    /// long the leader may take to hand over, at most 60000.
    #[arg(
        long,
        global = true,
        default_value_t = 10_000,
        value_name = "MS",
        value_parser = clap::value_parser!(u64).range(1..=3_600_000)
    )]
    pub timeout_ms: u64,

    /// Idempotency key of a write (1..=64 of A-Z a-z 0-9 . _ : -). Generated when absent; always
    /// printed, so that a write that timed out can be retried with the same id.
    #[arg(long, global = true, value_name = "ID", value_parser = parse::request_id)]
    pub request_id: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Facility look-up: the facility data, supply state and open work of one supply point.
    Lookup(LookupArgs),
    /// Stop-on-behalf requests (haishi toritsugi).
    #[command(subcommand)]
    Sob(SobCommand),
    /// Applications (any procedure).
    #[command(subcommand)]
    App(AppCommand),
    /// The TSO's work: applications needing action, completing and rejecting them.
    #[command(subcommand)]
    Tso(TsoCommand),
    /// The directory of participants and their contacts.
    Participants(ParticipantsArgs),
    /// The notices operators published, newest first.
    Notices(NoticesArgs),
    /// The caller's own contacts.
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Stream the caller's events, resuming across node failures without gap or duplicate.
    Watch(WatchArgs),
    /// Operators: every node's role, term, log positions and health, asking every endpoint
    /// given; exit 6 when degraded.
    #[command(
        long_about = "Every node's role, term, log positions and health. Every endpoint given \
                      (--endpoint a,b,c,...) is asked at once; each node reports itself, and the \
                      leader also reports how far each other node has replicated and when it last \
                      answered. The answers are merged into one row per node; a node whose endpoint \
                      does not answer is shown unreachable (with the leader's view of it, if any). \
                      LAG is how many entries a node's log is behind the leader's last log index.\n\n\
                      Exit 0 when every voter is healthy, a leader is known and every answering node \
                      agrees on it; exit 6 (degraded) otherwise; exit 5 when no endpoint answers."
    )]
    Status(StatusArgs),
    /// Operators: move leadership to a site or a node (planned failover) and confirm it.
    #[command(
        long_about = "Planned failover: finds the leader, asks it to hand leadership to the most \
                      caught-up voter of a site (--to-site) or to one node (--to-node), then asks the \
                      new leader until it reports itself leader. Prints the old and the new leader, \
                      the term, and the time from sending the request to that confirmation: an upper \
                      bound of the pause writes saw. The request id is printed (--request-id sets it). \
                      Repeating the command after a timeout is safe: when leadership already is at \
                      the target, nothing moves (moved: no). --timeout-ms \
                      is how long the leader may take to hand over (at most 60000); the answer and the \
                      confirmation may take 2 s more."
    )]
    Failover(FailoverArgs),
    /// Operators: add a learner and watch it catch up, promote it to voter, remove a node.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Operators: snapshots and backups.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Operators: publish a notice to every participant's event stream.
    #[command(subcommand)]
    Notice(NoticeCommand),
}

impl Command {
    /// Whether the command is a write, which carries a request id.
    pub fn is_write(&self) -> bool {
        match self {
            Command::Sob(command) => matches!(
                command,
                SobCommand::Register(_) | SobCommand::Judge(_) | SobCommand::Cancel(_)
            ),
            Command::App(command) => matches!(
                command,
                AppCommand::Submit(_) | AppCommand::Amend(_) | AppCommand::Cancel(_)
            ),
            Command::Tso(command) => {
                matches!(command, TsoCommand::Complete(_) | TsoCommand::Reject(_))
            }
            Command::Contacts(ContactsCommand::Update(_))
            | Command::Failover(_)
            | Command::Member(_)
            | Command::Snapshot(_)
            | Command::Notice(_) => true,
            Command::Contacts(ContactsCommand::Export(_))
            | Command::Lookup(_)
            | Command::Participants(_)
            | Command::Notices(_)
            | Command::Watch(_)
            | Command::Status(_) => false,
        }
    }
}

/// `lookup`.
#[derive(Debug, Args)]
pub struct LookupArgs {
    /// The supply point number (22 digits).
    #[arg(value_parser = parse::supply_point, value_name = "SUPPLY_POINT")]
    pub supply_point: String,
    /// Confirm with the leader first instead of reading the answering node's state.
    #[arg(long)]
    pub linearizable: bool,
}

/// Paging options of list commands.
#[derive(Debug, Clone, Args)]
pub struct PageArgs {
    /// Entries per page, at most 500 (0: the server's default of 100).
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(0..=500)
    )]
    pub page_size: u32,
    /// Continue from the next-page token a previous page printed.
    #[arg(long, value_name = "TOKEN", value_parser = parse::page_token)]
    pub page_token: Option<String>,
    /// Follow next-page tokens to the end and print everything as one list.
    #[arg(long)]
    pub all_pages: bool,
}

/// Consistency option of reads that default to linearizable.
#[derive(Debug, Clone, Copy, Args)]
pub struct ReadArgs {
    /// Read the answering node's state without asking the leader (works while there is no
    /// leader, may lag behind the latest write).
    #[arg(long)]
    pub local: bool,
}

impl ReadArgs {
    /// The wire consistency.
    pub fn consistency(self) -> v1::ReadConsistency {
        if self.local {
            v1::ReadConsistency::Local
        } else {
            v1::ReadConsistency::Linearizable
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Stop-on-behalf requests.
// ---------------------------------------------------------------------------------------------

/// `sob ...`.
#[derive(Debug, Subcommand)]
pub enum SobCommand {
    /// As the new retailer, ask the current retailer to end the customer's contract.
    Register(SobRegisterArgs),
    /// The requests addressed to you (the current retailer).
    Inbox(SobInboxArgs),
    /// As the current retailer, answer a request in your inbox: --ok, or --ng with reasons.
    Judge(SobJudgeArgs),
    /// As the new retailer, withdraw a request not yet judged.
    Cancel(SobCancelArgs),
    /// One request.
    Get(SobGetArgs),
}

/// `sob register`.
#[derive(Debug, Args)]
pub struct SobRegisterArgs {
    /// The supply point number (22 digits).
    #[arg(long, value_parser = parse::supply_point, value_name = "NUMBER")]
    pub supply_point: String,
    /// The customer's contract number with the current retailer (1..=20 of A-Z a-z 0-9 -).
    #[arg(long, value_parser = parse::contract_number, value_name = "TEXT")]
    pub customer_contract_number: String,
    /// The contract holder's name, as on the contract.
    #[arg(long, value_parser = parse::person_name, value_name = "TEXT")]
    pub customer_name: String,
    /// The supply address.
    #[arg(long, value_parser = parse::postal_address, value_name = "TEXT")]
    pub customer_address: String,
    /// The date the customer wishes to switch on (YYYY-MM-DD).
    #[arg(long, value_parser = parse::date, value_name = "DATE")]
    pub wished_date: String,
}

/// `sob inbox`.
#[derive(Debug, Args)]
pub struct SobInboxArgs {
    /// Also list decided requests whose answer deadline is at most 30 days past.
    #[arg(long)]
    pub include_decided: bool,
    #[command(flatten)]
    pub page: PageArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// `sob judge`.
#[derive(Debug, Args)]
pub struct SobJudgeArgs {
    /// The stop-on-behalf number (SB + 10 digits).
    #[arg(value_parser = parse::stop_on_behalf_number, value_name = "NUMBER")]
    pub number: String,
    /// Agree: the new retailer may submit a switch-in.
    #[arg(long, conflicts_with = "ng", required_unless_present = "ng")]
    pub ok: bool,
    /// Refuse, with one or more reasons (space or comma separated).
    #[arg(long, value_enum, num_args = 1.., value_delimiter = ',', value_name = "REASON")]
    pub ng: Vec<NgReasonArg>,
}

/// `sob cancel`.
#[derive(Debug, Args)]
pub struct SobCancelArgs {
    /// The stop-on-behalf number (SB + 10 digits).
    #[arg(value_parser = parse::stop_on_behalf_number, value_name = "NUMBER")]
    pub number: String,
}

/// `sob get`.
#[derive(Debug, Args)]
pub struct SobGetArgs {
    /// The stop-on-behalf number (SB + 10 digits).
    #[arg(value_parser = parse::stop_on_behalf_number, value_name = "NUMBER")]
    pub number: String,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Why the current retailer refuses a stop-on-behalf request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum NgReasonArg {
    SupplyPointNumberMismatch,
    ContractNumberMismatch,
    NameMismatch,
    AddressMismatch,
    ContractInDispute,
    ContractAlreadyEnding,
    SwitchAlreadyInProgress,
    CustomerUnreachable,
    Other,
}

impl NgReasonArg {
    /// The wire reason.
    pub fn wire(self) -> v1::NgReason {
        match self {
            NgReasonArg::SupplyPointNumberMismatch => v1::NgReason::SupplyPointNumberMismatch,
            NgReasonArg::ContractNumberMismatch => v1::NgReason::ContractNumberMismatch,
            NgReasonArg::NameMismatch => v1::NgReason::NameMismatch,
            NgReasonArg::AddressMismatch => v1::NgReason::AddressMismatch,
            NgReasonArg::ContractInDispute => v1::NgReason::ContractInDispute,
            NgReasonArg::ContractAlreadyEnding => v1::NgReason::ContractAlreadyEnding,
            NgReasonArg::SwitchAlreadyInProgress => v1::NgReason::SwitchAlreadyInProgress,
            NgReasonArg::CustomerUnreachable => v1::NgReason::CustomerUnreachable,
            NgReasonArg::Other => v1::NgReason::Other,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Applications.
// ---------------------------------------------------------------------------------------------

/// `app ...`.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application (update flag 1).
    Submit(AppSubmitArgs),
    /// Change an application you saw at --revision (update flag 2); give the whole new content.
    Amend(AppAmendArgs),
    /// Withdraw an application you saw at --revision (update flag 3).
    Cancel(AppCancelArgs),
    /// One application.
    Get(AppGetArgs),
    /// The applications you may see, filtered, by application number.
    List(AppListArgs),
}

/// The procedure of an application and the data it needs.
///
/// Which options each procedure takes: `switch-in` needs --stop-on-behalf; `ampere-change` needs
/// --amperes; `restart` and `customer-information-change` need --customer-name and
/// --customer-address; `stop-supply`, `stop-supply-with-removal` and `switch-out` take none.
#[derive(Debug, Clone, Args)]
pub struct ProcedureArgs {
    /// The procedure.
    #[arg(long, value_enum, value_name = "PROCEDURE")]
    pub procedure: ProcedureArg,
    /// switch-in: the OK stop-on-behalf request (SB + 10 digits) of the same supply point.
    #[arg(long, value_parser = parse::stop_on_behalf_number, value_name = "NUMBER")]
    pub stop_on_behalf: Option<String>,
    /// ampere-change: the new breaker size in amperes (10, 15, 20, 30, 40, 50 or 60).
    #[arg(long, value_parser = parse::amperes, value_name = "A")]
    pub amperes: Option<u32>,
    /// restart, customer-information-change: the new contract holder's name.
    #[arg(long, value_parser = parse::person_name, value_name = "TEXT")]
    pub customer_name: Option<String>,
    /// restart, customer-information-change: the supply address.
    #[arg(long, value_parser = parse::postal_address, value_name = "TEXT")]
    pub customer_address: Option<String>,
}

/// The procedures, by the names the output uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProcedureArg {
    /// 01: stop supply, the meter stays.
    StopSupply,
    /// 02: stop supply and remove the meter.
    StopSupplyWithRemoval,
    /// 03: switch-out, by the current retailer.
    SwitchOut,
    /// 04: restart on move-in.
    Restart,
    /// 05: switch-in, by the new retailer.
    SwitchIn,
    /// 06: ampere change (low voltage).
    AmpereChange,
    /// 07: customer information change.
    CustomerInformationChange,
}

impl ProcedureArg {
    /// The wire procedure code.
    pub fn wire(self) -> v1::Procedure {
        match self {
            ProcedureArg::StopSupply => v1::Procedure::StopSupply,
            ProcedureArg::StopSupplyWithRemoval => v1::Procedure::StopSupplyWithRemoval,
            ProcedureArg::SwitchOut => v1::Procedure::SwitchOut,
            ProcedureArg::Restart => v1::Procedure::Restart,
            ProcedureArg::SwitchIn => v1::Procedure::SwitchIn,
            ProcedureArg::AmpereChange => v1::Procedure::AmpereChange,
            ProcedureArg::CustomerInformationChange => v1::Procedure::CustomerInformationChange,
        }
    }
}

/// `app submit`.
#[derive(Debug, Args)]
pub struct AppSubmitArgs {
    /// The supply point number (22 digits).
    #[arg(long, value_parser = parse::supply_point, value_name = "NUMBER")]
    pub supply_point: String,
    /// The effective date (YYYY-MM-DD).
    #[arg(long, value_parser = parse::date, value_name = "DATE")]
    pub effective_date: String,
    #[command(flatten)]
    pub procedure: ProcedureArgs,
}

/// `app amend`.
#[derive(Debug, Args)]
pub struct AppAmendArgs {
    /// The application number (AP + 10 digits).
    #[arg(value_parser = parse::application_number, value_name = "NUMBER")]
    pub number: String,
    /// The application revision you saw (`app get` prints it).
    #[arg(long, value_parser = parse::application_revision, value_name = "R")]
    pub revision: u32,
    /// The new effective date (YYYY-MM-DD).
    #[arg(long, value_parser = parse::date, value_name = "DATE")]
    pub effective_date: String,
    /// The new procedure data; the procedure itself cannot change.
    #[command(flatten)]
    pub procedure: ProcedureArgs,
}

/// `app cancel`.
#[derive(Debug, Args)]
pub struct AppCancelArgs {
    /// The application number (AP + 10 digits).
    #[arg(value_parser = parse::application_number, value_name = "NUMBER")]
    pub number: String,
    /// The application revision you saw (`app get` prints it).
    #[arg(long, value_parser = parse::application_revision, value_name = "R")]
    pub revision: u32,
}

/// `app get`.
#[derive(Debug, Args)]
pub struct AppGetArgs {
    /// The application number (AP + 10 digits).
    #[arg(value_parser = parse::application_number, value_name = "NUMBER")]
    pub number: String,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// `app list`.
#[derive(Debug, Args)]
pub struct AppListArgs {
    /// Only this supply point.
    #[arg(long, value_parser = parse::supply_point, value_name = "NUMBER")]
    pub supply_point: Option<String>,
    /// Only this procedure.
    #[arg(long, value_enum, value_name = "PROCEDURE")]
    pub procedure: Option<ProcedureArg>,
    /// Only this state.
    #[arg(long, value_enum, value_name = "STATE")]
    pub state: Option<ApplicationStateArg>,
    /// Only effective on or after this date (YYYY-MM-DD).
    #[arg(long, value_parser = parse::date, value_name = "DATE")]
    pub from: Option<String>,
    /// Only effective on or before this date (YYYY-MM-DD).
    #[arg(long, value_parser = parse::date, value_name = "DATE")]
    pub until: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// The application states, by the names the output uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplicationStateArg {
    Received,
    AwaitingMatch,
    Matched,
    Accepted,
    Cancelled,
    Unmatched,
    Completed,
    TsoRejected,
    Rejected,
}

impl ApplicationStateArg {
    /// The wire state.
    pub fn wire(self) -> v1::ApplicationState {
        match self {
            ApplicationStateArg::Received => v1::ApplicationState::Received,
            ApplicationStateArg::AwaitingMatch => v1::ApplicationState::AwaitingMatch,
            ApplicationStateArg::Matched => v1::ApplicationState::Matched,
            ApplicationStateArg::Accepted => v1::ApplicationState::Accepted,
            ApplicationStateArg::Cancelled => v1::ApplicationState::Cancelled,
            ApplicationStateArg::Unmatched => v1::ApplicationState::Unmatched,
            ApplicationStateArg::Completed => v1::ApplicationState::Completed,
            ApplicationStateArg::TsoRejected => v1::ApplicationState::TsoRejected,
            ApplicationStateArg::Rejected => v1::ApplicationState::Rejected,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// TSO.
// ---------------------------------------------------------------------------------------------

/// `tso ...`.
#[derive(Debug, Subcommand)]
pub enum TsoCommand {
    /// Matched switching pairs and accepted other procedures in your area, by effective date.
    NeedingAction(TsoNeedingActionArgs),
    /// Report an application carried out (completes both sides of a matched pair).
    Complete(TsoCompleteArgs),
    /// Refuse an application (both sides of a matched pair).
    Reject(TsoRejectArgs),
}

/// `tso needing-action`.
#[derive(Debug, Args)]
pub struct TsoNeedingActionArgs {
    /// Only effective on or before this date (YYYY-MM-DD).
    #[arg(long, value_parser = parse::date, value_name = "DATE")]
    pub until: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// `tso complete`.
#[derive(Debug, Args)]
pub struct TsoCompleteArgs {
    /// The application number (AP + 10 digits).
    #[arg(value_parser = parse::application_number, value_name = "NUMBER")]
    pub number: String,
    /// The date the work was actually carried out (YYYY-MM-DD).
    #[arg(long, value_parser = parse::date, value_name = "DATE")]
    pub actual_date: String,
}

/// `tso reject`.
#[derive(Debug, Args)]
pub struct TsoRejectArgs {
    /// The application number (AP + 10 digits).
    #[arg(value_parser = parse::application_number, value_name = "NUMBER")]
    pub number: String,
    /// Why the work cannot be carried out (1..=200 printable characters).
    #[arg(long, value_parser = parse::short_text, value_name = "TEXT")]
    pub reason: String,
}

// ---------------------------------------------------------------------------------------------
// Directory, notices, events.
// ---------------------------------------------------------------------------------------------

/// `participants`.
#[derive(Debug, Args)]
pub struct ParticipantsArgs {
    /// Only this kind of participant.
    #[arg(long, value_enum, value_name = "KIND")]
    pub kind: Option<PartyKindArg>,
    #[command(flatten)]
    pub page: PageArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// The kinds of participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PartyKindArg {
    Retailer,
    Tso,
    Operator,
}

impl PartyKindArg {
    /// The wire kind.
    pub fn wire(self) -> v1::PartyKind {
        match self {
            PartyKindArg::Retailer => v1::PartyKind::Retailer,
            PartyKindArg::Tso => v1::PartyKind::Tso,
            PartyKindArg::Operator => v1::PartyKind::Operator,
        }
    }
}

/// `notices`.
#[derive(Debug, Args)]
pub struct NoticesArgs {
    /// Print each notice with its body instead of a table of titles.
    #[arg(long)]
    pub full: bool,
    #[command(flatten)]
    pub page: PageArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// `contacts ...`.
#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// Replace your contacts with the ones given (1..=16).
    Update(ContactsUpdateArgs),
    /// Operators: export every participant's contacts to a file kept outside the system.
    #[command(
        long_about = "Writes every participant's contacts to FILE (or stdout with --out -), as \
                      CSV (a header row, one row per contact) or JSON (proto3 JSON of \
                      switchyard.v1.Participant). Served from the answering node's own state by \
                      default, so it works from any surviving node even without a leader; \
                      --linearizable asks the leader first. The file is written next to FILE and \
                      renamed into place when complete. Run it on a schedule (docs/RUNBOOK.md)."
    )]
    Export(ContactsExportArgs),
}

/// `contacts export`.
#[derive(Debug, Args)]
pub struct ContactsExportArgs {
    /// csv or json.
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
    /// Where to write: a file path, or - for stdout.
    #[arg(long, value_name = "FILE")]
    pub out: String,
    /// Ask the leader first instead of exporting the answering node's state.
    #[arg(long)]
    pub linearizable: bool,
}

/// Formats of the contacts export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

/// `member ...`.
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Add a node as a learner (a never used id) and show its catch-up until it is caught up.
    Add(MemberAddArgs),
    /// Make a caught-up learner a voter (joint consensus).
    Promote(MemberIdArgs),
    /// Remove a voter or learner; its id is never used again.
    Remove(MemberIdArgs),
}

/// `member add`.
#[derive(Debug, Args)]
pub struct MemberAddArgs {
    /// The new node's id: never used before in this cluster.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), value_name = "ID")]
    pub node_id: u64,
    /// Its name, e.g. osaka-3 (1..=32 of a-z 0-9 -).
    #[arg(long)]
    pub name: String,
    /// Its site.
    #[arg(long, value_enum)]
    pub site: SiteArg,
    /// Its internal (Raft) address, host:port, as the other nodes reach it.
    #[arg(long, value_name = "HOST:PORT")]
    pub raft_address: String,
    /// Its public API address, host:port.
    #[arg(long, value_name = "HOST:PORT")]
    pub public_address: String,
    /// Return once the learner is added, without following its catch-up.
    #[arg(long)]
    pub no_wait: bool,
    /// Longest wait for the catch-up, in seconds.
    #[arg(long, default_value_t = 600, value_name = "S")]
    pub catch_up_timeout_s: u64,
}

/// `member promote | remove`.
#[derive(Debug, Args)]
pub struct MemberIdArgs {
    /// The node id.
    #[arg(value_parser = clap::value_parser!(u64).range(1..), value_name = "NODE_ID")]
    pub node_id: u64,
}

/// `snapshot ...`.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Build a snapshot on the answering node now and download it to FILE (a backup).
    #[command(
        long_about = "Asks the answering node (the first endpoint that answers) to build a snapshot \
                      of everything it has applied, downloads it in chunks, checks the offsets and \
                      the SHA-256 the node sends, and renames the file into place when complete. \
                      Restore it into a fresh cluster with `switchyard restore` (docs/RUNBOOK.md)."
    )]
    Save(SnapshotSaveArgs),
}

/// `snapshot save`.
#[derive(Debug, Args)]
pub struct SnapshotSaveArgs {
    /// The backup file to write.
    #[arg(value_name = "FILE")]
    pub file: std::path::PathBuf,
    /// Download the node's current snapshot instead of building a new one.
    #[arg(long)]
    pub existing: bool,
}

/// `notice ...`.
#[derive(Debug, Subcommand)]
pub enum NoticeCommand {
    /// Publish a notice: it reaches every participant's event stream.
    Publish(NoticePublishArgs),
}

/// `notice publish`.
#[derive(Debug, Args)]
pub struct NoticePublishArgs {
    /// The notice's title (1..=200 printable characters).
    #[arg(long)]
    pub title: String,
    /// info, warning or critical.
    #[arg(long, value_enum, default_value_t = SeverityArg::Info)]
    pub severity: SeverityArg,
    /// The text (1..=4000 printable characters; newlines allowed).
    #[arg(value_name = "BODY")]
    pub body: String,
}

/// Notice severities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Info,
    Warning,
    Critical,
}

/// `contacts update`.
#[derive(Debug, Args)]
pub struct ContactsUpdateArgs {
    /// One contact as NAME,ROLE,EMAIL,PHONE (the fields of Contact in order; write `\,` for a
    /// comma inside a name or role, `\\` for a backslash). Repeat for several contacts.
    #[arg(long = "contact", required = true, value_parser = parse::contact, value_name = "NAME,ROLE,EMAIL,PHONE")]
    pub contacts: Vec<ContactArg>,
}

/// One contact from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactArg {
    pub name: String,
    pub role: String,
    pub email: String,
    pub phone: String,
}

/// `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// First revision to deliver; 0 (the default) starts with live events only.
    #[arg(long, default_value_t = 0, value_name = "R")]
    pub from_revision: u64,
    /// Within --from-revision, the first index to deliver. To resume after the event (r, i),
    /// give --from-revision r --from-index i+1.
    #[arg(
        long,
        default_value_t = 0,
        value_name = "I",
        requires = "from_revision"
    )]
    pub from_index: u32,
    /// Stop after printing this many events (default: run until interrupted).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_events: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Operators: the cluster.
// ---------------------------------------------------------------------------------------------

/// `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Refresh until interrupted (Ctrl-C): the screen is cleared between refreshes, or with
    /// --json one object per line.
    #[arg(long)]
    pub watch: bool,
    /// Milliseconds between refreshes with --watch.
    #[arg(
        long,
        default_value_t = 1_000,
        value_name = "MS",
        requires = "watch",
        value_parser = clap::value_parser!(u64).range(1..=3_600_000)
    )]
    pub interval_ms: u64,
    /// With --watch: stop after this many refreshes (default: until interrupted).
    #[arg(
        long,
        value_name = "N",
        requires = "watch",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub count: Option<u64>,
}

/// `failover`.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("target").required(true).args(["to_site", "to_node", "to_preferred"]))
)]
pub struct FailoverArgs {
    /// The site to move leadership to (its most caught-up voter).
    #[arg(long, value_enum, value_name = "SITE")]
    pub to_site: Option<SiteArg>,
    /// The node to move leadership to (a caught-up voter).
    #[arg(
        long,
        value_name = "NODE_ID",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub to_node: Option<u64>,
    /// Back to the site where operators want the leader (`raft.preferred-leader-site` of the
    /// nodes, shown by `status`), e.g. after an automatic election moved it away.
    #[arg(long)]
    pub to_preferred: bool,
}

/// The sites, by the names the output uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SiteArg {
    Tokyo,
    Osaka,
    Witness,
}

impl SiteArg {
    /// The wire site.
    pub fn wire(self) -> admin::Site {
        match self {
            SiteArg::Tokyo => admin::Site::Tokyo,
            SiteArg::Osaka => admin::Site::Osaka,
            SiteArg::Witness => admin::Site::Witness,
        }
    }
}

/// Value parsers: each validates with the domain's constructor and returns the canonical text,
/// so clap reports a bad value together with the option it was given for.
pub(crate) mod parse {
    use switchyard_domain::{
        ApplicationNumber, Capacity, CapacityUnit, ContractNumber, Date, EmailAddress, PersonName,
        PhoneNumber, PostalAddress, RequestId, ShortText, StopOnBehalfNumber, SupplyPointNumber,
    };
    use switchyard_proto::limits::PAGE_TOKEN_BYTES_MAX;

    use super::ContactArg;

    pub(crate) fn supply_point(text: &str) -> Result<String, String> {
        SupplyPointNumber::parse(text)
            .map(|number| number.to_string())
            .map_err(|error| error.to_string())
    }

    pub(crate) fn date(text: &str) -> Result<String, String> {
        Date::parse(text)
            .map(|date| date.to_string())
            .map_err(|error| error.to_string())
    }

    pub(crate) fn application_number(text: &str) -> Result<String, String> {
        ApplicationNumber::parse(text)
            .map(|number| number.to_string())
            .map_err(|error| error.to_string())
    }

    pub(crate) fn stop_on_behalf_number(text: &str) -> Result<String, String> {
        StopOnBehalfNumber::parse(text)
            .map(|number| number.to_string())
            .map_err(|error| error.to_string())
    }

    pub(crate) fn request_id(text: &str) -> Result<String, String> {
        RequestId::parse(text)
            .map(|id| id.to_string())
            .map_err(|error| error.to_string())
    }

    pub(crate) fn contract_number(text: &str) -> Result<String, String> {
        ContractNumber::parse(text)
            .map(|number| number.to_string())
            .map_err(|error| error.to_string())
    }

    pub(crate) fn person_name(text: &str) -> Result<String, String> {
        PersonName::parse(text)
            .map(|name| name.to_string())
            .map_err(|error| error.to_string())
    }

    pub(crate) fn postal_address(text: &str) -> Result<String, String> {
        PostalAddress::parse(text)
            .map(|address| address.to_string())
            .map_err(|error| error.to_string())
    }

    pub(crate) fn short_text(text: &str) -> Result<String, String> {
        ShortText::parse(text)
            .map(|text| text.to_string())
            .map_err(|error| error.to_string())
    }

    pub(crate) fn amperes(text: &str) -> Result<u32, String> {
        let value: u32 = text
            .parse()
            .map_err(|_| format!("expected a whole number of amperes; got {text:?}"))?;
        Capacity::new(value, CapacityUnit::Ampere)
            .map(|_| value)
            .map_err(|error| error.to_string())
    }

    pub(crate) fn application_revision(text: &str) -> Result<u32, String> {
        match text.parse::<u32>() {
            Ok(revision) if revision >= 1 => Ok(revision),
            _ => Err(format!(
                "expected the application revision, a whole number from 1; got {text:?}"
            )),
        }
    }

    pub(crate) fn page_token(text: &str) -> Result<String, String> {
        if text.is_empty() || text.len() > PAGE_TOKEN_BYTES_MAX {
            return Err(format!(
                "a page token has 1..={PAGE_TOKEN_BYTES_MAX} bytes; got {}",
                text.len()
            ));
        }
        Ok(text.to_owned())
    }

    /// `NAME,ROLE,EMAIL,PHONE`, with `\,` and `\\` as escapes.
    pub(crate) fn contact(text: &str) -> Result<ContactArg, String> {
        let mut fields = vec![String::new()];
        let mut characters = text.chars();
        while let Some(character) = characters.next() {
            match character {
                '\\' => match characters.next() {
                    Some(escaped @ (',' | '\\')) => {
                        if let Some(field) = fields.last_mut() {
                            field.push(escaped);
                        }
                    }
                    _ => return Err("a backslash must be followed by , or \\".to_owned()),
                },
                ',' => fields.push(String::new()),
                other => {
                    if let Some(field) = fields.last_mut() {
                        field.push(other);
                    }
                }
            }
        }
        let [name, role, email, phone]: [String; 4] =
            fields.try_into().map_err(|fields: Vec<String>| {
                format!(
                    "expected 4 comma-separated fields NAME,ROLE,EMAIL,PHONE; got {}",
                    fields.len()
                )
            })?;
        let name = PersonName::parse(name.trim()).map_err(|error| format!("NAME: {error}"))?;
        let role = ShortText::parse(role.trim()).map_err(|error| format!("ROLE: {error}"))?;
        let email = EmailAddress::parse(email.trim()).map_err(|error| format!("EMAIL: {error}"))?;
        let phone = PhoneNumber::parse(phone.trim()).map_err(|error| format!("PHONE: {error}"))?;
        Ok(ContactArg {
            name: name.to_string(),
            role: role.to_string(),
            email: email.to_string(),
            phone: phone.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    const POINT: &str = "0300111122223333444455";

    fn parse(arguments: &[&str]) -> Cli {
        let mut all = vec!["swctl"];
        all.extend_from_slice(arguments);
        match Cli::try_parse_from(all) {
            Ok(cli) => cli,
            Err(error) => panic!("{arguments:?} did not parse: {error}"),
        }
    }

    fn refuse(arguments: &[&str]) -> clap::Error {
        let mut all = vec!["swctl"];
        all.extend_from_slice(arguments);
        match Cli::try_parse_from(all) {
            Ok(cli) => panic!("{arguments:?} parsed: {cli:?}"),
            Err(error) => error,
        }
    }

    /// clap's own consistency checks of the whole command tree pass (conflicting names, bad
    /// requirements, and so on).
    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    /// The global options have their documented defaults, and take several comma-separated
    /// endpoints, also after the command name.
    #[test]
    fn global_options() {
        let cli = parse(&["lookup", POINT]);
        assert_eq!(cli.global.endpoints, ["http://127.0.0.1:7400"]);
        assert_eq!(cli.global.timeout_ms, 10_000);
        assert!(!cli.global.json);
        assert_eq!(cli.global.token, None);
        assert_eq!(cli.global.request_id, None);

        let cli = parse(&[
            "--endpoint",
            "http://a:7400,http://b:7400",
            "lookup",
            POINT,
            "--json",
            "--token",
            "dev-A1001",
            "--timeout-ms",
            "250",
            "--ca-cert",
            "ca.pem",
            "--client-cert",
            "me.pem",
            "--client-key",
            "me.key",
            "--tls-domain",
            "switchyard.example",
        ]);
        assert_eq!(cli.global.endpoints, ["http://a:7400", "http://b:7400"]);
        assert!(cli.global.json);
        assert_eq!(cli.global.token.as_deref(), Some("dev-A1001"));
        assert_eq!(cli.global.timeout_ms, 250);
        assert_eq!(cli.global.ca_cert, Some(PathBuf::from("ca.pem")));
        assert_eq!(cli.global.client_cert, Some(PathBuf::from("me.pem")));
        assert_eq!(cli.global.client_key, Some(PathBuf::from("me.key")));
        assert_eq!(cli.global.tls_domain.as_deref(), Some("switchyard.example"));
    }

    /// A request id is checked locally: a space or 65 characters are refused naming the option.
    #[test]
    fn request_id_option() {
        let cli = parse(&[
            "--request-id",
            "retry-7:a.b_c",
            "sob",
            "cancel",
            "SB0000000001",
        ]);
        assert_eq!(cli.global.request_id.as_deref(), Some("retry-7:a.b_c"));
        for bad in ["has space", &"x".repeat(65)] {
            let error = refuse(&["--request-id", bad, "sob", "cancel", "SB0000000001"]);
            assert!(error.to_string().contains("--request-id"), "{error}");
        }
        assert_eq!(
            refuse(&["--timeout-ms", "0", "lookup", POINT]).kind(),
            clap::error::ErrorKind::ValueValidation
        );
    }

    /// `lookup` takes a supply point number and --linearizable; a malformed number is refused.
    #[test]
    fn lookup() {
        let cli = parse(&["lookup", POINT, "--linearizable"]);
        let Command::Lookup(args) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.supply_point, POINT);
        assert!(args.linearizable);
        let error = refuse(&["lookup", "1100111122223333444455"]);
        assert!(error.to_string().contains("SUPPLY_POINT"), "{error}");
    }

    /// `sob register` takes the customer identity and the wished date, each checked.
    #[test]
    fn sob_register() {
        let cli = parse(&[
            "sob",
            "register",
            "--supply-point",
            POINT,
            "--customer-contract-number",
            "C-001",
            "--customer-name",
            "Sato Taro",
            "--customer-address",
            "1-1 Chiyoda, Tokyo",
            "--wished-date",
            "2026-12-01",
        ]);
        let Command::Sob(SobCommand::Register(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.supply_point, POINT);
        assert_eq!(args.customer_contract_number, "C-001");
        assert_eq!(args.customer_name, "Sato Taro");
        assert_eq!(args.customer_address, "1-1 Chiyoda, Tokyo");
        assert_eq!(args.wished_date, "2026-12-01");

        let error = refuse(&[
            "sob",
            "register",
            "--supply-point",
            POINT,
            "--customer-contract-number",
            "C 001",
            "--customer-name",
            "Sato",
            "--customer-address",
            "Tokyo",
            "--wished-date",
            "2026-02-30",
        ]);
        assert!(
            error.to_string().contains("--customer-contract-number"),
            "{error}"
        );
        let error = refuse(&[
            "sob",
            "register",
            "--supply-point",
            POINT,
            "--customer-contract-number",
            "C-001",
            "--customer-name",
            "Sato",
            "--customer-address",
            "Tokyo",
            "--wished-date",
            "2026-02-30",
        ]);
        assert!(error.to_string().contains("--wished-date"), "{error}");
    }

    /// `sob inbox`, `sob get` and `sob cancel` parse their options.
    #[test]
    fn sob_reads_and_cancel() {
        let cli = parse(&[
            "sob",
            "inbox",
            "--include-decided",
            "--page-size",
            "50",
            "--local",
        ]);
        let Command::Sob(SobCommand::Inbox(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert!(args.include_decided);
        assert_eq!(args.page.page_size, 50);
        assert!(args.read.local);
        assert!(!args.page.all_pages);

        let cli = parse(&["sob", "get", "SB0000000042"]);
        let Command::Sob(SobCommand::Get(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.number, "SB0000000042");
        assert!(!args.read.local);

        let cli = parse(&["sob", "cancel", "SB0000000042"]);
        assert!(cli.command.is_write());
        refuse(&["sob", "cancel", "AP0000000042"]);
        refuse(&["sob", "inbox", "--page-size", "501"]);
    }

    /// `sob judge` takes exactly one of --ok and --ng, and --ng takes reasons separated by
    /// spaces or commas.
    #[test]
    fn sob_judge() {
        let cli = parse(&["sob", "judge", "SB0000000001", "--ok"]);
        let Command::Sob(SobCommand::Judge(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert!(args.ok);
        assert!(args.ng.is_empty());

        let cli = parse(&[
            "sob",
            "judge",
            "SB0000000001",
            "--ng",
            "name-mismatch,other",
            "customer-unreachable",
        ]);
        let Command::Sob(SobCommand::Judge(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert!(!args.ok);
        assert_eq!(
            args.ng,
            [
                NgReasonArg::NameMismatch,
                NgReasonArg::Other,
                NgReasonArg::CustomerUnreachable
            ]
        );

        refuse(&["sob", "judge", "SB0000000001"]);
        refuse(&["sob", "judge", "SB0000000001", "--ok", "--ng", "other"]);
        refuse(&["sob", "judge", "SB0000000001", "--ng", "bad-reason"]);
    }

    /// `app submit` parses every procedure with its options.
    #[test]
    fn app_submit_every_procedure() {
        let cases: [(&[&str], ProcedureArg); 7] = [
            (&["--procedure", "stop-supply"], ProcedureArg::StopSupply),
            (
                &["--procedure", "stop-supply-with-removal"],
                ProcedureArg::StopSupplyWithRemoval,
            ),
            (&["--procedure", "switch-out"], ProcedureArg::SwitchOut),
            (
                &[
                    "--procedure",
                    "restart",
                    "--customer-name",
                    "Sato",
                    "--customer-address",
                    "Tokyo",
                ],
                ProcedureArg::Restart,
            ),
            (
                &[
                    "--procedure",
                    "switch-in",
                    "--stop-on-behalf",
                    "SB0000000007",
                ],
                ProcedureArg::SwitchIn,
            ),
            (
                &["--procedure", "ampere-change", "--amperes", "40"],
                ProcedureArg::AmpereChange,
            ),
            (
                &[
                    "--procedure",
                    "customer-information-change",
                    "--customer-name",
                    "Sato",
                    "--customer-address",
                    "Tokyo",
                ],
                ProcedureArg::CustomerInformationChange,
            ),
        ];
        for (procedure_options, expected) in cases {
            let mut arguments = vec![
                "app",
                "submit",
                "--supply-point",
                POINT,
                "--effective-date",
                "2026-12-01",
            ];
            arguments.extend_from_slice(procedure_options);
            let cli = parse(&arguments);
            assert!(cli.command.is_write());
            let Command::App(AppCommand::Submit(args)) = cli.command else {
                panic!("{:?}", cli.command)
            };
            assert_eq!(args.procedure.procedure, expected);
            assert_eq!(args.effective_date, "2026-12-01");
        }
        let error = refuse(&[
            "app",
            "submit",
            "--supply-point",
            POINT,
            "--effective-date",
            "2026-12-01",
            "--procedure",
            "ampere-change",
            "--amperes",
            "35",
        ]);
        assert!(error.to_string().contains("--amperes"), "{error}");
    }

    /// `app amend` and `app cancel` need the application revision, from 1.
    #[test]
    fn app_amend_and_cancel() {
        let cli = parse(&[
            "app",
            "amend",
            "AP0000000042",
            "--revision",
            "3",
            "--effective-date",
            "2026-12-02",
            "--procedure",
            "switch-out",
        ]);
        let Command::App(AppCommand::Amend(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.number, "AP0000000042");
        assert_eq!(args.revision, 3);
        assert_eq!(args.procedure.procedure, ProcedureArg::SwitchOut);

        let cli = parse(&["app", "cancel", "AP0000000042", "--revision", "1"]);
        let Command::App(AppCommand::Cancel(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.revision, 1);

        let error = refuse(&["app", "cancel", "AP0000000042", "--revision", "0"]);
        assert!(error.to_string().contains("--revision"), "{error}");
        refuse(&["app", "cancel", "AP0000000042"]);
    }

    /// `app get` and `app list` parse their filters and paging options.
    #[test]
    fn app_get_and_list() {
        let cli = parse(&["app", "get", "AP0000000042", "--local"]);
        let Command::App(AppCommand::Get(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert!(args.read.local);

        let cli = parse(&[
            "app",
            "list",
            "--supply-point",
            POINT,
            "--procedure",
            "switch-in",
            "--state",
            "tso-rejected",
            "--from",
            "2026-12-01",
            "--until",
            "2026-12-31",
            "--all-pages",
            "--page-size",
            "500",
        ]);
        assert!(!cli.command.is_write());
        let Command::App(AppCommand::List(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.supply_point.as_deref(), Some(POINT));
        assert_eq!(args.procedure, Some(ProcedureArg::SwitchIn));
        assert_eq!(args.state, Some(ApplicationStateArg::TsoRejected));
        assert_eq!(args.from.as_deref(), Some("2026-12-01"));
        assert_eq!(args.until.as_deref(), Some("2026-12-31"));
        assert!(args.page.all_pages);
        assert_eq!(args.page.page_size, 500);

        let cli = parse(&["app", "list", "--page-token", "abc"]);
        let Command::App(AppCommand::List(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.page.page_token.as_deref(), Some("abc"));
        let error = refuse(&["app", "list", "--from", "2026-13-01"]);
        assert!(error.to_string().contains("--from"), "{error}");
    }

    /// The TSO commands parse their options.
    #[test]
    fn tso_commands() {
        let cli = parse(&["tso", "needing-action", "--until", "2026-12-31"]);
        let Command::Tso(TsoCommand::NeedingAction(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.until.as_deref(), Some("2026-12-31"));

        let cli = parse(&[
            "tso",
            "complete",
            "AP0000000001",
            "--actual-date",
            "2026-12-01",
        ]);
        assert!(cli.command.is_write());
        let Command::Tso(TsoCommand::Complete(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.actual_date, "2026-12-01");

        let cli = parse(&[
            "tso",
            "reject",
            "AP0000000001",
            "--reason",
            "meter works blocked",
        ]);
        let Command::Tso(TsoCommand::Reject(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.reason, "meter works blocked");
        refuse(&["tso", "reject", "AP0000000001", "--reason", "line\nbreak"]);
    }

    /// `participants`, `notices` and `contacts update` parse their options; a contact is four
    /// comma-separated fields with `\,` as an escaped comma.
    #[test]
    fn directory_commands() {
        let cli = parse(&["participants", "--kind", "tso", "--local"]);
        let Command::Participants(args) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.kind, Some(PartyKindArg::Tso));

        let cli = parse(&["notices", "--full", "--all-pages"]);
        let Command::Notices(args) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert!(args.full);
        assert!(args.page.all_pages);

        let cli = parse(&[
            "contacts",
            "update",
            "--contact",
            "Sato\\, Taro,operations desk,sato@example.jp,+81 3-1234-5678",
            "--contact",
            "Suzuki,outage notices,suzuki@example.jp,03-0000-0000",
        ]);
        assert!(cli.command.is_write());
        let Command::Contacts(ContactsCommand::Update(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(
            args.contacts[0],
            ContactArg {
                name: "Sato, Taro".to_owned(),
                role: "operations desk".to_owned(),
                email: "sato@example.jp".to_owned(),
                phone: "+81 3-1234-5678".to_owned(),
            }
        );
        assert_eq!(args.contacts.len(), 2);

        refuse(&["contacts", "update"]);
        for bad in [
            "Sato,desk,sato@example.jp",
            "Sato,desk,not-an-email,03",
            "Sato,desk,sato@example.jp,phone",
            "Sato\\x,desk,sato@example.jp,03",
        ] {
            let error = refuse(&["contacts", "update", "--contact", bad]);
            assert!(error.to_string().contains("--contact"), "{bad}: {error}");
        }
    }

    /// `watch` starts live by default and takes a resume position; --from-index needs
    /// --from-revision.
    #[test]
    fn watch() {
        let cli = parse(&["watch"]);
        let Command::Watch(args) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!((args.from_revision, args.from_index), (0, 0));
        assert_eq!(args.max_events, None);

        let cli = parse(&[
            "watch",
            "--from-revision",
            "120",
            "--from-index",
            "3",
            "--max-events",
            "5",
        ]);
        let Command::Watch(args) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!((args.from_revision, args.from_index), (120, 3));
        assert_eq!(args.max_events, Some(5));
        refuse(&["watch", "--from-index", "3"]);
    }

    /// `status` takes --watch with an interval and a count; the interval and the count need
    /// --watch.
    #[test]
    fn status() {
        let cli = parse(&["status"]);
        assert!(!cli.command.is_write());
        let Command::Status(args) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert!(!args.watch);
        assert_eq!(args.interval_ms, 1_000);
        assert_eq!(args.count, None);

        let cli = parse(&[
            "--endpoint",
            "http://a:1,http://b:2,http://c:3",
            "status",
            "--watch",
            "--interval-ms",
            "250",
            "--count",
            "3",
            "--json",
        ]);
        assert_eq!(cli.global.endpoints.len(), 3);
        assert!(cli.global.json);
        let Command::Status(args) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert!(args.watch);
        assert_eq!(args.interval_ms, 250);
        assert_eq!(args.count, Some(3));

        refuse(&["status", "--count", "3"]);
        refuse(&["status", "--interval-ms", "100"]);
        refuse(&["status", "--watch", "--count", "0"]);
        refuse(&["status", "--watch", "--interval-ms", "0"]);
    }

    /// `failover` takes exactly one target, --to-site (a site word) or --to-node (from 1), and
    /// is a write: it takes --request-id.
    #[test]
    fn failover() {
        let cli = parse(&["failover", "--to-site", "osaka"]);
        assert!(cli.command.is_write());
        let Command::Failover(args) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.to_site, Some(SiteArg::Osaka));
        assert_eq!(args.to_node, None);
        assert_eq!(SiteArg::Osaka.wire(), admin::Site::Osaka);

        let cli = parse(&[
            "failover",
            "--to-node",
            "4",
            "--timeout-ms",
            "5000",
            "--request-id",
            "move-1",
        ]);
        assert_eq!(cli.global.timeout_ms, 5_000);
        assert_eq!(cli.global.request_id.as_deref(), Some("move-1"));
        let Command::Failover(args) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.to_node, Some(4));
        assert_eq!(args.to_site, None);

        refuse(&["failover"]);
        refuse(&["failover", "--to-site", "osaka", "--to-node", "3"]);
        refuse(&["failover", "--to-site", "nagoya"]);
        refuse(&["failover", "--to-node", "0"]);
    }

    /// The long help documents every exit code.
    #[test]
    fn long_help_documents_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        for line in [
            "0  success",
            "1  any other failure",
            "2  bad arguments",
            "3  a business rule refused",
            "4  not allowed",
            "5  no node could answer",
            "6  degraded",
        ] {
            assert!(help.contains(line), "{line:?} missing from:\n{help}");
        }
    }
}

//! Who is calling: the party id from the client certificate (mutual TLS) or, in development
//! mode only, from a bearer token; and what that party may see.

use switchyard_domain::{
    Application, Area, PartyId, RetailerCode, StopOnBehalfRequest, SupplyPoint, SupplyPointNumber,
};
use tonic::{Request, Status};

use crate::config::AuthMode;
use crate::status;

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub(crate) party: PartyId,
}

impl Caller {
    pub(crate) fn is_operator(&self) -> bool {
        matches!(self.party, PartyId::Operator(_))
    }

    pub(crate) fn retailer(&self) -> Option<RetailerCode> {
        self.party.retailer()
    }

    pub(crate) fn tso_area(&self) -> Option<Area> {
        match self.party {
            PartyId::Tso(area) => Some(area),
            _ => None,
        }
    }

    /// Whether the caller is the TSO of `supply_point`'s area, or an operator.
    pub(crate) fn oversees(&self, supply_point: &SupplyPointNumber) -> bool {
        self.is_operator() || self.tso_area() == Some(supply_point.area())
    }

    /// Whether the caller may see who supplies `point` (and since when, and its history): its
    /// current retailer, the area's TSO and operators.
    pub(crate) fn sees_supplier_of(&self, point: &SupplyPoint) -> bool {
        self.oversees(&point.number)
            || (self.retailer().is_some() && self.retailer() == point.current_retailer())
    }

    /// Applications: the applicant, the area's TSO, operators.
    pub(crate) fn sees_application(&self, application: &Application) -> bool {
        self.oversees(&application.supply_point) || self.retailer() == Some(application.applicant)
    }

    /// Stop-on-behalf requests: the requester, the addressee, the area's TSO, operators.
    pub(crate) fn sees_stop_on_behalf(&self, request: &StopOnBehalfRequest) -> bool {
        self.oversees(&request.supply_point)
            || self
                .retailer()
                .is_some_and(|code| code == request.requester || code == request.addressee)
    }

    /// Refuses callers other than operators.
    pub(crate) fn require_operator(&self, what: &str) -> Result<(), Status> {
        if self.is_operator() {
            Ok(())
        } else {
            Err(status::permission_denied(format!(
                "{what} needs an operator identity; {} is not an operator",
                self.party
            )))
        }
    }

    /// Refuses callers other than TSOs and operators.
    pub(crate) fn require_tso_or_operator(&self, what: &str) -> Result<(), Status> {
        if self.is_operator() || self.tso_area().is_some() {
            Ok(())
        } else {
            Err(status::permission_denied(format!(
                "{what} is for TSOs and operators; {} is neither",
                self.party
            )))
        }
    }
}

/// Authenticates requests according to the configured mode.
#[derive(Debug)]
pub(crate) struct Authenticator {
    mode: AuthMode,
}

/// The metadata key of a bearer token.
const AUTHORIZATION: &str = "authorization";
/// Longest authorization header looked at.
const AUTHORIZATION_BYTES_MAX: usize = 256;

impl Authenticator {
    pub(crate) fn new(mode: AuthMode) -> Authenticator {
        Authenticator { mode }
    }

    /// The caller of `request`, or `UNAUTHENTICATED` saying what was missing or wrong.
    pub(crate) fn authenticate<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        match &self.mode {
            AuthMode::DevTokens(tokens) => {
                let header = request.metadata().get(AUTHORIZATION).ok_or_else(|| {
                    status::unauthenticated(
                        "no credentials: send `authorization: Bearer <token>` (development mode)",
                    )
                })?;
                let header = header
                    .to_str()
                    .ok()
                    .filter(|text| text.len() <= AUTHORIZATION_BYTES_MAX)
                    .ok_or_else(|| {
                        status::unauthenticated("the authorization header is not a bearer token")
                    })?;
                let token = header.strip_prefix("Bearer ").ok_or_else(|| {
                    status::unauthenticated("the authorization header must be `Bearer <token>`")
                })?;
                tokens
                    .get(token.trim())
                    .map(|party| Caller {
                        party: party.clone(),
                    })
                    .ok_or_else(|| status::unauthenticated("unknown bearer token"))
            }
            AuthMode::MutualTls(_) => {
                let certificates = request.peer_certs().ok_or_else(|| {
                    status::unauthenticated("no client certificate was presented")
                })?;
                let leaf = certificates.first().ok_or_else(|| {
                    status::unauthenticated("no client certificate was presented")
                })?;
                party_of_certificate(leaf.as_ref())
                    .map(|party| Caller { party })
                    .map_err(status::unauthenticated)
            }
        }
    }
}

/// The party id a client certificate names in its subject's common name.
pub fn party_of_certificate(der: &[u8]) -> Result<PartyId, String> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der)
        .map_err(|error| format!("the client certificate cannot be parsed: {error}"))?;
    let common_name = certificate
        .subject()
        .iter_common_name()
        .next()
        .and_then(|name| name.as_str().ok())
        .ok_or_else(|| "the client certificate's subject has no common name".to_owned())?;
    PartyId::parse(common_name).map_err(|error| {
        format!("the client certificate's common name {common_name:?} is not a party id: {error}")
    })
}

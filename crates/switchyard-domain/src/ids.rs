//! Identifiers and bounded texts: value types that cannot hold invalid data.
//!
//! Every type here validates on construction (`parse`/`new`) and again when deserialized (serde
//! goes through the same constructor), so a value that exists is a valid value.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a value was refused. The wire layer adds the name of the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ValueError {
    /// The text does not have the required shape.
    #[error("{kind} must be {expected}; got {got:?}")]
    Malformed {
        kind: String,
        expected: String,
        got: String,
    },
    /// The value has the right shape but lies outside its allowed range.
    #[error("{kind} is out of range: {detail}")]
    OutOfRange { kind: String, detail: String },
}

/// Longest piece of offending input an error message quotes back.
const QUOTED_INPUT_CHARS_MAX: usize = 48;

pub(crate) fn malformed(kind: &str, expected: &str, got: &str) -> ValueError {
    let got: String = got.chars().take(QUOTED_INPUT_CHARS_MAX).collect();
    ValueError::Malformed {
        kind: kind.to_owned(),
        expected: expected.to_owned(),
        got,
    }
}

pub(crate) fn out_of_range(kind: &str, detail: impl Into<String>) -> ValueError {
    ValueError::OutOfRange {
        kind: kind.to_owned(),
        detail: detail.into(),
    }
}

/// Longest text [`serialize_display`] formats on the stack; longer ones go through
/// `collect_str`.
const STACK_TEXT_MAX: usize = 128;

/// Text formatted into a fixed buffer on the stack.
struct StackText {
    bytes: [u8; STACK_TEXT_MAX],
    len: usize,
}

impl fmt::Write for StackText {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let end = self.len + text.len();
        if end > STACK_TEXT_MAX {
            return Err(fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Serializes `value`'s `Display` text, formatting it once and allocating nothing: postcard's
/// `collect_str` formats twice (to count, then to copy), and records hold many identifiers.
pub(crate) fn serialize_display<S, T>(value: &T, serializer: S) -> Result<S::Ok, S::Error>
where
    S: serde::Serializer,
    T: fmt::Display + ?Sized,
{
    let mut text = StackText {
        bytes: [0; STACK_TEXT_MAX],
        len: 0,
    };
    if fmt::Write::write_fmt(&mut text, format_args!("{value}")).is_ok()
        && let Ok(text) = std::str::from_utf8(&text.bytes[..text.len])
    {
        return serializer.serialize_str(text);
    }
    serializer.collect_str(value)
}

/// Writes `prefix`, then `value` zero-padded to `width` digits (more if it needs them), without
/// the formatting machinery: identifiers are displayed on every encode and every answer.
pub(crate) fn write_padded(
    formatter: &mut fmt::Formatter<'_>,
    prefix: &str,
    value: u64,
    width: usize,
) -> fmt::Result {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let start = at.min(digits.len() - width.min(digits.len()));
    formatter.write_str(prefix)?;
    formatter.write_str(std::str::from_utf8(&digits[start..]).map_err(|_| fmt::Error)?)
}

/// Implements `FromStr` and string serde for a type with `parse` and `Display` (or, given
/// `as_str`, a text it holds), so every deserialized value passes the same validation as a
/// constructed one.
macro_rules! string_serde {
    ($type:ty, as_str) => {
        string_serde!(@parse $type);
        impl Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
    ($type:ty) => {
        string_serde!(@parse $type);
        impl Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $crate::ids::serialize_display(self, serializer)
            }
        }
    };
    (@parse $type:ty) => {
        impl FromStr for $type {
            type Err = ValueError;
            fn from_str(text: &str) -> Result<Self, ValueError> {
                Self::parse(text)
            }
        }
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// One of the ten supply areas, each served by one TSO (一般送配電事業者).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Area {
    Hokkaido = 1,
    Tohoku = 2,
    Tokyo = 3,
    Chubu = 4,
    Hokuriku = 5,
    Kansai = 6,
    Chugoku = 7,
    Shikoku = 8,
    Kyushu = 9,
    Okinawa = 10,
}

impl Area {
    /// All ten areas in code order.
    pub const ALL: [Area; 10] = [
        Area::Hokkaido,
        Area::Tohoku,
        Area::Tokyo,
        Area::Chubu,
        Area::Hokuriku,
        Area::Kansai,
        Area::Chugoku,
        Area::Shikoku,
        Area::Kyushu,
        Area::Okinawa,
    ];

    /// The area for a numeric code 1..=10.
    pub fn from_number(number: u8) -> Result<Area, ValueError> {
        Area::ALL
            .get(usize::from(number).wrapping_sub(1))
            .copied()
            .ok_or_else(|| out_of_range("area code", format!("{number} is not in 01..10")))
    }

    /// The numeric code, 1..=10.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// Parses the two-digit code `01`..`10`.
    pub fn parse(text: &str) -> Result<Area, ValueError> {
        let bytes = text.as_bytes();
        if bytes.len() != 2 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(malformed("area code", "two digits 01..10", text));
        }
        Area::from_number((bytes[0] - b'0') * 10 + (bytes[1] - b'0'))
    }

    /// The public name of the area's TSO.
    pub fn tso_name(self) -> &'static str {
        match self {
            Area::Hokkaido => "Hokkaido Electric Power Network",
            Area::Tohoku => "Tohoku Electric Power Network",
            Area::Tokyo => "TEPCO Power Grid",
            Area::Chubu => "Chubu Electric Power Grid",
            Area::Hokuriku => "Hokuriku Electric Power Transmission & Distribution",
            Area::Kansai => "Kansai Transmission and Distribution",
            Area::Chugoku => "Chugoku Electric Power Transmission & Distribution",
            Area::Shikoku => "Shikoku Electric Power Transmission & Distribution",
            Area::Kyushu => "Kyushu Electric Power Transmission and Distribution",
            Area::Okinawa => "Okinawa Electric Power Company",
        }
    }
}

impl fmt::Display for Area {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_padded(formatter, "", u64::from(self.number()), 2)
    }
}
string_serde!(Area);

/// Supply point identification number (供給地点特定番号): exactly 22 ASCII digits whose first two
/// are the area code 01..10. The rest is each TSO's own layout and is treated as opaque; there is
/// no public check digit, so none is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SupplyPointNumber([u8; SupplyPointNumber::LENGTH]);

impl SupplyPointNumber {
    /// Number of digits.
    pub const LENGTH: usize = 22;

    /// Parses and validates a supply point number.
    pub fn parse(text: &str) -> Result<SupplyPointNumber, ValueError> {
        let bytes = text.as_bytes();
        if bytes.len() != Self::LENGTH || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(malformed(
                "supply point number",
                "exactly 22 ASCII digits",
                text,
            ));
        }
        Area::parse(&text[..2]).map_err(|_| {
            out_of_range(
                "supply point number",
                format!("area prefix {} is not in 01..10", &text[..2]),
            )
        })?;
        let mut digits = [0u8; Self::LENGTH];
        digits.copy_from_slice(bytes);
        Ok(SupplyPointNumber(digits))
    }

    /// The area named by the first two digits.
    pub fn area(&self) -> Area {
        Area::from_number((self.0[0] - b'0') * 10 + (self.0[1] - b'0'))
            .expect("validated at construction")
    }

    /// The digits as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII digits")
    }
}

impl fmt::Display for SupplyPointNumber {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}
string_serde!(SupplyPointNumber, as_str);

/// A retailer's registration code: `A` followed by four digits, e.g. `A0123`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RetailerCode(u16);

impl RetailerCode {
    /// Parses `A` + 4 digits.
    pub fn parse(text: &str) -> Result<RetailerCode, ValueError> {
        let bytes = text.as_bytes();
        if bytes.len() != 5 || bytes[0] != b'A' || !bytes[1..].iter().all(u8::is_ascii_digit) {
            return Err(malformed("retailer code", "A followed by 4 digits", text));
        }
        Ok(RetailerCode(text[1..].parse().expect("four digits")))
    }

    /// The retailer with registration number `number` (0..=9999).
    pub fn from_number(number: u16) -> Result<RetailerCode, ValueError> {
        if number > 9999 {
            return Err(out_of_range(
                "retailer code",
                format!("{number} has more than 4 digits"),
            ));
        }
        Ok(RetailerCode(number))
    }

    /// The numeric part.
    pub fn number(self) -> u16 {
        self.0
    }
}

impl fmt::Display for RetailerCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_padded(formatter, "A", u64::from(self.0), 4)
    }
}
string_serde!(RetailerCode);

/// An operator (OCCTO staff) account: 1..=32 characters, a lowercase letter first, then lowercase
/// letters, digits, `.`, `_` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OperatorId(String);

impl OperatorId {
    /// Longest account name.
    pub const LENGTH_MAX: usize = 32;

    /// Parses an operator account name.
    pub fn parse(text: &str) -> Result<OperatorId, ValueError> {
        let valid_shape = !text.is_empty()
            && text.len() <= Self::LENGTH_MAX
            && text.as_bytes()[0].is_ascii_lowercase()
            && text.bytes().all(|byte| {
                byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"._-".contains(&byte)
            });
        if !valid_shape {
            return Err(malformed(
                "operator id",
                "1..=32 of a-z 0-9 . _ - starting with a letter",
                text,
            ));
        }
        Ok(OperatorId(text.to_owned()))
    }

    /// The account name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OperatorId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}
string_serde!(OperatorId, as_str);

/// A participant of the switching system.
///
/// Text form: a retailer is its code (`A0123`), a TSO is `T` + area code (`T03`), an operator is
/// `op:` + account (`op:sato`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PartyId {
    Retailer(RetailerCode),
    Tso(Area),
    Operator(OperatorId),
}

impl PartyId {
    /// Parses the text form.
    pub fn parse(text: &str) -> Result<PartyId, ValueError> {
        if let Some(account) = text.strip_prefix("op:") {
            return OperatorId::parse(account).map(PartyId::Operator);
        }
        if let Some(area) = text.strip_prefix('T') {
            return Area::parse(area).map(PartyId::Tso);
        }
        if text.starts_with('A') {
            return RetailerCode::parse(text).map(PartyId::Retailer);
        }
        Err(malformed(
            "party id",
            "a retailer code (A0123), a TSO (T01..T10) or an operator (op:name)",
            text,
        ))
    }

    /// The retailer code, if this party is a retailer.
    pub fn retailer(&self) -> Option<RetailerCode> {
        match self {
            PartyId::Retailer(code) => Some(*code),
            _ => None,
        }
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartyId::Retailer(code) => fmt::Display::fmt(code, formatter),
            PartyId::Tso(area) => {
                formatter.write_str("T")?;
                fmt::Display::fmt(area, formatter)
            }
            PartyId::Operator(account) => write!(formatter, "op:{account}"),
        }
    }
}
string_serde!(PartyId);

/// Who issues a command: an authenticated party, or the cluster itself (ticks).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Actor {
    Party(PartyId),
    /// The replicated service itself; only ticks come from here.
    System,
}

impl fmt::Display for Actor {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Party(party) => write!(formatter, "{party}"),
            Actor::System => formatter.write_str("system"),
        }
    }
}

/// Numbers the state machine assigns (applications, stop-on-behalf requests, notices): a fixed
/// two-letter prefix and ten digits, `AP0000000042`. Zero is never assigned.
macro_rules! serial_number {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u64);

        impl $name {
            /// Largest number that fits ten digits.
            pub const MAX: u64 = 9_999_999_999;

            /// The number `value` (1..=9,999,999,999).
            pub fn new(value: u64) -> Result<$name, ValueError> {
                if value == 0 || value > Self::MAX {
                    return Err(out_of_range($kind, format!("{value} is not in 1..=9999999999")));
                }
                Ok($name(value))
            }

            /// Parses the text form.
            pub fn parse(text: &str) -> Result<$name, ValueError> {
                let digits = text
                    .strip_prefix($prefix)
                    .filter(|digits| digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| malformed($kind, concat!($prefix, " followed by 10 digits"), text))?;
                $name::new(digits.parse().expect("ten digits"))
            }

            /// The numeric value.
            pub fn value(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_padded(formatter, $prefix, self.0, 10)
            }
        }
        string_serde!($name);
    };
}

serial_number!(
    /// An application's number, assigned when it is registered.
    ApplicationNumber,
    "AP",
    "application number"
);
serial_number!(
    /// A stop-on-behalf request's number, assigned when it is registered.
    StopOnBehalfNumber,
    "SB",
    "stop-on-behalf number"
);
serial_number!(
    /// A notice's number, assigned when it is published.
    NoticeNumber,
    "NT",
    "notice number"
);

/// Bounded, validated text newtypes. `$allowed` decides which characters may appear.
macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal, $expected:literal, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Longest accepted value, in characters.
            pub const LENGTH_MAX: usize = $max;

            /// Validates `text`.
            pub fn parse(text: &str) -> Result<$name, ValueError> {
                let allowed: fn(char) -> bool = $allowed;
                let length = text.chars().count();
                if length == 0 || length > $max || !text.chars().all(allowed) {
                    return Err(malformed($kind, concat!("1..=", $max, " ", $expected), text));
                }
                Ok($name(text.to_owned()))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(&self.0)
            }
        }
        string_serde!($name, as_str);
    };
}

fn is_token_char(character: char) -> bool {
    character.is_ascii_alphanumeric() || "._:-".contains(character)
}

/// Printable text: no control characters (tabs and newlines included), and not blank.
fn is_printable(character: char) -> bool {
    !character.is_control()
}

bounded_text!(
    /// A client request id: the idempotency key of a write. 1..=64 of `A-Z a-z 0-9 . _ : -`.
    RequestId,
    "request id",
    64,
    "characters of A-Z a-z 0-9 . _ : -",
    is_token_char
);
bounded_text!(
    /// The customer's contract number with the current retailer.
    ContractNumber,
    "contract number",
    20,
    "characters of A-Z a-z 0-9 -",
    |character| character.is_ascii_alphanumeric() || character == '-'
);
bounded_text!(
    /// A person's or company's name, as written on the contract.
    PersonName,
    "name",
    80,
    "printable characters",
    is_printable
);
bounded_text!(
    /// A postal address.
    PostalAddress,
    "address",
    200,
    "printable characters",
    is_printable
);
bounded_text!(
    /// A meter's number.
    MeterNumber,
    "meter number",
    16,
    "characters of A-Z a-z 0-9 -",
    |character| character.is_ascii_alphanumeric() || character == '-'
);
bounded_text!(
    /// A telephone number: digits, `+`, `-` and spaces.
    PhoneNumber,
    "phone number",
    24,
    "characters of 0-9 + - and space",
    |character| character.is_ascii_digit() || "+- ".contains(character)
);
bounded_text!(
    /// A short free-text line (titles, reasons).
    ShortText,
    "short text",
    200,
    "printable characters",
    is_printable
);
bounded_text!(
    /// A longer free text (notice bodies); newlines are allowed.
    LongText,
    "text",
    4000,
    "printable characters or newlines",
    |character| !character.is_control() || character == '\n'
);

/// An e-mail address: `local@domain`, at most 254 characters, printable ASCII, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Longest accepted address (RFC 5321's path limit).
    pub const LENGTH_MAX: usize = 254;

    /// Validates the shape `local@domain.tld`; deliverability is not this crate's business.
    pub fn parse(text: &str) -> Result<EmailAddress, ValueError> {
        let shape_ok = text.len() <= Self::LENGTH_MAX
            && text.bytes().all(|byte| byte.is_ascii_graphic())
            && match text.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if !shape_ok {
            return Err(malformed(
                "e-mail address",
                "local@domain with a dot in the domain, at most 254 ASCII characters",
                text,
            ));
        }
        Ok(EmailAddress(text.to_owned()))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}
string_serde!(EmailAddress, as_str);

#[cfg(test)]
mod tests {
    use super::*;

    /// The text forms are stored and sent everywhere: the fast paths must write exactly what
    /// the padded format strings did, at both ends of every range.
    #[test]
    fn identifiers_keep_their_text_at_the_ends_of_their_ranges() {
        let cases: Vec<(String, String)> = vec![
            (
                RetailerCode::from_number(0).unwrap().to_string(),
                "A0000".into(),
            ),
            (
                RetailerCode::from_number(9999).unwrap().to_string(),
                "A9999".into(),
            ),
            (
                ApplicationNumber::new(1).unwrap().to_string(),
                "AP0000000001".into(),
            ),
            (
                StopOnBehalfNumber::new(StopOnBehalfNumber::MAX)
                    .unwrap()
                    .to_string(),
                "SB9999999999".into(),
            ),
            (
                NoticeNumber::new(1_234_567).unwrap().to_string(),
                "NT0001234567".into(),
            ),
            (Area::Hokkaido.to_string(), "01".into()),
            (Area::Okinawa.to_string(), "10".into()),
            (PartyId::Tso(Area::Kansai).to_string(), "T06".into()),
            (crate::Date::MIN.to_string(), "2000-01-01".into()),
            (crate::Date::MAX.to_string(), "2199-12-31".into()),
        ];
        for (shown, expected) in cases {
            assert_eq!(shown, expected);
        }
        let party = PartyId::Retailer(RetailerCode::from_number(42).unwrap());
        assert_eq!(serde_json::to_string(&party).unwrap(), "\"A0042\"");
        let date = crate::Date::parse("2026-12-07").unwrap();
        assert_eq!(serde_json::to_string(&date).unwrap(), "\"2026-12-07\"");
    }

    /// Text longer than the stack buffer still serializes, through `collect_str`.
    #[test]
    fn a_long_display_text_serializes_whole() {
        struct Long;
        impl fmt::Display for Long {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(&"x".repeat(STACK_TEXT_MAX + 1))
            }
        }
        struct Wrapper;
        impl Serialize for Wrapper {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serialize_display(&Long, serializer)
            }
        }
        let text: String = serde_json::from_str(&serde_json::to_string(&Wrapper).unwrap()).unwrap();
        assert_eq!(text.len(), STACK_TEXT_MAX + 1);
    }

    /// Supply point numbers accept exactly 22 digits with an area prefix 01..10, nothing else.
    #[test]
    fn supply_point_number_validation() {
        let valid = SupplyPointNumber::parse("0300111122223333444455").unwrap();
        assert_eq!(valid.area(), Area::Tokyo);
        assert_eq!(valid.to_string(), "0300111122223333444455");
        assert!(SupplyPointNumber::parse("1000111122223333444455").is_ok());
        for bad in [
            "",
            "030011112222333344445",   // 21 digits
            "03001111222233334444555", // 23 digits
            "0000111122223333444455",  // area 00
            "1100111122223333444455",  // area 11
            "03001111222233334444a5",  // a letter
            "０300111122223333444455", // a full-width digit
        ] {
            assert!(SupplyPointNumber::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    /// Party ids round-trip through their text form, and malformed ones are refused.
    #[test]
    fn party_id_text_form() {
        for text in ["A0123", "T03", "T10", "op:sato", "op:a.b-c_1"] {
            assert_eq!(PartyId::parse(text).unwrap().to_string(), text);
        }
        for bad in [
            "A123", "A01234", "T00", "T11", "T3", "op:", "op:Sato", "B0123", "",
        ] {
            assert!(PartyId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    /// Serial numbers keep their prefix and ten digits and never accept zero.
    #[test]
    fn serial_numbers() {
        let number = ApplicationNumber::new(42).unwrap();
        assert_eq!(number.to_string(), "AP0000000042");
        assert_eq!(ApplicationNumber::parse("AP0000000042").unwrap(), number);
        assert!(ApplicationNumber::parse("AP0000000000").is_err());
        assert!(ApplicationNumber::parse("SB0000000042").is_err());
        assert!(ApplicationNumber::parse("AP000000042").is_err());
        assert!(ApplicationNumber::new(ApplicationNumber::MAX + 1).is_err());
    }

    /// Deserialization runs the same validation as construction.
    #[test]
    fn serde_validates() {
        let parsed: Result<SupplyPointNumber, _> = serde_json::from_str("\"12\"");
        assert!(parsed.is_err());
        let parsed: RequestId = serde_json::from_str("\"req-1\"").unwrap();
        assert_eq!(parsed.as_str(), "req-1");
        assert!(serde_json::from_str::<RequestId>("\"has space\"").is_err());
    }

    /// Bounded texts enforce their length and alphabet; e-mail addresses their shape.
    #[test]
    fn bounded_texts() {
        assert!(RequestId::parse(&"x".repeat(64)).is_ok());
        assert!(RequestId::parse(&"x".repeat(65)).is_err());
        assert!(PersonName::parse("山田 太郎").is_ok());
        assert!(PersonName::parse("line\nbreak").is_err());
        assert!(LongText::parse("two\nlines").is_ok());
        assert!(EmailAddress::parse("ops@example.co.jp").is_ok());
        for bad in ["no-at", "a@b", "a@@b.c", "a b@c.d", "@c.d", "a@.cd"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}

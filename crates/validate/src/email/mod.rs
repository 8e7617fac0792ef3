//! Email address validation written for customer data.
//!
//! [`EmailValidator::validate`] accepts what a mailbox can really receive and says precisely
//! why anything else is refused:
//!
//! - **Limits in octets** (RFC 5321 §4.5.3.1), counted after IDNA encoding: local part 64,
//!   each domain label 63, domain 253, whole address 254.
//! - **Local part**: a dot-atom (RFC 5322 §3.2.3) without leading, trailing or doubled dots.
//!   UTF-8 local parts (RFC 6531) are accepted, NFC-normalized and flagged as needing SMTPUTF8,
//!   unless [`EmailValidatorBuilder::smtputf8`] turns them away. Controls, spaces and invisible
//!   formatting characters are refused.
//! - **Domain**: IDNA 2008 through UTS 46 (nontransitional, STD3 rules, hyphen checks), at
//!   least two labels of letters, digits and hyphens, a top-level domain of letters (or an IDN
//!   A-label) that is not all-numeric, and no special-use domain (RFC 6761 and its successors:
//!   `.test`, `.example`, `.invalid`, `.localhost`, `.local`, `.onion`, `.arpa`, `.alt`,
//!   `.internal`).
//! - **Off by default**, each behind an explicit option: quoted local parts (`"john smith"`),
//!   comments (`john(work)@`), folding whitespace around the parts, and domain literals
//!   (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
//!
//! The address is judged as written: whitespace around it makes it invalid (the normalize
//! stage trims values, and logs that it did, before validation).
//!
//! **Local parts over 64 octets are refused.** RFC 5321 §4.5.3.1.1 sets the limit and mail
//! servers may enforce it, so an address beyond it cannot be counted on to receive mail; the
//! limit is counted on the NFC form, in UTF-8 octets. (python-email-validator accepts such
//! local parts unless `strict`; pyIsEmail rates them RFC 5322-only, like us.) The 254-octet
//! limit of the whole address holds for the address as written, as normalized (NFC local
//! part, Unicode domain) and with its domain in IDNA form, whichever is longest.
//!
//! Domains go through UTS 46 processing: the characters it ignores (soft hyphen, zero-width
//! space, variation selectors) are removed, ZWJ and ZWNJ stay only where the CONTEXTJ rules
//! of RFC 5892 allow them, and a label with hyphens in its third and fourth places must be a
//! valid A-label (`xn--`).
//!
//! A valid address comes back as an [`Email`] with its normalized form (local part NFC and as
//! written, domain lower-cased in Unicode form), its ASCII form where there is one, whether it
//! needs SMTPUTF8, and its warnings: a [disposable domain](EmailWarning::DisposableDomain), a
//! [role account](EmailWarning::RoleAccount) and a ["did you mean"](EmailWarning::DomainTypo)
//! suggestion for a mistyped popular domain. A refused one comes back as an [`EmailError`] with
//! a stable [code](EmailError::code) and a plain reason.
//!
//! ```
//! use mergetag_validate::{EmailError, EmailValidator, EmailWarning};
//!
//! let v = EmailValidator::new();
//! let email = v.validate("Ada.Lovelace@Example.ORG")?;
//! assert_eq!(email.normalized(), "Ada.Lovelace@example.org");
//! assert_eq!(email.ascii(), Some("Ada.Lovelace@example.org"));
//!
//! let email = v.validate("用户@例子.广告")?;
//! assert!(email.needs_smtputf8());
//! assert_eq!(email.ascii(), None);
//! assert_eq!(email.domain_ascii(), "xn--fsqu00a.xn--4rr70v");
//!
//! let err = v.validate("jane..doe@example.com").unwrap_err();
//! assert_eq!(err, EmailError::ConsecutiveDots);
//! assert_eq!(err.code(), "invalid_email.consecutive_dots");
//!
//! let email = v.validate("jane@gmial.com")?;
//! assert!(email.warnings().contains(&EmailWarning::DomainTypo { suggestion: "gmail.com".into() }));
//! # Ok::<(), EmailError>(())
//! ```

mod lists;
mod suggest;

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// The longest local part, in octets (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_OCTETS: usize = 64;
/// The longest domain label, in octets of its ASCII form (RFC 1035 §2.3.4).
pub const MAX_LABEL_OCTETS: usize = 63;
/// The longest domain, in octets of its ASCII form (RFC 1035, without the root dot).
pub const MAX_DOMAIN_OCTETS: usize = 253;
/// The longest address, in octets: the 256-octet path of RFC 5321 §4.5.3.1.3 less its angle
/// brackets (RFC 3696 erratum 1690).
pub const MAX_ADDRESS_OCTETS: usize = 254;

/// Input longer than this is refused before any other work.
const MAX_INPUT_OCTETS: usize = 4 * 1024;

/// Top-level domains reserved for special use, which can never receive mail.
const SPECIAL_USE_TLDS: &[&str] = &[
    "test",      // RFC 6761 §6.2
    "example",   // RFC 6761 §6.5
    "invalid",   // RFC 6761 §6.4
    "localhost", // RFC 6761 §6.3
    "local",     // RFC 6762 (multicast DNS)
    "onion",     // RFC 7686
    "arpa",      // RFC 3172 infrastructure, home.arpa (RFC 8375)
    "alt",       // RFC 9476
    "internal",  // ICANN private-use TLD (2024)
];

/// The second-level example domains of RFC 2606 §3 / RFC 6761 §6.5.
const EXAMPLE_DOMAINS: &[&str] = &["example.com", "example.net", "example.org"];

/// Why an address is not valid. Each variant has a stable [code](EmailError::code) and a plain
/// reason ([`Display`](fmt::Display)) that names no part of the address except a single
/// offending character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EmailError {
    /// `invalid_email.empty`: nothing but whitespace.
    Empty,
    /// `invalid_email.too_long`: over 254 octets in all.
    TooLong {
        /// The address's length in octets (after normalization).
        octets: usize,
    },
    /// `invalid_email.missing_at`: no `@`.
    MissingAt,
    /// `invalid_email.multiple_at`: more than one `@` outside quotes.
    MultipleAt,
    /// `invalid_email.empty_local`: nothing before the `@`.
    EmptyLocal,
    /// `invalid_email.local_too_long`: a local part over 64 octets.
    LocalTooLong {
        /// The local part's length in octets (after NFC).
        octets: usize,
    },
    /// `invalid_email.leading_dot`: the local part starts with a dot (`.jane@`).
    LeadingDot,
    /// `invalid_email.trailing_dot`: the local part ends with a dot (`jane.@`).
    TrailingDot,
    /// `invalid_email.consecutive_dots`: two dots in a row in the local part (`jane..doe@`).
    ConsecutiveDots,
    /// `invalid_email.invalid_local_char`: a character no unquoted local part may hold (`,`,
    /// `;`, `<`, a control or an invisible formatting character).
    InvalidLocalChar {
        /// The character.
        ch: char,
    },
    /// `invalid_email.whitespace`: a space, tab or line break inside the address.
    Whitespace,
    /// `invalid_email.quoted_local`: a quoted local part (`"john smith"@`), valid per RFC 5321
    /// but refused unless [`EmailValidatorBuilder::quoted_local`] allows it.
    QuotedLocal,
    /// `invalid_email.invalid_quoted_local`: a malformed quoted local part (an unclosed quote,
    /// a bad escape, a control character, text after the closing quote).
    InvalidQuotedLocal,
    /// `invalid_email.comment`: a comment in parentheses, refused unless
    /// [`EmailValidatorBuilder::comments`] allows it.
    Comment,
    /// `invalid_email.invalid_comment`: unbalanced parentheses.
    InvalidComment,
    /// `invalid_email.smtputf8_not_allowed`: a non-ASCII local part when
    /// [`EmailValidatorBuilder::smtputf8`] is off.
    Smtputf8NotAllowed,
    /// `invalid_email.empty_domain`: nothing after the `@`.
    EmptyDomain,
    /// `invalid_email.domain_too_long`: a domain over 253 octets in ASCII form.
    DomainTooLong {
        /// The domain's length in octets (ASCII form).
        octets: usize,
    },
    /// `invalid_email.label_too_long`: a domain label over 63 octets in ASCII form.
    LabelTooLong {
        /// The label's length in octets (ASCII form).
        octets: usize,
    },
    /// `invalid_email.domain_leading_dot`: the domain starts with a dot (`jane@.example.com`).
    DomainLeadingDot,
    /// `invalid_email.domain_trailing_dot`: the domain ends with a dot (`jane@example.com.`).
    DomainTrailingDot,
    /// `invalid_email.domain_consecutive_dots`: two dots in a row in the domain.
    DomainConsecutiveDots,
    /// `invalid_email.invalid_domain_char`: a character no domain may hold (`_`, `,`, `!`).
    InvalidDomainChar {
        /// The character.
        ch: char,
    },
    /// `invalid_email.label_hyphen`: a domain label that starts or ends with a hyphen.
    LabelHyphen,
    /// `invalid_email.invalid_idna`: an internationalized domain that IDNA 2008 / UTS 46
    /// refuses (disallowed characters, bad Punycode, hyphens in the third and fourth places).
    InvalidIdna,
    /// `invalid_email.single_label_domain`: a domain without a dot (`jane@localhost`).
    SingleLabelDomain,
    /// `invalid_email.numeric_tld`: an all-numeric top-level domain (`jane@192.168.1.1`).
    NumericTld,
    /// `invalid_email.invalid_tld`: a top-level domain that is not letters (or an IDN A-label)
    /// of at least two characters (`jane@example.c0m`, `jane@example.c`).
    InvalidTld,
    /// `invalid_email.special_use_domain`: a domain reserved for tests, documentation or
    /// private networks (`.test`, `.invalid`, `.local`, ...).
    SpecialUseDomain {
        /// The reserved domain matched (`"test"`, `"example.com"`).
        reserved: &'static str,
    },
    /// `invalid_email.domain_literal`: an IP address in brackets, refused unless
    /// [`EmailValidatorBuilder::domain_literal`] allows it.
    DomainLiteral,
    /// `invalid_email.invalid_domain_literal`: a malformed IP address in brackets.
    InvalidDomainLiteral,
}

impl EmailError {
    /// The stable machine code, `invalid_email.` followed by the reason in snake case.
    pub fn code(&self) -> &'static str {
        match self {
            EmailError::Empty => "invalid_email.empty",
            EmailError::TooLong { .. } => "invalid_email.too_long",
            EmailError::MissingAt => "invalid_email.missing_at",
            EmailError::MultipleAt => "invalid_email.multiple_at",
            EmailError::EmptyLocal => "invalid_email.empty_local",
            EmailError::LocalTooLong { .. } => "invalid_email.local_too_long",
            EmailError::LeadingDot => "invalid_email.leading_dot",
            EmailError::TrailingDot => "invalid_email.trailing_dot",
            EmailError::ConsecutiveDots => "invalid_email.consecutive_dots",
            EmailError::InvalidLocalChar { .. } => "invalid_email.invalid_local_char",
            EmailError::Whitespace => "invalid_email.whitespace",
            EmailError::QuotedLocal => "invalid_email.quoted_local",
            EmailError::InvalidQuotedLocal => "invalid_email.invalid_quoted_local",
            EmailError::Comment => "invalid_email.comment",
            EmailError::InvalidComment => "invalid_email.invalid_comment",
            EmailError::Smtputf8NotAllowed => "invalid_email.smtputf8_not_allowed",
            EmailError::EmptyDomain => "invalid_email.empty_domain",
            EmailError::DomainTooLong { .. } => "invalid_email.domain_too_long",
            EmailError::LabelTooLong { .. } => "invalid_email.label_too_long",
            EmailError::DomainLeadingDot => "invalid_email.domain_leading_dot",
            EmailError::DomainTrailingDot => "invalid_email.domain_trailing_dot",
            EmailError::DomainConsecutiveDots => "invalid_email.domain_consecutive_dots",
            EmailError::InvalidDomainChar { .. } => "invalid_email.invalid_domain_char",
            EmailError::LabelHyphen => "invalid_email.label_hyphen",
            EmailError::InvalidIdna => "invalid_email.invalid_idna",
            EmailError::SingleLabelDomain => "invalid_email.single_label_domain",
            EmailError::NumericTld => "invalid_email.numeric_tld",
            EmailError::InvalidTld => "invalid_email.invalid_tld",
            EmailError::SpecialUseDomain { .. } => "invalid_email.special_use_domain",
            EmailError::DomainLiteral => "invalid_email.domain_literal",
            EmailError::InvalidDomainLiteral => "invalid_email.invalid_domain_literal",
        }
    }
}

/// A character as a reader can recognise it: `','` when visible, `U+200B` otherwise.
struct Shown(char);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        if c.is_ascii_graphic()
            || (!c.is_ascii() && !c.is_control() && !c.is_whitespace() && !is_invisible(c))
        {
            write!(f, "'{c}'")
        } else {
            write!(f, "U+{:04X}", u32::from(c))
        }
    }
}

impl fmt::Display for EmailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmailError::Empty => f.write_str("the email address is empty"),
            EmailError::TooLong { octets } => write!(
                f,
                "the address is {octets} bytes long; the limit is {MAX_ADDRESS_OCTETS}"
            ),
            EmailError::MissingAt => f.write_str("the address has no @ sign"),
            EmailError::MultipleAt => f.write_str("the address has more than one @ sign"),
            EmailError::EmptyLocal => f.write_str("nothing comes before the @ sign"),
            EmailError::LocalTooLong { octets } => write!(
                f,
                "the part before the @ is {octets} bytes long; the limit is {MAX_LOCAL_OCTETS}"
            ),
            EmailError::LeadingDot => f.write_str("the part before the @ starts with a dot"),
            EmailError::TrailingDot => f.write_str("the part before the @ ends with a dot"),
            EmailError::ConsecutiveDots => {
                f.write_str("the part before the @ has two dots in a row")
            }
            EmailError::InvalidLocalChar { ch } => write!(
                f,
                "the part before the @ contains {}, which an address cannot contain",
                Shown(*ch)
            ),
            EmailError::Whitespace => f.write_str("the address contains a space or a line break"),
            EmailError::QuotedLocal => f.write_str(
                "the part before the @ is in quotes; such addresses are valid but rarely work, \
                 so they are not accepted here",
            ),
            EmailError::InvalidQuotedLocal => f.write_str(
                "the quoted part before the @ is malformed (an unclosed quote or a bad character)",
            ),
            EmailError::Comment => {
                f.write_str("the address contains a comment in parentheses; remove it")
            }
            EmailError::InvalidComment => f.write_str("the address has unbalanced parentheses"),
            EmailError::Smtputf8NotAllowed => f.write_str(
                "the part before the @ has non-ASCII characters, which need SMTPUTF8 support; \
                 such addresses are not accepted here",
            ),
            EmailError::EmptyDomain => f.write_str("nothing comes after the @ sign"),
            EmailError::DomainTooLong { octets } => write!(
                f,
                "the domain is {octets} bytes long; the limit is {MAX_DOMAIN_OCTETS}"
            ),
            EmailError::LabelTooLong { octets } => write!(
                f,
                "a part of the domain is {octets} bytes long; the limit is {MAX_LABEL_OCTETS}"
            ),
            EmailError::DomainLeadingDot => f.write_str("the domain starts with a dot"),
            EmailError::DomainTrailingDot => f.write_str("the domain ends with a dot"),
            EmailError::DomainConsecutiveDots => f.write_str("the domain has two dots in a row"),
            EmailError::InvalidDomainChar { ch } => write!(
                f,
                "the domain contains {}, which a domain cannot contain",
                Shown(*ch)
            ),
            EmailError::LabelHyphen => {
                f.write_str("a part of the domain starts or ends with a hyphen, or has two hyphens in the third and fourth places without being an IDNA A-label (xn--)")
            }
            EmailError::InvalidIdna => {
                f.write_str("the domain is not a valid internationalized domain name")
            }
            EmailError::SingleLabelDomain => f.write_str(
                "the domain has no dot; it needs a name and an ending, as in example.com",
            ),
            EmailError::NumericTld => f.write_str(
                "the domain ends in a number, so it is an IP address or a typo, not a domain",
            ),
            EmailError::InvalidTld => {
                f.write_str("the domain's ending is not a possible top-level domain")
            }
            EmailError::SpecialUseDomain { reserved } => write!(
                f,
                "the domain {reserved} is reserved for tests or private networks and cannot \
                 receive email"
            ),
            EmailError::DomainLiteral => f.write_str(
                "the domain is an IP address in brackets; such addresses are not accepted here",
            ),
            EmailError::InvalidDomainLiteral => {
                f.write_str("the IP address in brackets is malformed")
            }
        }
    }
}

impl std::error::Error for EmailError {}

/// Something worth a second look about an address that is valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EmailWarning {
    /// `disposable_domain`: the domain, or a parent of it, is a known throwaway-mailbox
    /// service.
    DisposableDomain {
        /// The listed domain that matched (`"mailinator.com"` for `x.mailinator.com`).
        listed: &'static str,
    },
    /// `role_account`: the local part (before any `+tag`) names a role or a team, not a person
    /// (`info@`, `sales@`, `noreply@`).
    RoleAccount {
        /// The role list's category: `MARKETING`, `MEETING`, `NOTIFICATION` or `OTHER`.
        category: &'static str,
    },
    /// `domain_typo`: the domain looks like a mistyping of a popular one, or its top-level
    /// domain like a mistyped `com`, `net`, `org`...
    DomainTypo {
        /// The domain probably meant (`"gmail.com"`, `"acme.com"` for `acme.cmo`).
        suggestion: Cow<'static, str>,
    },
}

impl EmailWarning {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            EmailWarning::DisposableDomain { .. } => "disposable_domain",
            EmailWarning::RoleAccount { .. } => "role_account",
            EmailWarning::DomainTypo { .. } => "domain_typo",
        }
    }
}

impl fmt::Display for EmailWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmailWarning::DisposableDomain { listed } => write!(
                f,
                "the address is at {listed}, a disposable (throwaway) mailbox service"
            ),
            EmailWarning::RoleAccount { .. } => f.write_str(
                "the address belongs to a role or a team (like info@ or sales@), not a person",
            ),
            EmailWarning::DomainTypo { suggestion } => {
                write!(f, "the domain looks mistyped; did you mean {suggestion}?")
            }
        }
    }
}

/// A valid address, normalized.
///
/// The normalized form keeps the local part as written (NFC; unquoted when quotes were not
/// needed) and lower-cases the domain, in its Unicode form. Validating the normalized form
/// again gives the same result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    address: String,
    at: usize,
    /// The domain's ASCII form when it differs from its Unicode form.
    domain_ascii: Option<String>,
    /// The whole ASCII form when it exists and differs from `address`.
    ascii: Option<String>,
    smtputf8: bool,
    literal: bool,
    warnings: Vec<EmailWarning>,
}

impl Email {
    /// The normalized address: `local@domain`, the domain in Unicode form.
    pub fn normalized(&self) -> &str {
        &self.address
    }

    /// The local part, NFC.
    pub fn local(&self) -> &str {
        &self.address[..self.at]
    }

    /// The domain in Unicode form, lower case (`bücher.example`), or a domain literal.
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }

    /// The domain in ASCII form (`xn--bcher-kva.example`), as DNS and SMTP see it.
    pub fn domain_ascii(&self) -> &str {
        self.domain_ascii
            .as_deref()
            .unwrap_or_else(|| self.domain())
    }

    /// The address in ASCII form (`local@xn--...`), or `None` when the local part is not
    /// ASCII and no ASCII form exists.
    pub fn ascii(&self) -> Option<&str> {
        if self.smtputf8 {
            None
        } else {
            Some(self.ascii.as_deref().unwrap_or(&self.address))
        }
    }

    /// Whether sending to this address needs the SMTPUTF8 extension (RFC 6531): the local part
    /// is not ASCII.
    pub fn needs_smtputf8(&self) -> bool {
        self.smtputf8
    }

    /// Whether the domain is an IP address in brackets (only with
    /// [`EmailValidatorBuilder::domain_literal`]).
    pub fn is_domain_literal(&self) -> bool {
        self.literal
    }

    /// The warnings: disposable domain, role account, mistyped domain.
    pub fn warnings(&self) -> &[EmailWarning] {
        &self.warnings
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

/// The options of an [`EmailValidator`], as loaded from a rule set (TOML or JSON).
///
/// Every field is optional; the defaults are strict: only SMTPUTF8 local parts are accepted
/// beyond plain dot-atoms.
///
/// ```
/// use mergetag_validate::EmailConfig;
///
/// let config: EmailConfig = serde_json::from_str(r#"{"quoted_local": true}"#)?;
/// let v = config.build();
/// assert!(v.validate(r#""john smith"@example.org"#).is_ok());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct EmailConfig {
    /// Accept UTF-8 local parts (RFC 6531), flagged as needing SMTPUTF8. Default `true`.
    pub smtputf8: bool,
    /// Accept quoted local parts (`"john smith"@example.org`). Default `false`.
    pub quoted_local: bool,
    /// Accept and drop comments at the ends of the local part and the domain
    /// (`john(work)@example.org`). Default `false`.
    pub comments: bool,
    /// Accept and drop whitespace around the local part and the domain (`john @ example.org`).
    /// Default `false`.
    pub folding_whitespace: bool,
    /// Accept domain literals (`john@[192.0.2.1]`, `john@[IPv6:2001:db8::1]`). Default `false`.
    pub domain_literal: bool,
    /// Refuse the example domains of RFC 2606 (`example.com`, `.net`, `.org` and their
    /// subdomains) as special-use. Default `false`, since sample data uses them widely; the
    /// `.example` top-level domain is always refused.
    pub reject_example_domains: bool,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            smtputf8: true,
            quoted_local: false,
            comments: false,
            folding_whitespace: false,
            domain_literal: false,
            reject_example_domains: false,
        }
    }
}

impl EmailConfig {
    /// The validator these options describe.
    pub fn build(&self) -> EmailValidator {
        EmailValidator { config: *self }
    }
}

/// Builds an [`EmailValidator`]; see [`EmailValidator::builder`].
#[derive(Debug, Clone, Default)]
pub struct EmailValidatorBuilder {
    config: EmailConfig,
}

impl EmailValidatorBuilder {
    /// Accept UTF-8 local parts (RFC 6531), flagged as needing SMTPUTF8. Default `true`.
    pub fn smtputf8(&mut self, yes: bool) -> &mut Self {
        self.config.smtputf8 = yes;
        self
    }

    /// Accept quoted local parts (`"john smith"@example.org`). Default `false`.
    pub fn quoted_local(&mut self, yes: bool) -> &mut Self {
        self.config.quoted_local = yes;
        self
    }

    /// Accept and drop comments at the ends of the local part and the domain. Default `false`.
    pub fn comments(&mut self, yes: bool) -> &mut Self {
        self.config.comments = yes;
        self
    }

    /// Accept and drop whitespace around the local part and the domain. Default `false`.
    pub fn folding_whitespace(&mut self, yes: bool) -> &mut Self {
        self.config.folding_whitespace = yes;
        self
    }

    /// Accept domain literals (`[192.0.2.1]`, `[IPv6:2001:db8::1]`). Default `false`.
    pub fn domain_literal(&mut self, yes: bool) -> &mut Self {
        self.config.domain_literal = yes;
        self
    }

    /// Refuse `example.com`, `example.net`, `example.org` and their subdomains. Default
    /// `false`.
    pub fn reject_example_domains(&mut self, yes: bool) -> &mut Self {
        self.config.reject_example_domains = yes;
        self
    }

    /// The validator. The builder can be used again.
    pub fn build(&self) -> EmailValidator {
        self.config.build()
    }
}

/// Validates and normalizes email addresses; see the [module docs](self) for what it accepts.
///
/// Cheap to copy. The reference tables (disposable domains, role accounts) are parsed once per
/// process, on first use or by [`EmailValidator::warm`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmailValidator {
    config: EmailConfig,
}

/// An address split and checked, borrowing from the input where it can.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    pub(crate) local: Cow<'a, str>,
    /// ASCII form, lower case (or the normalized literal).
    pub(crate) domain: Cow<'a, str>,
    /// Unicode form when it differs from `domain`.
    pub(crate) domain_unicode: Option<String>,
    pub(crate) smtputf8: bool,
    pub(crate) literal: bool,
}

impl EmailValidator {
    /// A validator with the default options.
    pub fn new() -> EmailValidator {
        EmailValidator::default()
    }

    /// A builder for a validator with other options.
    ///
    /// ```
    /// use mergetag_validate::EmailValidator;
    ///
    /// let v = EmailValidator::builder().smtputf8(false).domain_literal(true).build();
    /// assert!(v.validate("jane@[192.0.2.1]").is_ok());
    /// assert!(v.validate("用户@example.org").is_err());
    /// ```
    pub fn builder() -> EmailValidatorBuilder {
        EmailValidatorBuilder::default()
    }

    /// The options.
    pub fn config(&self) -> &EmailConfig {
        &self.config
    }

    /// Parses the reference tables now, so that the first validation does not pay for it.
    pub fn warm() {
        lists::warm();
    }

    /// Whether `input` is a valid address. Does not allocate for a plain lower-case ASCII
    /// address.
    pub fn is_valid(&self, input: &str) -> bool {
        self.parse(input).is_ok()
    }

    /// Validates and normalizes `input`, with its warnings.
    ///
    /// # Errors
    ///
    /// An [`EmailError`] saying why the address is not valid: the first problem found, left
    /// to right.
    pub fn validate(&self, input: &str) -> Result<Email, EmailError> {
        let p = self.parse(input)?;
        let mut warnings = Vec::new();
        warnings_into(&p, &mut warnings);
        let domain_unicode = p.domain_unicode.as_deref().unwrap_or(&p.domain);
        let mut address = String::with_capacity(p.local.len() + 1 + domain_unicode.len());
        address.push_str(&p.local);
        address.push('@');
        address.push_str(domain_unicode);
        let domain_ascii = p
            .domain_unicode
            .as_ref()
            .map(|_| p.domain.clone().into_owned());
        let ascii = match (&domain_ascii, p.smtputf8) {
            (Some(d), false) => Some(format!("{}@{d}", p.local)),
            _ => None,
        };
        Ok(Email {
            at: p.local.len(),
            address,
            domain_ascii,
            ascii,
            smtputf8: p.smtputf8,
            literal: p.literal,
            warnings,
        })
    }

    /// Splits and checks `input`.
    pub(crate) fn parse<'a>(&self, input: &'a str) -> Result<Parsed<'a>, EmailError> {
        let s = input;
        if s.trim_matches(char::is_whitespace).is_empty() {
            return Err(EmailError::Empty);
        }
        // Whitespace around the address is not part of any address: the normalize stage
        // trims it (and logs the change); the validator judges the value as it is.
        if s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
            return Err(EmailError::Whitespace);
        }
        if s.len() > MAX_INPUT_OCTETS {
            return Err(EmailError::TooLong { octets: s.len() });
        }
        if !s.contains('@') {
            return Err(EmailError::MissingAt);
        }
        let b = s.as_bytes();
        let mut i = self.skip_cfws(s, 0)?;
        if i >= b.len() {
            return Err(EmailError::MissingAt);
        }

        // The local part: a quoted string or the run up to a delimiter.
        let quoted;
        let local_raw;
        if b[i] == b'"' {
            if !self.config.quoted_local {
                return Err(EmailError::QuotedLocal);
            }
            let end = quoted_end(b, i)?;
            local_raw = &s[i + 1..end - 1];
            quoted = true;
            i = end;
        } else {
            let start = i;
            while i < b.len() && !is_local_stop(b[i]) {
                i += 1;
            }
            local_raw = &s[start..i];
            quoted = false;
        }
        let local_end = i;
        i = self.skip_cfws(s, i)?;
        match b.get(i) {
            Some(b'@') => i += 1,
            None => return Err(EmailError::MissingAt),
            // A comment or space was skipped, but the local part goes on after it.
            Some(_) if i != local_end => return Err(stop_error(b[local_end], true)),
            Some(_) if quoted => return Err(EmailError::InvalidQuotedLocal),
            Some(&c) => return Err(stop_error(c, true)),
        }

        // The domain: a literal in brackets or the run up to a delimiter.
        i = self.skip_cfws(s, i)?;
        let domain_raw;
        let literal = b.get(i) == Some(&b'[');
        if literal {
            let Some(close) = b[i..].iter().position(|&c| c == b']') else {
                return Err(if self.config.domain_literal {
                    EmailError::InvalidDomainLiteral
                } else {
                    EmailError::DomainLiteral
                });
            };
            domain_raw = &s[i..=i + close];
            i += close + 1;
        } else {
            let start = i;
            while i < b.len() && !is_domain_stop(b[i]) {
                i += 1;
            }
            domain_raw = &s[start..i];
        }
        let domain_end = i;
        i = self.skip_cfws(s, i)?;
        if let Some(&c) = b.get(i) {
            let c = if i != domain_end { b[domain_end] } else { c };
            return Err(stop_error(c, false));
        }

        // Check the parts, local first.
        let (local, local_utf8) = if quoted {
            check_quoted_local(local_raw)?
        } else {
            check_dot_atom_local(local_raw)?
        };
        if local_utf8 && !self.config.smtputf8 {
            return Err(EmailError::Smtputf8NotAllowed);
        }
        if local.len() > MAX_LOCAL_OCTETS {
            return Err(EmailError::LocalTooLong {
                octets: local.len(),
            });
        }
        if domain_raw.is_empty() {
            return Err(EmailError::EmptyDomain);
        }
        let (domain, domain_unicode) = if literal {
            if !self.config.domain_literal {
                return Err(EmailError::DomainLiteral);
            }
            (Cow::Owned(check_literal(domain_raw)?), None)
        } else {
            let (ascii, unicode) = check_domain(domain_raw)?;
            self.check_special_use(&ascii)?;
            (ascii, unicode)
        };
        // The limit holds for the address as written, as normalized (NFC local part, Unicode
        // domain) and with the domain in its ASCII (IDNA) form.
        let unicode_domain = domain_unicode.as_deref().unwrap_or(&domain);
        let octets = [
            local_raw.len() + 1 + domain_raw.len(),
            local.len() + 1 + unicode_domain.len(),
            local.len() + 1 + domain.len(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        if octets > MAX_ADDRESS_OCTETS {
            return Err(EmailError::TooLong { octets });
        }
        // A quoted local part may hold '@'; without quotes the first '@' ended the local part.
        Ok(Parsed {
            local,
            domain,
            domain_unicode,
            smtputf8: local_utf8,
            literal,
        })
    }

    /// Skips comments and folding whitespace at `i`, where the options allow them.
    fn skip_cfws(&self, s: &str, mut i: usize) -> Result<usize, EmailError> {
        let b = s.as_bytes();
        loop {
            match b.get(i) {
                Some(b' ' | b'\t') if self.config.folding_whitespace => i += 1,
                Some(b'\r') if self.config.folding_whitespace => {
                    // A line break folds only as CRLF followed by a space or tab.
                    if b.get(i + 1) == Some(&b'\n') && matches!(b.get(i + 2), Some(b' ' | b'\t')) {
                        i += 3;
                    } else {
                        return Err(EmailError::Whitespace);
                    }
                }
                Some(b'(') => {
                    if !self.config.comments {
                        return Err(EmailError::Comment);
                    }
                    i = comment_end(b, i)?;
                }
                _ => return Ok(i),
            }
        }
    }

    /// Refuses special-use domains.
    fn check_special_use(&self, ascii: &str) -> Result<(), EmailError> {
        let tld = ascii.rsplit('.').next().unwrap_or(ascii);
        if let Some(reserved) = SPECIAL_USE_TLDS.iter().find(|t| **t == tld) {
            return Err(EmailError::SpecialUseDomain { reserved });
        }
        if self.config.reject_example_domains {
            for reserved in EXAMPLE_DOMAINS {
                if ascii == *reserved
                    || ascii
                        .strip_suffix(reserved)
                        .is_some_and(|head| head.ends_with('.'))
                {
                    return Err(EmailError::SpecialUseDomain { reserved });
                }
            }
        }
        Ok(())
    }
}

/// Computes the warnings of a parsed address into `out`.
pub(crate) fn warnings_into(p: &Parsed<'_>, out: &mut Vec<EmailWarning>) {
    if p.literal {
        return;
    }
    if let Some(listed) = lists::disposable_match(&p.domain) {
        out.push(EmailWarning::DisposableDomain { listed });
    }
    if let Some(category) = role_of(&p.local) {
        out.push(EmailWarning::RoleAccount { category });
    }
    if let Some(suggestion) = suggest::suggest(&p.domain) {
        out.push(EmailWarning::DomainTypo { suggestion });
    }
}

/// The role category of an ASCII local part, ignoring case and any `+tag`.
fn role_of(local: &str) -> Option<&'static str> {
    let base = local.split_once('+').map_or(local, |(b, _)| b);
    if base.is_empty() || base.len() > 64 || !base.is_ascii() {
        return None;
    }
    let mut buf = [0u8; 64];
    let buf = &mut buf[..base.len()];
    buf.copy_from_slice(base.as_bytes());
    buf.make_ascii_lowercase();
    std::str::from_utf8(buf).ok().and_then(lists::role_category)
}

/// The error for a delimiter byte met where a part should have ended.
fn stop_error(c: u8, in_local: bool) -> EmailError {
    match c {
        b'@' if !in_local => EmailError::MultipleAt,
        b' ' | b'\t' | b'\r' | b'\n' => EmailError::Whitespace,
        b'(' => EmailError::Comment,
        b')' => EmailError::InvalidComment,
        _ if in_local => EmailError::InvalidLocalChar { ch: char::from(c) },
        _ => EmailError::InvalidDomainChar { ch: char::from(c) },
    }
}

/// Bytes that end an unquoted local part.
fn is_local_stop(c: u8) -> bool {
    matches!(c, b'@' | b'(' | b')' | b'"' | b' ' | b'\t' | b'\r' | b'\n')
}

/// Bytes that end a domain.
fn is_domain_stop(c: u8) -> bool {
    matches!(
        c,
        b'@' | b'(' | b')' | b'"' | b'[' | b']' | b' ' | b'\t' | b'\r' | b'\n'
    )
}

/// The index just past the closing quote of the quoted string starting at `start`.
fn quoted_end(b: &[u8], start: usize) -> Result<usize, EmailError> {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(EmailError::InvalidQuotedLocal)
}

/// The index just past the comment starting at `start` (comments nest; `\` escapes).
fn comment_end(b: &[u8], start: usize) -> Result<usize, EmailError> {
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(EmailError::InvalidComment)
}

/// `atext` of RFC 5322 §3.2.3, the ASCII characters of an unquoted local part besides dots.
fn is_atext(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'/'
                | b'='
                | b'?'
                | b'^'
                | b'_'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
                | b'~'
        )
}

/// Invisible characters that make an address look like another: zero-width and bidi controls,
/// the byte-order mark, and the replacement character left by a bad decoding.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFF}'
            | '\u{E0000}'..='\u{E0FFF}'
    ) || (u32::from(c) & 0xFFFE) == 0xFFFE
        || ('\u{FDD0}'..='\u{FDEF}').contains(&c)
        || ('\u{E000}'..='\u{F8FF}').contains(&c)
        || c >= '\u{F0000}'
}

/// Whether a non-ASCII character may appear in a local part (RFC 6531 `UTF8-non-ascii`, less
/// controls, spaces and invisible characters).
fn is_local_utf8(c: char) -> bool {
    !c.is_control() && !c.is_whitespace() && !is_invisible(c)
}

/// Checks an unquoted local part; returns it NFC-normalized and whether it is not ASCII.
fn check_dot_atom_local(local: &str) -> Result<(Cow<'_, str>, bool), EmailError> {
    if local.is_empty() {
        return Err(EmailError::EmptyLocal);
    }
    check_dots(local)?;
    // A combining mark first would combine with whatever stands before the address.
    if local.chars().next().is_some_and(is_combining_mark) {
        return Err(EmailError::InvalidLocalChar {
            ch: local.chars().next().unwrap_or('\u{300}'),
        });
    }
    let mut utf8 = false;
    for c in local.chars() {
        if c.is_ascii() {
            if c != '.' && !is_atext(c as u8) {
                return Err(EmailError::InvalidLocalChar { ch: c });
            }
        } else if c.is_whitespace() {
            return Err(EmailError::Whitespace);
        } else if !is_local_utf8(c) {
            return Err(EmailError::InvalidLocalChar { ch: c });
        } else {
            utf8 = true;
        }
    }
    if !utf8 {
        return Ok((Cow::Borrowed(local), false));
    }
    // NFC can turn an allowed character into one that is not (U+037E GREEK QUESTION MARK
    // into `;`): the normalized form is checked again.
    let normalized = nfc(local);
    if let Cow::Owned(n) = &normalized {
        check_dots(n)?;
        if let Some(c) = n.chars().find(|&c| {
            if c.is_ascii() {
                c != '.' && !is_atext(c as u8)
            } else {
                !is_local_utf8(c)
            }
        }) {
            return Err(EmailError::InvalidLocalChar { ch: c });
        }
    }
    Ok((normalized, true))
}

/// Leading, trailing and doubled dots of a dot-atom.
fn check_dots(s: &str) -> Result<(), EmailError> {
    if s.starts_with('.') {
        Err(EmailError::LeadingDot)
    } else if s.ends_with('.') {
        Err(EmailError::TrailingDot)
    } else if s.contains("..") {
        Err(EmailError::ConsecutiveDots)
    } else {
        Ok(())
    }
}

/// The NFC form, borrowing when the text is already NFC.
fn nfc(s: &str) -> Cow<'_, str> {
    match is_nfc_quick(s.chars()) {
        IsNormalized::Yes => Cow::Borrowed(s),
        _ => {
            let n: String = s.nfc().collect();
            if n == s {
                Cow::Borrowed(s)
            } else {
                Cow::Owned(n)
            }
        }
    }
}

/// Checks the content of a quoted local part (between the quotes, still escaped) and returns
/// its normal form: unquoted when it is a valid dot-atom, else quoted with only `"` and `\`
/// escaped.
fn check_quoted_local(raw: &str) -> Result<(Cow<'_, str>, bool), EmailError> {
    let mut content = String::with_capacity(raw.len());
    let mut utf8 = false;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        let c = if c == '\\' {
            match chars.next() {
                Some(e) if e == ' ' || e == '\t' || e.is_ascii_graphic() => e,
                _ => return Err(EmailError::InvalidQuotedLocal),
            }
        } else if c == '"' {
            return Err(EmailError::InvalidQuotedLocal);
        } else {
            c
        };
        if c.is_ascii() {
            if !(c == ' ' || c == '\t' || c.is_ascii_graphic()) {
                return Err(EmailError::InvalidQuotedLocal);
            }
        } else if !is_local_utf8(c) {
            return Err(EmailError::InvalidQuotedLocal);
        } else {
            utf8 = true;
        }
        content.push(c);
    }
    if content.is_empty() {
        return Err(EmailError::EmptyLocal);
    }
    let content = if utf8 {
        nfc(&content).into_owned()
    } else {
        content
    };
    let as_atom = check_dots(&content).is_ok()
        && content.chars().all(|c| {
            if c.is_ascii() {
                c == '.' || is_atext(c as u8)
            } else {
                is_local_utf8(c)
            }
        });
    if as_atom {
        return Ok((Cow::Owned(content), utf8));
    }
    let mut quoted = String::with_capacity(content.len() + 4);
    quoted.push('"');
    for c in content.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    Ok((Cow::Owned(quoted), utf8))
}

/// Checks a domain literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`) and returns its normal form.
fn check_literal(raw: &str) -> Result<String, EmailError> {
    let inner = &raw[1..raw.len() - 1];
    if let Some(v6) = inner
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("IPv6:"))
        .map(|_| &inner[5..])
    {
        let addr: Ipv6Addr = v6.parse().map_err(|_| EmailError::InvalidDomainLiteral)?;
        return Ok(format!("[IPv6:{addr}]"));
    }
    let addr: Ipv4Addr = inner
        .parse()
        .map_err(|_| EmailError::InvalidDomainLiteral)?;
    Ok(format!("[{addr}]"))
}

/// Checks a domain name and returns its ASCII form (lower case) and, when different, its
/// Unicode form.
fn check_domain(raw: &str) -> Result<(Cow<'_, str>, Option<String>), EmailError> {
    check_domain_dots(raw)?;
    let (ascii, unicode) = if raw.is_ascii() {
        for label in raw.split('.') {
            check_ascii_label(label)?;
        }
        let ascii = if raw.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(raw.to_ascii_lowercase())
        } else {
            Cow::Borrowed(raw)
        };
        let unicode = if ascii.split('.').any(is_a_label) {
            Some(a_labels_to_unicode(&ascii)?)
        } else {
            None
        };
        (ascii, unicode)
    } else {
        for c in raw.chars() {
            if c.is_whitespace() {
                return Err(EmailError::Whitespace);
            }
            if c.is_ascii() && !(c.is_ascii_alphanumeric() || c == '-' || c == '.') {
                return Err(EmailError::InvalidDomainChar { ch: c });
            }
            // Invisible characters are left to UTS 46: it removes the ignored ones (soft
            // hyphen, zero-width space, variation selectors), keeps ZWJ and ZWNJ where the
            // CONTEXTJ rules allow them, and refuses the rest (bidi controls).
            if c.is_control() {
                return Err(EmailError::InvalidDomainChar { ch: c });
            }
        }
        let ascii = Uts46::new()
            .to_ascii(
                raw.as_bytes(),
                AsciiDenyList::STD3,
                Hyphens::Check,
                DnsLength::Ignore,
            )
            .map_err(|_| EmailError::InvalidIdna)?
            .into_owned();
        // UTS 46 maps other full stops (U+3002, U+FF0E, ...) to dots: check the result again.
        check_domain_dots(&ascii)?;
        for label in ascii.split('.') {
            check_ascii_label(&label.to_ascii_lowercase())?;
        }
        let unicode = a_labels_to_unicode(&ascii)?;
        let unicode = (unicode != ascii).then_some(unicode);
        (Cow::Owned(ascii), unicode)
    };
    if ascii.len() > MAX_DOMAIN_OCTETS {
        return Err(EmailError::DomainTooLong {
            octets: ascii.len(),
        });
    }
    let Some((_, tld)) = ascii.rsplit_once('.') else {
        return Err(EmailError::SingleLabelDomain);
    };
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EmailError::NumericTld);
    }
    if !is_a_label(tld) && (tld.len() < 2 || !tld.bytes().all(|b| b.is_ascii_alphabetic())) {
        return Err(EmailError::InvalidTld);
    }
    Ok((ascii, unicode))
}

fn check_domain_dots(d: &str) -> Result<(), EmailError> {
    if d.starts_with('.') {
        Err(EmailError::DomainLeadingDot)
    } else if d.ends_with('.') {
        Err(EmailError::DomainTrailingDot)
    } else if d.contains("..") {
        Err(EmailError::DomainConsecutiveDots)
    } else {
        Ok(())
    }
}

/// Letters, digits and hyphens, 1 to 63 octets, no hyphen at either end.
fn check_ascii_label(label: &str) -> Result<(), EmailError> {
    if label.len() > MAX_LABEL_OCTETS {
        return Err(EmailError::LabelTooLong {
            octets: label.len(),
        });
    }
    if let Some(c) = label
        .bytes()
        .find(|&b| !(b.is_ascii_alphanumeric() || b == b'-'))
    {
        return Err(EmailError::InvalidDomainChar { ch: char::from(c) });
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(EmailError::LabelHyphen);
    }
    // Hyphens in the third and fourth places are reserved for IDNA (RFC 5891 §4.2.3.1): only
    // an A-label (`xn--`, checked when decoded) may have them.
    if label.get(2..4) == Some("--") && !is_a_label(label) {
        return Err(EmailError::LabelHyphen);
    }
    Ok(())
}

/// Whether a label is an IDNA A-label (`xn--...`), ignoring case.
fn is_a_label(label: &str) -> bool {
    label
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("xn--"))
}

/// Decodes the A-labels of a lower-case ASCII domain, refusing invalid or non-canonical ones
/// (an A-label must encode back to itself).
fn a_labels_to_unicode(ascii: &str) -> Result<String, EmailError> {
    let uts46 = Uts46::new();
    let (unicode, result) = uts46.to_unicode(ascii.as_bytes(), AsciiDenyList::STD3, Hyphens::Check);
    result.map_err(|_| EmailError::InvalidIdna)?;
    let back = uts46
        .to_ascii(
            unicode.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Check,
            DnsLength::Ignore,
        )
        .map_err(|_| EmailError::InvalidIdna)?;
    if back != ascii {
        return Err(EmailError::InvalidIdna);
    }
    Ok(unicode.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(input: &str) -> &'static str {
        match EmailValidator::new().validate(input) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn plain_addresses() {
        let v = EmailValidator::new();
        assert_eq!(
            v.validate("  Jane.Doe+news@Example.COM "),
            Err(EmailError::Whitespace)
        );
        let e = v.validate("Jane.Doe+news@Example.COM").unwrap();
        assert_eq!(e.normalized(), "Jane.Doe+news@example.com");
        assert_eq!(e.local(), "Jane.Doe+news");
        assert_eq!(e.domain(), "example.com");
        assert_eq!(e.ascii(), Some("Jane.Doe+news@example.com"));
        assert!(!e.needs_smtputf8());
        assert!(e.warnings().is_empty());
    }

    #[test]
    fn the_issue_examples_are_refused() {
        assert_eq!(code(".a@x.com"), "invalid_email.leading_dot");
        assert_eq!(code("a.@x.com"), "invalid_email.trailing_dot");
        assert_eq!(code("a..b@x.com"), "invalid_email.consecutive_dots");
        assert_eq!(code("a@[192.0.2.1]"), "invalid_email.domain_literal");
        assert_eq!(code("a@[192.0.2.999]"), "invalid_email.domain_literal");
        assert_eq!(
            code(&format!("{}@x.com", "a".repeat(65))),
            "invalid_email.local_too_long"
        );
        assert_eq!(code("a@test.test"), "invalid_email.special_use_domain");
    }

    #[test]
    fn idn_domains() {
        let v = EmailValidator::new();
        let e = v.validate("jane@Bücher.example.de").unwrap();
        assert_eq!(e.normalized(), "jane@bücher.example.de");
        assert_eq!(e.domain_ascii(), "xn--bcher-kva.example.de");
        assert_eq!(e.ascii(), Some("jane@xn--bcher-kva.example.de"));
        let e = v.validate("jane@xn--bcher-kva.example.de").unwrap();
        assert_eq!(e.normalized(), "jane@bücher.example.de");
        assert_eq!(code("jane@xn--zz.example.de"), "invalid_email.invalid_idna");
    }

    #[test]
    fn uts46_mapping_removes_ignored_characters() {
        let v = EmailValidator::new();
        for input in [
            "jane@ex\u{AD}ample.com",
            "jane@ex\u{200B}ample.com",
            "jane@exa\u{FE0F}mple.com",
        ] {
            let e = v.validate(input).unwrap();
            assert_eq!(e.domain_ascii(), "example.com", "{input:?}");
        }
        // ZWNJ after a virama is allowed by CONTEXTJ; between Latin letters it is not.
        assert!(
            v.validate("jane@\u{0915}\u{094D}\u{200C}\u{0937}.in")
                .is_ok()
        );
        assert!(v.validate("jane@ab\u{200C}cd.com").is_err());
        assert!(v.validate("jane@ab\u{200D}cd.com").is_err());
        // U+037E becomes ';' under NFC: not in a local part.
        assert_eq!(
            code("me.\u{37E}@example.com"),
            "invalid_email.invalid_local_char"
        );
        assert_eq!(code("me@yy--0.example"), "invalid_email.label_hyphen");
        assert_eq!(code(" me@example.com"), "invalid_email.whitespace");
    }

    #[test]
    fn utf8_local_parts_are_nfc() {
        let v = EmailValidator::new();
        // "é" as e + combining acute.
        let e = v.validate("jose\u{301}@example.org").unwrap();
        assert_eq!(e.local(), "jos\u{e9}");
        assert!(e.needs_smtputf8());
        assert_eq!(e.ascii(), None);
        let strict = EmailValidator::builder().smtputf8(false).build();
        assert_eq!(
            strict.validate("josé@example.org").unwrap_err(),
            EmailError::Smtputf8NotAllowed
        );
    }

    #[test]
    fn options_open_the_rarer_forms() {
        let v = EmailValidator::builder()
            .quoted_local(true)
            .comments(true)
            .folding_whitespace(true)
            .domain_literal(true)
            .build();
        assert_eq!(
            v.validate("\"john smith\"@example.org").unwrap().local(),
            "\"john smith\""
        );
        assert_eq!(v.validate("\"john\"@example.org").unwrap().local(), "john");
        assert_eq!(
            v.validate("john(work)@example.org").unwrap().normalized(),
            "john@example.org"
        );
        assert_eq!(
            v.validate("john @ example.org").unwrap().normalized(),
            "john@example.org"
        );
        assert_eq!(
            v.validate("john@[IPv6:2001:DB8:0:0:0:0:0:1]")
                .unwrap()
                .normalized(),
            "john@[IPv6:2001:db8::1]"
        );
        assert_eq!(
            v.validate("john@[192.0.2.01]").unwrap_err(),
            EmailError::InvalidDomainLiteral
        );
    }

    #[test]
    fn warnings() {
        let v = EmailValidator::new();
        let w = v.validate("Info+x@sub.mailinator.com").unwrap();
        assert_eq!(
            w.warnings(),
            [
                EmailWarning::DisposableDomain {
                    listed: "mailinator.com"
                },
                EmailWarning::RoleAccount {
                    category: "NOTIFICATION"
                }
            ]
        );
        let w = v.validate("ada@hotmial.con").unwrap();
        assert_eq!(
            w.warnings(),
            [EmailWarning::DomainTypo {
                suggestion: "hotmail.com".into()
            }]
        );
    }

    #[test]
    fn messages_are_plain() {
        assert_eq!(
            EmailError::InvalidLocalChar { ch: ',' }.to_string(),
            "the part before the @ contains ',', which an address cannot contain"
        );
        assert_eq!(
            EmailError::InvalidLocalChar { ch: '\u{200B}' }.to_string(),
            "the part before the @ contains U+200B, which an address cannot contain"
        );
    }
}

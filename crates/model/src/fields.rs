//! Canonical field names, each with the normalized form the later stages expect.
//!
//! Sources map their own column names onto these (a Salesforce `MailingCity` becomes [`CITY`]);
//! normalizers bring the values into the form documented on each constant; dedup, validation and
//! mapping look fields up by these names. Any other name is a free-form attribute and is kept as
//! it is.
//!
//! ```
//! use mergetag_model::fields::{self, ValueKind};
//!
//! let spec = fields::spec("birth_date").unwrap();
//! assert_eq!(spec.kind, ValueKind::Date);
//! assert!(spec.personal);
//! assert!(fields::spec("favorite_store").is_none());
//! ```

use serde::{Deserialize, Serialize};

/// The value type a canonical field holds once normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ValueKind {
    /// [`Value::Text`](crate::Value::Text).
    Text,
    /// [`Value::Bool`](crate::Value::Bool).
    Bool,
    /// [`Value::Int`](crate::Value::Int).
    Int,
    /// [`Value::Float`](crate::Value::Float).
    Float,
    /// [`Value::Date`](crate::Value::Date).
    Date,
    /// [`Value::DateTime`](crate::Value::DateTime).
    DateTime,
}

/// What the model says about one canonical field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FieldSpec {
    /// The canonical name, e.g. `"postal_code"`.
    pub name: &'static str,
    /// The value type once normalized.
    pub kind: ValueKind,
    /// Whether the field holds personal data, so that errors and logs must redact it.
    pub personal: bool,
    /// The normalized form, in words.
    pub form: &'static str,
}

macro_rules! canonical_fields {
    ($( $(#[doc = $doc:literal])* $konst:ident = $name:literal, $kind:ident, $personal:literal; )*) => {
        $(
            $(#[doc = $doc])*
            pub const $konst: &str = $name;
        )*

        /// Every canonical field, in the order above.
        pub const ALL: &[FieldSpec] = &[
            $( FieldSpec {
                name: $konst,
                kind: ValueKind::$kind,
                personal: $personal,
                form: concat!($($doc, "\n"),*),
            }, )*
        ];
    };
}

canonical_fields! {
    /// The person's id in the customer's own systems (a Segment `userId`), which events carry.
    USER_ID = "user_id", Text, true;
    /// A device or cookie id (a Segment `anonymousId`) for a person not yet identified.
    ANONYMOUS_ID = "anonymous_id", Text, true;
    /// Email address as it is sent to: trimmed, domain lower-cased and IDNA-encoded, local part NFC
    /// and kept as given. Dedup derives its own match key from it.
    EMAIL = "email", Text, true;
    /// Phone number in E.164 (`+13125550147`), an extension as `;ext=123`.
    PHONE = "phone", Text, true;
    /// Mobile phone number in E.164.
    MOBILE_PHONE = "mobile_phone", Text, true;
    /// Honorific or salutation (`Dr`, `Mrs`), separated from the given name.
    SALUTATION = "salutation", Text, true;
    /// Given name, NFC, sensibly cased (`Jean-Luc`), without honorifics.
    FIRST_NAME = "first_name", Text, true;
    /// Middle name or initials.
    MIDDLE_NAME = "middle_name", Text, true;
    /// Family name, NFC, sensibly cased (`McDonald`, `van der Berg`), without suffixes.
    LAST_NAME = "last_name", Text, true;
    /// Generational or professional suffix (`Jr`, `III`, `PhD`).
    NAME_SUFFIX = "name_suffix", Text, true;
    /// Whole name as one string, when a source has no split.
    FULL_NAME = "full_name", Text, true;
    /// Date of birth, ISO 8601 date (`1985-04-03`).
    BIRTH_DATE = "birth_date", Date, true;
    /// Gender as given by the person, free text.
    GENDER = "gender", Text, true;
    /// Street line of the postal address; US addresses in USPS Publication 28 form
    /// (`123 N MAIN ST APT 4B`).
    STREET = "street", Text, true;
    /// Second address line, when a source has one.
    STREET2 = "street2", Text, true;
    /// City or locality.
    CITY = "city", Text, false;
    /// Region, state or province: the ISO 3166-2 subdivision code without the country prefix
    /// (`IL`, `ON`) where one is known.
    REGION = "region", Text, false;
    /// Postal code in the country's own format (`62704-1234`, `SW1A 1AA`, `K1A 0B1`).
    POSTAL_CODE = "postal_code", Text, false;
    /// Country as an ISO 3166-1 alpha-2 code (`US`, `GB`).
    COUNTRY = "country", Text, false;
    /// Company or account name.
    COMPANY = "company", Text, false;
    /// Job title.
    JOB_TITLE = "job_title", Text, false;
    /// Industry of the company.
    INDUSTRY = "industry", Text, false;
    /// When the source created the record, RFC 3339 in UTC.
    CREATED_AT = "created_at", DateTime, false;
    /// When the source last changed the record, RFC 3339 in UTC; the usual observed-at time.
    UPDATED_AT = "updated_at", DateTime, false;
    /// Whether the person opted out of email (a suppression: it survives every merge).
    EMAIL_OPT_OUT = "email_opt_out", Bool, false;
    /// Whether the person opted out of SMS.
    SMS_OPT_OUT = "sms_opt_out", Bool, false;
    /// Whether an email to this address hard-bounced.
    EMAIL_BOUNCED = "email_bounced", Bool, false;
    /// Whether the person consented to marketing email.
    EMAIL_CONSENT = "email_consent", Bool, false;
    /// Lifetime revenue from the customer, a number in the account currency.
    CUSTOMER_LIFETIME_VALUE = "customer_lifetime_value", Float, false;
    /// Loyalty tier after terminology mapping (`gold`, `silver`).
    LOYALTY_TIER = "loyalty_tier", Text, false;
    /// Preferred contact channel (`email`, `sms`).
    PREFERRED_CHANNEL = "preferred_channel", Text, false;
    /// Lifecycle stage in the CRM (`lead`, `customer`).
    LIFECYCLE_STAGE = "lifecycle_stage", Text, false;
    /// Where the lead came from.
    LEAD_SOURCE = "lead_source", Text, false;
    /// Preferred language as a BCP 47 tag (`en-US`).
    LANGUAGE = "language", Text, false;
    /// IANA time zone (`America/Chicago`).
    TIME_ZONE = "time_zone", Text, false;
}

/// The spec of the canonical field named `name`, or `None` for a free-form attribute.
pub fn spec(name: &str) -> Option<&'static FieldSpec> {
    ALL.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for s in ALL {
            assert!(seen.insert(s.name), "duplicate {}", s.name);
            assert!(
                s.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                s.name
            );
            assert!(!s.form.trim().is_empty());
        }
        assert_eq!(spec(EMAIL).unwrap().kind, ValueKind::Text);
        assert_eq!(spec(EMAIL_OPT_OUT).unwrap().kind, ValueKind::Bool);
    }
}

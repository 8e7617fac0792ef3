//! Built-in column maps for common CRM exports.
//!
//! Each table lists, per canonical field, the column names the vendor uses: API or internal
//! names first, then the labels its export screens write. Names match loosely (see
//! [`ColumnMap`]), so `MailingCity` also covers `Mailing City`.

use mergetag_model::fields as f;

use crate::column_map::ColumnMap;
use crate::convert::ColumnType::{self, Bool, Float, Text, Timestamp};

/// Names accepted by [`ColumnMap::preset`].
pub(crate) const NAMES: &[&str] = &[
    "salesforce_contacts",
    "salesforce_leads",
    "hubspot_contacts",
    "dynamics_contacts",
    "segment_identify",
];

pub(crate) fn by_name(name: &str) -> Option<ColumnMap> {
    match name {
        "salesforce_contacts" => Some(salesforce_contacts()),
        "salesforce_leads" => Some(salesforce_leads()),
        "hubspot_contacts" => Some(hubspot_contacts()),
        "dynamics_contacts" => Some(dynamics_contacts()),
        "segment_identify" => Some(segment_identify()),
        _ => None,
    }
}

type Table = &'static [(&'static [&'static str], &'static str, ColumnType)];

fn build(table: Table, keys: &[&str], observed_at: &[&str]) -> ColumnMap {
    let mut map = ColumnMap::new();
    for (columns, field, kind) in table {
        for column in *columns {
            map = map.with_typed_column(column, *field, *kind);
        }
    }
    for k in keys {
        map = map.with_key(k);
    }
    for o in observed_at {
        map = map.with_observed_at(*o);
    }
    map
}

const SALESFORCE_COMMON: Table = &[
    (&["Salutation"], f::SALUTATION, Text),
    (&["FirstName"], f::FIRST_NAME, Text),
    (&["MiddleName"], f::MIDDLE_NAME, Text),
    (&["LastName"], f::LAST_NAME, Text),
    (&["Suffix"], f::NAME_SUFFIX, Text),
    (&["Name", "Full Name"], f::FULL_NAME, Text),
    (&["Email"], f::EMAIL, Text),
    (&["Phone", "Business Phone"], f::PHONE, Text),
    (&["MobilePhone", "Mobile"], f::MOBILE_PHONE, Text),
    (&["Title"], f::JOB_TITLE, Text),
    (&["LeadSource"], f::LEAD_SOURCE, Text),
    (
        &["HasOptedOutOfEmail", "Email Opt Out"],
        f::EMAIL_OPT_OUT,
        Bool,
    ),
    (&["IsEmailBounced"], f::EMAIL_BOUNCED, Bool),
    (&["CreatedDate"], f::CREATED_AT, Timestamp),
    (&["LastModifiedDate"], f::UPDATED_AT, Timestamp),
];

pub(crate) fn salesforce_contacts() -> ColumnMap {
    const CONTACT: Table = &[
        (&["Birthdate"], f::BIRTH_DATE, Text),
        (&["MailingStreet"], f::STREET, Text),
        (&["MailingCity"], f::CITY, Text),
        (&["MailingState", "Mailing State/Province"], f::REGION, Text),
        (
            &["MailingPostalCode", "Mailing Zip/Postal Code"],
            f::POSTAL_CODE,
            Text,
        ),
        (&["MailingCountry"], f::COUNTRY, Text),
        (
            &["AccountName", "Account.Name", "Account Name"],
            f::COMPANY,
            Text,
        ),
    ];
    build(
        SALESFORCE_COMMON,
        &["Id", "Contact ID"],
        &[f::UPDATED_AT, f::CREATED_AT],
    )
    .extend_table(CONTACT)
}

pub(crate) fn salesforce_leads() -> ColumnMap {
    const LEAD: Table = &[
        (&["Street"], f::STREET, Text),
        (&["City"], f::CITY, Text),
        (&["State", "State/Province"], f::REGION, Text),
        (&["PostalCode", "Zip/Postal Code"], f::POSTAL_CODE, Text),
        (&["Country"], f::COUNTRY, Text),
        (&["Company"], f::COMPANY, Text),
        (&["Industry"], f::INDUSTRY, Text),
        (&["Status", "Lead Status"], f::LIFECYCLE_STAGE, Text),
    ];
    build(
        SALESFORCE_COMMON,
        &["Id", "Lead ID"],
        &[f::UPDATED_AT, f::CREATED_AT],
    )
    .extend_table(LEAD)
}

pub(crate) fn hubspot_contacts() -> ColumnMap {
    const HUBSPOT: Table = &[
        (&["salutation"], f::SALUTATION, Text),
        (&["firstname"], f::FIRST_NAME, Text),
        (&["lastname"], f::LAST_NAME, Text),
        (&["email"], f::EMAIL, Text),
        (&["phone", "Phone Number"], f::PHONE, Text),
        (
            &["mobilephone", "Mobile Phone Number"],
            f::MOBILE_PHONE,
            Text,
        ),
        (&["date_of_birth"], f::BIRTH_DATE, Text),
        (&["gender"], f::GENDER, Text),
        (&["address", "Street Address"], f::STREET, Text),
        (&["city"], f::CITY, Text),
        (&["state", "State/Region"], f::REGION, Text),
        (&["zip", "Postal Code"], f::POSTAL_CODE, Text),
        (&["country", "Country/Region"], f::COUNTRY, Text),
        (&["company", "Company Name"], f::COMPANY, Text),
        (&["jobtitle"], f::JOB_TITLE, Text),
        (&["industry"], f::INDUSTRY, Text),
        (&["lifecyclestage"], f::LIFECYCLE_STAGE, Text),
        (
            &["hs_analytics_source", "Original Source"],
            f::LEAD_SOURCE,
            Text,
        ),
        (&["hs_language", "Preferred language"], f::LANGUAGE, Text),
        (&["hs_timezone", "Time Zone"], f::TIME_ZONE, Text),
        (
            &["hs_email_optout", "Unsubscribed from all email"],
            f::EMAIL_OPT_OUT,
            Bool,
        ),
        (
            &["hs_email_hard_bounce_reason_enum"],
            "email_bounce_reason",
            Text,
        ),
        (
            &["total_revenue", "Total Revenue"],
            f::CUSTOMER_LIFETIME_VALUE,
            Float,
        ),
        (&["createdate", "Create Date"], f::CREATED_AT, Timestamp),
        (
            &["lastmodifieddate", "Last Modified Date"],
            f::UPDATED_AT,
            Timestamp,
        ),
    ];
    build(
        HUBSPOT,
        &["hs_object_id", "Record ID", "vid"],
        &[f::UPDATED_AT, f::CREATED_AT],
    )
}

pub(crate) fn dynamics_contacts() -> ColumnMap {
    const DYNAMICS: Table = &[
        (&["salutation"], f::SALUTATION, Text),
        (&["firstname"], f::FIRST_NAME, Text),
        (&["middlename"], f::MIDDLE_NAME, Text),
        (&["lastname"], f::LAST_NAME, Text),
        (&["suffix"], f::NAME_SUFFIX, Text),
        (&["fullname"], f::FULL_NAME, Text),
        (&["emailaddress1", "E-mail"], f::EMAIL, Text),
        (&["telephone1", "Business Phone"], f::PHONE, Text),
        (&["mobilephone", "Mobile Phone"], f::MOBILE_PHONE, Text),
        (&["birthdate"], f::BIRTH_DATE, Text),
        (&["gendercode"], f::GENDER, Text),
        (&["address1_line1", "Address 1: Street 1"], f::STREET, Text),
        (&["address1_line2", "Address 1: Street 2"], f::STREET2, Text),
        (&["address1_city", "Address 1: City"], f::CITY, Text),
        (
            &["address1_stateorprovince", "Address 1: State/Province"],
            f::REGION,
            Text,
        ),
        (
            &["address1_postalcode", "Address 1: ZIP/Postal Code"],
            f::POSTAL_CODE,
            Text,
        ),
        (
            &["address1_country", "Address 1: Country/Region"],
            f::COUNTRY,
            Text,
        ),
        (&["parentcustomeridname", "Company Name"], f::COMPANY, Text),
        (&["jobtitle"], f::JOB_TITLE, Text),
        (
            &["donotbulkemail", "Do not allow Bulk Emails"],
            f::EMAIL_OPT_OUT,
            Bool,
        ),
        (
            &["donotemail", "Do not allow Emails"],
            "email_do_not_contact",
            Bool,
        ),
        (
            &["preferredcontactmethodcode", "Preferred Method of Contact"],
            f::PREFERRED_CHANNEL,
            Text,
        ),
        (&["createdon", "Created On"], f::CREATED_AT, Timestamp),
        (&["modifiedon", "Modified On"], f::UPDATED_AT, Timestamp),
    ];
    build(
        DYNAMICS,
        &["contactid", "(Do Not Modify) Contact"],
        &[f::UPDATED_AT, f::CREATED_AT],
    )
}

pub(crate) fn segment_identify() -> ColumnMap {
    const SEGMENT: Table = &[
        (&["email"], f::EMAIL, Text),
        (&["firstName"], f::FIRST_NAME, Text),
        (&["lastName"], f::LAST_NAME, Text),
        (&["name"], f::FULL_NAME, Text),
        (&["title"], f::JOB_TITLE, Text),
        (&["phone"], f::PHONE, Text),
        (&["birthday"], f::BIRTH_DATE, Text),
        (&["gender"], f::GENDER, Text),
        (&["address.street"], f::STREET, Text),
        (&["address.city"], f::CITY, Text),
        (&["address.state"], f::REGION, Text),
        (&["address.postalCode"], f::POSTAL_CODE, Text),
        (&["address.country"], f::COUNTRY, Text),
        (&["company.name"], f::COMPANY, Text),
        (&["company.industry"], f::INDUSTRY, Text),
        (&["createdAt"], f::CREATED_AT, Timestamp),
        (&["unsubscribed"], f::EMAIL_OPT_OUT, Bool),
    ];
    build(SEGMENT, &[], &[f::CREATED_AT])
}

impl ColumnMap {
    fn extend_table(mut self, table: Table) -> ColumnMap {
        for (columns, field, kind) in table {
            for column in *columns {
                self = self.with_typed_column(column, *field, *kind);
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mergetag_model::fields;

    #[test]
    fn every_preset_loads_by_name() {
        for name in NAMES {
            let map = by_name(name).unwrap();
            assert!(!map.rules().is_empty(), "{name}");
        }
        assert!(by_name("nope").is_none());
    }

    #[test]
    fn segment_traits_in_both_cases() {
        let map = segment_identify();
        for (col, field) in [
            ("firstName", fields::FIRST_NAME),
            ("first_name", fields::FIRST_NAME),
            ("address.postal_code", fields::POSTAL_CODE),
            ("address.postalCode", fields::POSTAL_CODE),
        ] {
            assert_eq!(map.rule(col).unwrap().field, field, "{col}");
        }
    }

    #[test]
    fn crm_columns() {
        let sf = salesforce_contacts();
        assert_eq!(
            sf.rule("HasOptedOutOfEmail").unwrap().kind,
            ColumnType::Bool
        );
        assert_eq!(
            sf.rule("Mailing Zip/Postal Code").unwrap().field,
            fields::POSTAL_CODE
        );
        let hs = hubspot_contacts();
        assert_eq!(
            hs.rule("hs_email_optout").unwrap().field,
            fields::EMAIL_OPT_OUT
        );
        assert_eq!(hs.rule("Country/Region").unwrap().field, fields::COUNTRY);
        let dy = dynamics_contacts();
        assert_eq!(dy.rule("emailaddress1").unwrap().field, fields::EMAIL);
        assert_eq!(dy.key_rank("contactid"), Some(0));
        assert_eq!(
            salesforce_leads().rule("Company").unwrap().field,
            fields::COMPANY
        );
    }
}

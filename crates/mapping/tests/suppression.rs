//! Suppression from email events (SendGrid, Mailchimp, Braze Currents, Klaviyo and
//! Segment-shaped webhooks), across merges and older addresses, with addresses compared as
//! mailboxes; and the exporter's external suppression list and duplicate rule.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use mergetag_mapping::model::{
    Channel, Event, Profile, ProfileId, RecordId, SuppressionReason, Value,
};
use mergetag_mapping::{
    Exclusion, ExporterBuilder, MappingConfig, Platform, Recipient, Scope, Signal,
    SuppressedAddresses, SuppressionRules, SuppressionRulesConfig, from_json,
};
use serde_json::{Value as Json, json};

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, day, 12, 0, 0).unwrap()
}

/// An event from a webhook body: `name` is the platform's event type, the body's fields are
/// the properties (Mailchimp's `data` object, when `flatten` names it), the address is read by
/// the rules' `email_properties`; the origin names the source and line.
fn webhook(source: &str, line: u64, name: &str, time: DateTime<Utc>, body: Json) -> Event {
    let mut e = Event::track(name, time);
    e.origin = Some(RecordId::row(source, line));
    if let Json::Object(o) = body {
        for (k, v) in o {
            e.properties.insert(k, from_json(&v));
        }
    }
    e
}

/// A SendGrid event webhook object (one element of the posted array).
fn sendgrid(line: u64, body: Json) -> Event {
    let name = body["event"].as_str().unwrap().to_owned();
    let t = Utc
        .timestamp_opt(body["timestamp"].as_i64().unwrap(), 0)
        .unwrap();
    let mut e = webhook("sendgrid", line, &name, t, body.clone());
    e.message_id = body["sg_event_id"].as_str().map(str::to_owned);
    e
}

/// A Mailchimp webhook as JSON (`type`, `fired_at`, `data`); `data` nested as it comes.
fn mailchimp(line: u64, body: Json) -> Event {
    let name = body["type"].as_str().unwrap().to_owned();
    let t = chrono::NaiveDateTime::parse_from_str(
        body["fired_at"].as_str().unwrap(),
        "%Y-%m-%d %H:%M:%S",
    )
    .unwrap()
    .and_utc();
    webhook("mailchimp", line, &name, t, body)
}

fn rules() -> SuppressionRules {
    SuppressionRulesConfig::default().build().unwrap()
}

fn signals(events: &[Event]) -> Vec<Option<Signal>> {
    let r = rules();
    events.iter().map(|e| r.signal(e)).collect()
}

fn mailbox_of(a: &SuppressedAddresses, scope: Scope) -> Vec<(String, SuppressionReason)> {
    a.iter()
        .filter(|e| e.scope == scope)
        .map(|e| (e.mailbox.clone().unwrap(), e.suppression.reason))
        .collect()
}

// ------------------------------------------------------------------------ webhook shapes

#[test]
fn sendgrid_event_webhook() {
    let events = vec![
        sendgrid(
            1,
            json!({"email": "hard@example.com", "timestamp": 1749772800, "event": "bounce",
            "type": "bounce", "bounce_classification": "Invalid Address", "reason": "550 5.1.1 no such user",
            "status": "5.1.1", "sg_event_id": "e1", "sg_message_id": "m1", "smtp-id": "<x@y>"}),
        ),
        sendgrid(
            2,
            json!({"email": "blocked@example.com", "timestamp": 1749772800, "event": "bounce",
            "type": "blocked", "bounce_classification": "Reputation", "reason": "421 try later",
            "sg_event_id": "e2", "sg_message_id": "m2"}),
        ),
        sendgrid(
            3,
            json!({"email": "dropped@example.com", "timestamp": 1749772800, "event": "dropped",
            "reason": "Bounced Address", "sg_event_id": "e3", "sg_message_id": "m3"}),
        ),
        sendgrid(
            4,
            json!({"email": "content@example.com", "timestamp": 1749772800, "event": "dropped",
            "reason": "Spam Content (if spam checker app enabled)", "sg_event_id": "e4"}),
        ),
        sendgrid(
            5,
            json!({"email": "spam@example.com", "timestamp": 1749772800, "event": "spamreport",
            "sg_event_id": "e5", "sg_message_id": "m5"}),
        ),
        sendgrid(
            6,
            json!({"email": "unsub@example.com", "timestamp": 1749772800, "event": "unsubscribe",
            "sg_event_id": "e6"}),
        ),
        sendgrid(
            7,
            json!({"email": "group@example.com", "timestamp": 1749772800, "event": "group_unsubscribe",
            "asm_group_id": 10, "sg_event_id": "e7"}),
        ),
        sendgrid(
            8,
            json!({"email": "open@example.com", "timestamp": 1749772800, "event": "open",
            "sg_machine_open": false, "sg_event_id": "e8"}),
        ),
    ];
    use Signal::*;
    assert_eq!(
        signals(&events),
        [
            Some(HardBounce),
            Some(SoftBounce),
            Some(HardBounce),
            None,
            Some(Complaint),
            Some(Unsubscribe),
            Some(Unsubscribe),
            None
        ]
    );
    let a = rules().addresses(&events);
    assert_eq!(
        mailbox_of(&a, Scope::Mailbox),
        [
            ("dropped@example.com".to_owned(), SuppressionReason::Bounced),
            ("hard@example.com".to_owned(), SuppressionReason::Bounced),
        ]
    );
    assert_eq!(
        mailbox_of(&a, Scope::Person),
        [
            ("group@example.com".to_owned(), SuppressionReason::OptOut),
            ("spam@example.com".to_owned(), SuppressionReason::Complaint),
            ("unsub@example.com".to_owned(), SuppressionReason::OptOut),
        ]
    );
    // Provenance: the event's name, record and time.
    let hard = a
        .iter()
        .find(|e| e.mailbox.as_deref() == Some("hard@example.com"))
        .unwrap();
    assert_eq!(hard.event, "bounce");
    assert_eq!(hard.suppression.record, RecordId::row("sendgrid", 1));
    assert_eq!(hard.suppression.channel, Channel::Email);
    assert_eq!(
        hard.suppression.at,
        Utc.timestamp_opt(1749772800, 0).single()
    );
}

#[test]
fn mailchimp_webhooks() {
    let events = vec![
        mailchimp(
            1,
            json!({"type": "cleaned", "fired_at": "2025-06-02 10:00:00",
            "data": {"list_id": "a6b5da1054", "campaign_id": "4fjk2ma9xd", "reason": "hard", "email": "gone@example.com"}}),
        ),
        mailchimp(
            2,
            json!({"type": "cleaned", "fired_at": "2025-06-02 10:00:00",
            "data": {"list_id": "a6b5da1054", "campaign_id": "4fjk2ma9xd", "reason": "abuse", "email": "abuse@example.com"}}),
        ),
        mailchimp(
            3,
            json!({"type": "unsubscribe", "fired_at": "2025-06-02 10:00:00",
            "data": {"action": "unsub", "reason": "manual", "id": "8a25ff1d98", "list_id": "a6b5da1054",
                     "email": "Left@Example.com", "email_type": "html", "merges": {"EMAIL": "left@example.com", "FNAME": "Ann"}}}),
        ),
        mailchimp(
            4,
            json!({"type": "subscribe", "fired_at": "2025-06-02 10:00:00",
            "data": {"id": "8a25ff1d98", "email": "new@example.com"}}),
        ),
    ];
    use Signal::*;
    assert_eq!(
        signals(&events),
        [Some(HardBounce), Some(Complaint), Some(Unsubscribe), None]
    );
    let a = rules().addresses(&events);
    assert_eq!(
        mailbox_of(&a, Scope::Mailbox),
        [("gone@example.com".to_owned(), SuppressionReason::Bounced)]
    );
    assert_eq!(
        mailbox_of(&a, Scope::Person),
        [
            ("abuse@example.com".to_owned(), SuppressionReason::Complaint),
            ("left@example.com".to_owned(), SuppressionReason::OptOut),
        ]
    );
    // The same `data` flattened into the properties classifies the same.
    let flat = webhook(
        "mailchimp",
        5,
        "cleaned",
        at(2),
        json!({"reason": "abuse", "email": "abuse@example.com"}),
    );
    assert_eq!(rules().signal(&flat), Some(Complaint));
}

#[test]
fn braze_currents_events() {
    let braze = |line, name: &str, ext: &str, email: &str| {
        let mut e = webhook(
            "braze",
            line,
            name,
            at(3),
            json!({
            "id": format!("ev{line}"), "user_id": "5e3c1c5d9a", "external_user_id": ext,
            "app_group_id": "g1", "campaign_id": "c1", "send_id": "s1", "time": 1749772800,
            "email_address": email, "bounce_reason": "550 mailbox unavailable"}),
        );
        e.user_id = Some(ext.to_owned());
        e
    };
    let events = vec![
        braze(1, "users.messages.email.Bounce", "u1", "u1@example.com"),
        braze(2, "users.messages.email.SoftBounce", "u2", "u2@example.com"),
        braze(3, "users.messages.email.MarkAsSpam", "u3", "u3@example.com"),
        braze(
            4,
            "users.messages.email.Unsubscribe",
            "u4",
            "u4@example.com",
        ),
        braze(5, "users.messages.email.Delivery", "u5", "u5@example.com"),
    ];
    use Signal::*;
    assert_eq!(
        signals(&events),
        [
            Some(HardBounce),
            Some(SoftBounce),
            Some(Complaint),
            Some(Unsubscribe),
            None
        ]
    );
    let a = rules().addresses(&events);
    assert_eq!(
        mailbox_of(&a, Scope::Mailbox),
        [("u1@example.com".to_owned(), SuppressionReason::Bounced)]
    );
    assert_eq!(mailbox_of(&a, Scope::Person).len(), 2);
}

#[test]
fn mandrill_message_events() {
    // Elements of Mailchimp Transactional's `mandrill_events` array: the address is the
    // message's (`msg.email`), so the rules read it from that property.
    let m = |line, name: &str, email: &str| {
        let body = json!({"event": name, "_id": format!("ev{line}"), "ts": 1749772800,
            "msg": {"ts": 1749772000, "email": email, "state": "bounced", "_id": format!("m{line}"),
                "bounce_description": "bad_mailbox"}});
        webhook("mandrill", line, name, at(5), body).with_email(email)
    };
    let events = vec![
        m(1, "hard_bounce", "h@example.com"),
        m(2, "soft_bounce", "s@example.com"),
        m(3, "spam", "c@example.com"),
        m(4, "unsub", "u@example.com"),
        m(5, "reject", "r@example.com"),
        m(6, "send", "ok@example.com"),
    ];
    use Signal::*;
    assert_eq!(
        signals(&events),
        [
            Some(HardBounce),
            Some(SoftBounce),
            Some(Complaint),
            Some(Unsubscribe),
            Some(HardBounce),
            None
        ]
    );
    let a = rules().addresses(&events);
    assert_eq!(
        mailbox_of(&a, Scope::Mailbox),
        [
            ("h@example.com".to_owned(), SuppressionReason::Bounced),
            ("r@example.com".to_owned(), SuppressionReason::Bounced)
        ]
    );
    assert_eq!(
        mailbox_of(&a, Scope::Person),
        [
            ("c@example.com".to_owned(), SuppressionReason::Complaint),
            ("u@example.com".to_owned(), SuppressionReason::OptOut)
        ]
    );
}

#[test]
fn klaviyo_metrics() {
    let k = |line, name: &str, props: Json| {
        webhook("klaviyo", line, name, at(4), props).with_email("k@example.com")
    };
    let events = vec![
        k(
            1,
            "Bounced Email",
            json!({"Bounce Type": "Soft Bounce", "$message": "m1"}),
        ),
        k(
            2,
            "Bounced Email",
            json!({"Bounce Type": "Hard Bounce", "$message": "m2"}),
        ),
        k(3, "Bounced Email", json!({"$message": "m3"})),
        k(4, "Marked Email as Spam", json!({"Campaign Name": "June"})),
        k(5, "Unsubscribed", json!({"Campaign Name": "June"})),
        k(6, "Unsubscribed from Email Marketing", json!({})),
        k(7, "Opened Email", json!({})),
    ];
    use Signal::*;
    assert_eq!(
        signals(&events),
        [
            Some(SoftBounce),
            Some(HardBounce),
            Some(HardBounce),
            Some(Complaint),
            Some(Unsubscribe),
            Some(Unsubscribe),
            None
        ]
    );
}

#[test]
fn segment_track_events_read_from_json_lines() {
    let text = r#"{"type":"track","event":"Email Bounced","userId":"u1","timestamp":"2025-06-05T10:00:00Z","context":{"traits":{"email":"u1@example.com"}},"properties":{"email_id":"18vzF7u3z","campaign_id":"ab"}}
{"type":"track","event":"Email Marked as Spam","userId":"u2","timestamp":"2025-06-05T10:00:00Z","properties":{"email_subject":"20% off"}}
{"type":"track","event":"Unsubscribed","userId":"u3","timestamp":"2025-06-05T10:00:00Z","properties":{"email":"u3@example.com"}}
{"type":"track","event":"Email Opened","userId":"u3","timestamp":"2025-06-05T10:00:00Z"}"#;
    let events: Vec<Event> = mergetag_sources::JsonLinesBuilder::new()
        .events("segment", text.as_bytes())
        .map(Result::unwrap)
        .collect();
    use Signal::*;
    assert_eq!(
        signals(&events),
        [Some(HardBounce), Some(Complaint), Some(Unsubscribe), None]
    );
    // Attributed by user id: the complaint names no address, so it is the person's.
    let mut profiles: Vec<Profile> = (1..=3)
        .map(|i| {
            let mut p = Profile::new(ProfileId(i), vec![RecordId::id("crm", i.to_string())]);
            p.set(
                "user_id",
                Value::from(format!("u{i}")),
                RecordId::id("crm", i.to_string()),
                None,
            );
            p
        })
        .collect();
    let a = rules().apply(&mut profiles, &events);
    assert!(
        profiles[0].suppressions.is_empty(),
        "a bounce naming an address is the mailbox's"
    );
    assert!(a.blocks("U1@example.com", Scope::Mailbox));
    assert_eq!(
        profiles[1].suppressions[0].reason,
        SuppressionReason::Complaint
    );
    assert_eq!(
        profiles[1].suppressions[0].record,
        RecordId::row("segment", 2)
    );
    assert_eq!(
        profiles[2].suppressions[0].reason,
        SuppressionReason::OptOut
    );
}

// ------------------------------------------------------------------------ soft bounces

#[test]
fn soft_bounces_suppress_at_the_threshold() {
    let soft = |line, day, id: &str, email: &str| {
        let mut e = sendgrid(
            line,
            json!({"email": email, "timestamp": at(day).timestamp(), "event": "bounce", "type": "blocked"}),
        );
        e.message_id = Some(id.to_owned());
        e
    };
    let mut events = vec![
        soft(1, 1, "a", "s@example.com"),
        soft(2, 2, "b", "S@Example.com"),
        soft(3, 2, "b", "s@example.com"), // the same delivery again: counts once
    ];
    assert!(
        rules().addresses(&events).is_empty(),
        "two soft bounces are below the default 3"
    );
    events.push(soft(4, 3, "c", "s+promo@example.com"));
    let a = rules().addresses(&events);
    let s = a.iter().next().unwrap();
    assert_eq!(
        (s.mailbox.as_deref(), s.scope, s.signal),
        (Some("s@example.com"), Scope::Mailbox, Signal::SoftBounce)
    );
    assert_eq!(
        s.suppression.record,
        RecordId::row("sendgrid", 4),
        "the bounce that reached the threshold"
    );

    let one = SuppressionRulesConfig::from_toml_str("soft_bounce_threshold = 1")
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(one.addresses(&events[..1]).len(), 1);
    let never = SuppressionRulesConfig::from_toml_str("soft_bounce_threshold = 0")
        .unwrap()
        .build()
        .unwrap();
    assert!(never.addresses(&events).is_empty());

    // Soft bounces that name no address count for the person they are attributed to.
    let anon: Vec<Event> = (1..=3)
        .map(|i| {
            webhook(
                "braze",
                i,
                "users.messages.email.SoftBounce",
                at(i as u32),
                json!({}),
            )
            .with_user_id("u1")
        })
        .collect();
    let refs: Vec<&Event> = anon.iter().collect();
    assert!(rules().profile_suppressions(&refs[..2]).is_empty());
    assert_eq!(
        rules().profile_suppressions(&refs)[0].reason,
        SuppressionReason::Bounced
    );
}

// ------------------------------------------------------------------------ merges and export

fn mapping() -> mergetag_mapping::Mapping {
    MappingConfig::from_toml_str(
        "[[variables]]\nname = \"fname\"\nsource = \"profile.first_name\"\nfallback = \"there\"",
    )
    .unwrap()
    .build()
    .unwrap()
}

/// A profile merged from two records: `current` chosen, `older` among the conflicts.
fn merged(id: u64, current: &str, older: &str) -> Profile {
    let a = RecordId::id("crm", format!("{id}a"));
    let b = RecordId::id("shop", format!("{id}b"));
    let mut p = Profile::new(ProfileId(id), vec![a.clone(), b.clone()]);
    p.set("email", Value::from(current), a, Some(at(20)));
    p.fields[0]
        .conflicts
        .push(mergetag_mapping::model::Sourced {
            value: Value::from(older),
            record: b,
            observed_at: Some(at(1)),
        });
    p
}

fn exported(
    b: &ExporterBuilder,
    profiles: &[Profile],
    events: &SuppressedAddresses,
) -> Vec<Option<Exclusion>> {
    let m = mapping();
    let t = BTreeMap::new();
    let rs: Vec<Recipient<'_>> = profiles
        .iter()
        .map(|p| Recipient {
            profile: p,
            traits: &t,
        })
        .collect();
    let e = b.build(&m).unwrap();
    let audience = e.export_with(&rs, events);
    assert_eq!(
        audience.report.exported + audience.report.excluded.values().sum::<usize>(),
        rs.len()
    );
    e.exclusions_with(&rs, events)
}

#[test]
fn an_external_list_naming_an_older_address_excludes_the_profile() {
    let profiles = vec![
        merged(1, "bob@new.example", "Bob.Smith@gmail.com"),
        merged(2, "ann@example.com", "ann@old.example"),
    ];
    let none = SuppressedAddresses::new();
    let mut b = ExporterBuilder::new(Platform::SendGrid);
    assert_eq!(exported(&b, &profiles, &none), [None, None]);
    b.suppress_address("bobsmith+news@googlemail.com");
    assert_eq!(
        exported(&b, &profiles, &none),
        [Some(Exclusion::AddressSuppressed), None]
    );
    for platform in [
        Platform::Mailchimp,
        Platform::Braze,
        Platform::Klaviyo,
        Platform::JsonLines,
    ] {
        let mut b = ExporterBuilder::new(platform);
        b.suppress_address("BOBSMITH@gmail.com");
        assert_eq!(
            exported(&b, &profiles, &none)[0],
            Some(Exclusion::AddressSuppressed),
            "{platform}"
        );
    }
}

#[test]
fn suppressing_a_gmail_address_excludes_its_other_spellings() {
    let mut p = Profile::new(ProfileId(1), vec![]);
    p.set(
        "email",
        Value::from("BobSmith+news@gmail.com"),
        RecordId::id("crm", "1"),
        None,
    );
    let mut b = ExporterBuilder::new(Platform::Braze);
    b.suppress_address("bob.smith@gmail.com");
    assert_eq!(
        exported(&b, &[p.clone()], &SuppressedAddresses::new()),
        [Some(Exclusion::AddressSuppressed)]
    );
    let mut b = ExporterBuilder::new(Platform::Braze);
    b.suppress_mailbox("bob.smith@googlemail.com");
    assert_eq!(
        exported(&b, &[p], &SuppressedAddresses::new()),
        [Some(Exclusion::AddressSuppressed)]
    );
}

#[test]
fn a_mailbox_is_emitted_once() {
    let mut a = Profile::new(ProfileId(1), vec![RecordId::id("crm", "1")]);
    a.set(
        "email",
        Value::from("Bob.Smith@gmail.com"),
        RecordId::id("crm", "1"),
        Some(at(1)),
    );
    let mut b = Profile::new(ProfileId(2), vec![RecordId::id("shop", "2")]);
    b.set(
        "email",
        Value::from("bobsmith+x@googlemail.com"),
        RecordId::id("shop", "2"),
        Some(at(2)),
    );
    let got = exported(
        &ExporterBuilder::new(Platform::Mailchimp),
        &[a.clone(), b.clone()],
        &SuppressedAddresses::new(),
    );
    assert_eq!(
        got,
        [Some(Exclusion::DuplicateAddress), None],
        "the more recent observation keeps it"
    );
    let got = exported(
        &ExporterBuilder::new(Platform::Mailchimp),
        &[b, a],
        &SuppressedAddresses::new(),
    );
    assert_eq!(got, [None, Some(Exclusion::DuplicateAddress)]);
}

#[test]
fn event_suppressions_survive_merges_and_reach_every_address() {
    // Profile 1 merges two records; the shop record's (older) address hard-bounced, and its
    // user id unsubscribed. Profile 2 holds the bounced mailbox now, in another spelling.
    // Profile 3's older address complained.
    let mut p1 = merged(1, "ann@new.example", "ann.lee@gmail.com");
    p1.set(
        "user_id",
        Value::from("shop-7"),
        RecordId::id("shop", "1b"),
        None,
    );
    let p2 = merged(2, "AnnLee+x@googlemail.com", "ann2@example.com");
    let p3 = merged(3, "cy@example.com", "cy@old.example");
    let p4 = merged(4, "dee@example.com", "dee@old.example");
    let events = vec![
        sendgrid(
            1,
            json!({"email": "ann.lee@gmail.com", "timestamp": at(5).timestamp(), "event": "bounce", "type": "bounce"}),
        ),
        webhook(
            "braze",
            1,
            "users.messages.email.Unsubscribe",
            at(6),
            json!({}),
        )
        .with_user_id("shop-7"),
        webhook("klaviyo", 1, "Marked Email as Spam", at(7), json!({}))
            .with_email("Cy+promo@old.example"),
        // A hard bounce of dee's old address only: dee is emailed at the current one.
        sendgrid(
            2,
            json!({"email": "dee@old.example", "timestamp": at(5).timestamp(), "event": "bounce"}),
        ),
    ];
    let mut profiles = vec![p1, p2, p3, p4];
    let addresses = rules().apply(&mut profiles, &events);
    assert!(
        profiles[0].is_suppressed(Channel::Email),
        "the unsubscribe reached the merged profile"
    );
    assert_eq!(
        profiles[0].suppressions[0].reason,
        SuppressionReason::OptOut
    );
    assert_eq!(
        profiles[0].suppressions[0].record,
        RecordId::row("braze", 1)
    );
    let got = exported(
        &ExporterBuilder::new(Platform::SendGrid),
        &profiles,
        &addresses,
    );
    assert_eq!(
        got,
        [
            Some(Exclusion::Suppressed(SuppressionReason::OptOut)),
            Some(Exclusion::AddressSuppressed), // sent to the bounced mailbox
            Some(Exclusion::AddressSuppressed), // complained from an older address, in another spelling
            None,
        ]
    );
    // A second apply adds nothing twice.
    let before = profiles[0].suppressions.clone();
    rules().apply(&mut profiles, &events);
    assert_eq!(profiles[0].suppressions, before);
}

#[test]
fn a_suppressed_profile_blocks_every_address_it_held() {
    let mut out = merged(1, "eve@new.example", "eve@old.example");
    out.suppressions.push(mergetag_mapping::model::Suppression {
        channel: Channel::Email,
        reason: SuppressionReason::OptOut,
        record: RecordId::id("crm", "1a"),
        at: None,
    });
    let mut twin = Profile::new(ProfileId(2), vec![]);
    twin.set(
        "email",
        Value::from("EVE+x@old.example"),
        RecordId::id("shop", "9"),
        None,
    );
    let got = exported(
        &ExporterBuilder::new(Platform::Klaviyo),
        &[out, twin],
        &SuppressedAddresses::new(),
    );
    assert_eq!(
        got,
        [
            Some(Exclusion::Suppressed(SuppressionReason::OptOut)),
            Some(Exclusion::AddressSuppressed)
        ]
    );
}

// ------------------------------------------------------------------------ determinism, config

#[test]
fn results_do_not_depend_on_event_order() {
    let mut events = Vec::new();
    for i in 0..30u64 {
        let kind = ["bounce", "spamreport", "unsubscribe"][(i % 3) as usize];
        let ty = if i % 2 == 0 { "blocked" } else { "bounce" };
        events.push(sendgrid(i, json!({"email": format!("p{}@example.com", i % 7), "timestamp": at(1 + (i % 5) as u32).timestamp(),
            "event": kind, "type": ty, "sg_event_id": format!("e{i}")})));
    }
    let r = rules();
    let want = r.addresses(&events);
    assert!(!want.is_empty());
    let refs: Vec<&Event> = events.iter().collect();
    let want_p = r.profile_events(&refs);
    for k in 1..events.len() {
        let mut shuffled = events.clone();
        shuffled.rotate_left(k);
        if k % 2 == 0 {
            shuffled.reverse();
        }
        assert_eq!(r.addresses(&shuffled), want, "rotation {k}");
        let refs: Vec<&Event> = shuffled.iter().collect();
        assert_eq!(r.profile_events(&refs), want_p, "rotation {k}");
    }
}

#[test]
fn configuration_overrides_and_errors() {
    let r = SuppressionRulesConfig::from_toml_str(
        r#"
        email_properties = ["contact.mail"]
        [[rules]]
        event = "group_unsubscribe"
        signal = "ignore"
        [[rules]]
        event = "Hard Bounce"
        signal = "hard_bounce"
        "#,
    )
    .unwrap()
    .build()
    .unwrap();
    let g = webhook(
        "sendgrid",
        1,
        "group_unsubscribe",
        at(1),
        json!({"email": "g@example.com"}),
    );
    assert_eq!(r.signal(&g), None);
    let h = webhook(
        "esp",
        1,
        "hard bounce",
        at(1),
        json!({"contact": {"mail": "h@example.com"}}),
    );
    assert_eq!(r.signal(&h), Some(Signal::HardBounce));
    assert_eq!(r.address(&h), Some("h@example.com"));
    // Built-in rules can be switched off.
    let off = SuppressionRulesConfig::from_json_str(r#"{"builtin_rules": false}"#)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(off.signal(&g), None);
    // Unknown keys and broken rules are errors that say where.
    let e = SuppressionRulesConfig::from_toml_str("soft_bounce = 2")
        .unwrap_err()
        .to_string();
    assert!(e.contains("soft_bounce"), "{e}");
    let e = SuppressionRulesConfig::from_toml_str(
        "[[rules]]\nevent = \"x\"\nvalues = [\"a\"]\nsignal = \"complaint\"",
    )
    .unwrap()
    .build()
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("rules[0].values:"), "{e}");
    assert_eq!(
        SuppressionRulesConfig::from_toml_str("").unwrap(),
        SuppressionRulesConfig::default()
    );
}

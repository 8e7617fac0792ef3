//! [`PostgresSink`]: golden profiles, their traits and the merge log, upserted in batches.

use std::collections::BTreeMap;

use mergetag_dedup::index::LogEntry;
use mergetag_model::{Profile, Value};
use postgres::{Client, NoTls};

use crate::error::{Error, Result};
use crate::sql::quote_ident;

/// The profiles written per transaction by default.
pub const DEFAULT_BATCH_PROFILES: usize = 500;

/// What [`PostgresSink::write`] did. Counts of rows that changed: a repeated write of the
/// same profiles changes none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkReport {
    /// Transactions committed.
    pub batches: u64,
    /// Profiles inserted or changed.
    pub profiles_written: u64,
    /// Profiles already stored as they are.
    pub profiles_unchanged: u64,
    /// Traits inserted or changed.
    pub traits_written: u64,
    /// Traits deleted because their profile no longer has them.
    pub traits_removed: u64,
    /// Merge-log entries inserted (entries already stored are left as they are).
    pub log_written: u64,
    /// Stored profiles deleted (with their traits) because every member record they had
    /// now belongs to another profile: merged away.
    pub profiles_removed: u64,
}

/// Writes golden profiles, their traits and the merge log to PostgreSQL.
///
/// Four tables, named with a prefix (default `mergetag_`) and created when missing:
/// `<prefix>profiles` (`profile_id bigint` primary key, `members`, `fields` and
/// `suppressions` as `jsonb`, `updated_at`), `<prefix>traits` (`profile_id`, `name`, `value
/// jsonb`), `<prefix>merge_log` (`seq bigint` primary key, `event`, `entry jsonb`) and
/// `<prefix>members` (`record jsonb` primary key, `profile_id`: which profile holds each
/// record; filled from the profiles already stored when it is created).
///
/// Each batch of profiles, with their traits and a slice of the merge log, is upserted in one
/// transaction: a failure leaves every earlier batch written and nothing of its own. Rows
/// that are already as they would be written are not touched, so repeating a run is
/// idempotent and reports nothing written.
///
/// When a run merges profiles, the profiles merged away are deleted in the same transaction
/// as the profile that took their records: a stored profile whose every member record now
/// belongs to a profile written under another id is gone, with its traits
/// ([`SinkReport::profiles_removed`]), so a repeated run leaves no stale rows. (A profile
/// whose records were all removed from the index, not merged, is not written again and stays;
/// delete it by id.) The merge log keeps the history.
///
/// ```no_run
/// use std::collections::BTreeMap;
/// use mergetag_model::{Profile, ProfileId, RecordId};
/// use mergetag_postgres::PostgresSink;
///
/// let profiles = vec![Profile::new(ProfileId(1), vec![RecordId::id("crm", "7")])];
/// let traits = vec![BTreeMap::new()];
/// let mut sink = PostgresSink::connect("warehouse", "host=127.0.0.1 user=app dbname=dw")?;
/// let report = sink.write(&profiles, &traits, &[])?;
/// assert_eq!(report.profiles_written + report.profiles_unchanged, 1);
/// # Ok::<(), mergetag_postgres::Error>(())
/// ```
pub struct PostgresSink {
    name: String,
    client: Client,
    prefix: String,
    batch: usize,
    created: bool,
}

impl std::fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSink")
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl PostgresSink {
    /// Connects to `url` (a `postgresql://` URL or libpq `key=value` pairs); `name` names the
    /// sink in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] when the server cannot be reached.
    pub fn connect(name: &str, url: &str) -> Result<PostgresSink> {
        let client = Client::connect(url, NoTls).map_err(|source| Error::Connect {
            name: name.to_owned(),
            source,
        })?;
        Ok(PostgresSink {
            name: name.to_owned(),
            client,
            prefix: "mergetag_".to_owned(),
            batch: DEFAULT_BATCH_PROFILES,
            created: false,
        })
    }

    /// Names the tables `<prefix>profiles`, `<prefix>traits`, `<prefix>merge_log` (default
    /// prefix `mergetag_`; it may name a schema: `crm.golden_`).
    pub fn table_prefix(&mut self, prefix: &str) -> &mut Self {
        prefix.clone_into(&mut self.prefix);
        self.created = false;
        self
    }

    /// The profiles written per transaction (default [`DEFAULT_BATCH_PROFILES`]).
    pub fn batch_profiles(&mut self, n: usize) -> &mut Self {
        self.batch = n.max(1);
        self
    }

    fn table(&self, what: &str) -> String {
        let full = format!("{}{what}", self.prefix);
        full.split('.')
            .map(quote_ident)
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Creates the tables when missing.
    ///
    /// # Errors
    ///
    /// [`Error::Sql`] when the server refuses.
    pub fn create_tables(&mut self) -> Result<()> {
        let (p, t, l, m) = (
            self.table("profiles"),
            self.table("traits"),
            self.table("merge_log"),
            self.table("members"),
        );
        let had_members: bool = self
            .client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&m])
            .map_err(|e| Error::sql(&self.name, "creating the tables", e))?
            .get(0);
        let ddl = format!(
            "CREATE TABLE IF NOT EXISTS {p} (profile_id bigint PRIMARY KEY, members jsonb NOT NULL, \
               fields jsonb NOT NULL, suppressions jsonb NOT NULL, \
               updated_at timestamptz NOT NULL DEFAULT now());
             CREATE TABLE IF NOT EXISTS {t} (profile_id bigint NOT NULL, name text NOT NULL, \
               value jsonb NOT NULL, PRIMARY KEY (profile_id, name));
             CREATE TABLE IF NOT EXISTS {l} (seq bigint PRIMARY KEY, event text NOT NULL, \
               entry jsonb NOT NULL);
             CREATE TABLE IF NOT EXISTS {m} (record jsonb PRIMARY KEY, \
               profile_id bigint NOT NULL);
             CREATE INDEX IF NOT EXISTS {members_index} ON {m} (profile_id);",
            members_index = quote_ident(&format!(
                "{}members_profile_idx",
                self.prefix.rsplit('.').next().unwrap_or_default()
            ))
        );
        self.client
            .batch_execute(&ddl)
            .map_err(|e| Error::sql(&self.name, "creating the tables", e))?;
        if !had_members {
            // Profiles written before the members table existed: their records, so that a
            // merge in the next run finds them.
            self.client
                .execute(
                    &format!(
                        "INSERT INTO {m} (record, profile_id) \
                         SELECT r, p.profile_id FROM {p} AS p, jsonb_array_elements(p.members) AS r \
                         ON CONFLICT (record) DO NOTHING"
                    ),
                    &[],
                )
                .map_err(|e| Error::sql(&self.name, "filling the members table", e))?;
        }
        self.created = true;
        Ok(())
    }

    /// Upserts `profiles` with their `traits` (`traits[i]` for `profiles[i]`; missing maps
    /// count as empty) and inserts the merge-log entries `log`, one transaction per batch.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] for a profile id or log number beyond `bigint`, [`Error::Sql`] naming
    /// the batch that failed (earlier batches stay written).
    pub fn write(
        &mut self,
        profiles: &[Profile],
        traits: &[BTreeMap<String, Value>],
        log: &[LogEntry],
    ) -> Result<SinkReport> {
        if !self.created {
            self.create_tables()?;
        }
        let mut report = SinkReport::default();
        let batches = profiles
            .len()
            .div_ceil(self.batch)
            .max(log.len().div_ceil(self.batch));
        for b in 0..batches {
            let lo = (b * self.batch).min(profiles.len());
            let hi = ((b + 1) * self.batch).min(profiles.len());
            let llo = (b * self.batch).min(log.len());
            let lhi = ((b + 1) * self.batch).min(log.len());
            let empty = BTreeMap::new();
            let batch_traits: Vec<&BTreeMap<String, Value>> =
                (lo..hi).map(|i| traits.get(i).unwrap_or(&empty)).collect();
            self.write_batch(
                b,
                &profiles[lo..hi],
                &batch_traits,
                &log[llo..lhi],
                &mut report,
            )?;
        }
        Ok(report)
    }

    fn write_batch(
        &mut self,
        b: usize,
        profiles: &[Profile],
        traits: &[&BTreeMap<String, Value>],
        log: &[LogEntry],
        report: &mut SinkReport,
    ) -> Result<()> {
        let name = self.name.clone();
        let doing = format!("writing batch {} of profiles", b + 1);
        let big = |what: &str, n: u64| -> Result<i64> {
            i64::try_from(n).map_err(|_| Error::Write {
                name: name.clone(),
                message: format!("{what} {n} is beyond postgresql's bigint"),
            })
        };
        let json = |v: &dyn erased::Ser| v.to_json();
        let mut ids = Vec::with_capacity(profiles.len());
        let (mut members, mut fields, mut suppressions) = (Vec::new(), Vec::new(), Vec::new());
        let (mut t_ids, mut t_names, mut t_values) = (Vec::new(), Vec::new(), Vec::new());
        let (mut m_records, mut m_ids) = (Vec::new(), Vec::new());
        for (p, t) in profiles.iter().zip(traits) {
            let id = big("profile id", p.id.0)?;
            ids.push(id);
            for r in &p.members {
                m_records.push(json(r));
                m_ids.push(id);
            }
            members.push(json(&p.members));
            fields.push(json(&p.fields));
            suppressions.push(json(&p.suppressions));
            for (k, v) in *t {
                t_ids.push(id);
                t_names.push(k.clone());
                t_values.push(json(v));
            }
        }
        let (mut seqs, mut events, mut entries) = (Vec::new(), Vec::new(), Vec::new());
        for e in log {
            seqs.push(big("merge-log number", e.seq)?);
            let entry = json(e);
            events.push(
                entry
                    .get("event")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            );
            entries.push(entry);
        }
        let (p, t, l, m) = (
            self.table("profiles"),
            self.table("traits"),
            self.table("merge_log"),
            self.table("members"),
        );
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| Error::sql(&name, doing.clone(), e))?;
        let sql_err = |e| Error::sql(&name, doing.clone(), e);
        let written = tx
            .execute(
                &format!(
                    "INSERT INTO {p} AS p (profile_id, members, fields, suppressions) \
                     SELECT * FROM unnest($1::bigint[], $2::jsonb[], $3::jsonb[], $4::jsonb[]) \
                     ON CONFLICT (profile_id) DO UPDATE SET members = excluded.members, \
                       fields = excluded.fields, suppressions = excluded.suppressions, \
                       updated_at = now() \
                     WHERE (p.members, p.fields, p.suppressions) IS DISTINCT FROM \
                       (excluded.members, excluded.fields, excluded.suppressions)"
                ),
                &[&ids, &members, &fields, &suppressions],
            )
            .map_err(sql_err)?;
        let traits_written = tx
            .execute(
                &format!(
                    "INSERT INTO {t} AS t (profile_id, name, value) \
                     SELECT * FROM unnest($1::bigint[], $2::text[], $3::jsonb[]) \
                     ON CONFLICT (profile_id, name) DO UPDATE SET value = excluded.value \
                     WHERE t.value IS DISTINCT FROM excluded.value"
                ),
                &[&t_ids, &t_names, &t_values],
            )
            .map_err(sql_err)?;
        let traits_removed = tx
            .execute(
                &format!(
                    "DELETE FROM {t} AS t WHERE t.profile_id = ANY($1) AND NOT EXISTS \
                     (SELECT 1 FROM unnest($2::bigint[], $3::text[]) AS k(id, name) \
                      WHERE k.id = t.profile_id AND k.name = t.name)"
                ),
                &[&ids, &t_ids, &t_names],
            )
            .map_err(sql_err)?;
        // Which profile holds each record now: records that moved name the profiles they left;
        // records a written profile no longer has are let go.
        let left: Vec<i64> = tx
            .query(
                &format!(
                    "WITH n AS (SELECT * FROM unnest($1::jsonb[], $2::bigint[]) AS n(record, profile_id)), \
                     moved AS (SELECT DISTINCT m.profile_id FROM {m} AS m JOIN n ON m.record = n.record \
                       WHERE m.profile_id <> n.profile_id), \
                     dropped AS (DELETE FROM {m} AS m WHERE m.profile_id = ANY($3) AND NOT EXISTS \
                       (SELECT 1 FROM n WHERE n.record = m.record AND n.profile_id = m.profile_id) \
                       RETURNING m.profile_id) \
                     SELECT profile_id FROM moved"
                ),
                &[&m_records, &m_ids, &ids],
            )
            .map_err(sql_err)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        tx.execute(
            &format!(
                "INSERT INTO {m} AS m (record, profile_id) \
                 SELECT * FROM unnest($1::jsonb[], $2::bigint[]) \
                 ON CONFLICT (record) DO UPDATE SET profile_id = excluded.profile_id \
                 WHERE m.profile_id <> excluded.profile_id"
            ),
            &[&m_records, &m_ids],
        )
        .map_err(sql_err)?;
        // A profile all of whose records are now another's was merged away.
        let gone: Vec<i64> = tx
            .query(
                &format!(
                    "DELETE FROM {p} AS p WHERE p.profile_id = ANY($1) AND NOT (p.profile_id = ANY($2)) \
                     AND NOT EXISTS (SELECT 1 FROM {m} AS m WHERE m.profile_id = p.profile_id) \
                     RETURNING p.profile_id"
                ),
                &[&left, &ids],
            )
            .map_err(sql_err)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !gone.is_empty() {
            tx.execute(
                &format!("DELETE FROM {t} WHERE profile_id = ANY($1)"),
                &[&gone],
            )
            .map_err(sql_err)?;
        }
        let log_written = tx
            .execute(
                &format!(
                    "INSERT INTO {l} (seq, event, entry) \
                     SELECT * FROM unnest($1::bigint[], $2::text[], $3::jsonb[]) \
                     ON CONFLICT (seq) DO NOTHING"
                ),
                &[&seqs, &events, &entries],
            )
            .map_err(sql_err)?;
        tx.commit().map_err(sql_err)?;
        report.batches += 1;
        report.profiles_written += written;
        report.profiles_unchanged += profiles.len() as u64 - written;
        report.traits_written += traits_written;
        report.traits_removed += traits_removed;
        report.log_written += log_written;
        report.profiles_removed += gone.len() as u64;
        Ok(())
    }
}

mod erased {
    /// Serialization to JSON through a trait object, for one closure over several types.
    pub(super) trait Ser {
        fn to_json(&self) -> serde_json::Value;
    }

    impl<T: serde::Serialize> Ser for T {
        fn to_json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

//! Where data lives: a local path or an object-store URL, resolved to a store and a prefix.

use std::fmt;
use std::path::Path as FsPath;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;

use crate::error::{Error, Result};

/// A place in an object store: a store and a path (a file, or a prefix that holds files).
///
/// Parsed from a local path (relative paths against a base directory) or a URL: `file:///`
/// always; with the features of the same names, `s3://bucket/prefix` (feature `aws`),
/// `gs://bucket/prefix` (feature `gcp`) and `az://container/prefix`,
/// `abfss://container@account.dfs.core.windows.net/prefix` (feature `azure`). Each store is
/// configured by its own environment variables, as its own tools are (`AWS_*`, `GOOGLE_*`,
/// `AZURE_*`), and by [`Location::parse_with`]'s options, which take precedence (such as
/// `aws_endpoint`, `aws_region`, `aws_allow_http`, `google_service_account`,
/// `azure_storage_account_name`, `azure_storage_use_emulator`; see object_store's
/// configuration keys). A scheme whose feature is off is refused, naming the feature.
///
/// ```
/// use mergetag_lake::Location;
///
/// let here = Location::parse("data/customers", "/srv/lake")?;
/// assert_eq!(here.to_string(), "file:///srv/lake/data/customers");
/// let ftp = Location::parse("ftp://host/x", ".");
/// assert!(ftp.unwrap_err().to_string().contains("unknown scheme"));
/// # Ok::<(), mergetag_lake::Error>(())
/// ```
#[derive(Clone)]
pub struct Location {
    store: Arc<dyn ObjectStore>,
    path: Path,
    url: String,
    /// The URL's scheme and authority (`s3://bucket`, `file://`), for registering the store.
    base: String,
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Location").field(&self.url).finish()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl Location {
    /// Parses `location`, a local path (resolved against `base_dir` when relative) or a URL,
    /// with object-store options from the environment only.
    ///
    /// # Errors
    ///
    /// [`Error::Location`] for a URL that cannot be parsed or a scheme that is not built in.
    pub fn parse(location: &str, base_dir: impl AsRef<FsPath>) -> Result<Location> {
        Location::parse_with(location, base_dir, std::iter::empty::<(String, String)>())
    }

    /// Parses `location` as [`Location::parse`] does, with object-store `options` that take
    /// precedence over the environment's (`("aws_endpoint", "http://127.0.0.1:9000")`).
    ///
    /// # Errors
    ///
    /// As [`Location::parse`].
    pub fn parse_with(
        location: &str,
        base_dir: impl AsRef<FsPath>,
        options: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Location> {
        let trimmed = location.trim();
        if trimmed.is_empty() {
            return Err(Error::location(location, "the location is empty"));
        }
        match trimmed.split_once("://") {
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("file") => {
                let url = url::Url::parse(trimmed)
                    .map_err(|e| Error::location(location, format!("not a valid URL ({e})")))?;
                let fs = url.to_file_path().map_err(|()| {
                    Error::location(location, "a file URL needs an absolute path (file:///...)")
                })?;
                Location::local(location, &fs)
            }
            Some((scheme, _)) => Location::remote(location, scheme, options),
            None => {
                let p = FsPath::new(trimmed);
                let p = if p.is_absolute() {
                    p.to_owned()
                } else {
                    base_dir.as_ref().join(p)
                };
                Location::local(location, &p)
            }
        }
    }

    /// The local directory or file `fs` (which need not exist yet).
    fn local(given: &str, fs: &FsPath) -> Result<Location> {
        let absolute = std::path::absolute(fs).map_err(|source| Error::Io {
            path: fs.display().to_string(),
            source,
        })?;
        let path = Path::from_absolute_path(&absolute).map_err(|e| {
            Error::location(given, format!("not usable as an object-store path ({e})"))
        })?;
        Ok(Location {
            store: Arc::new(LocalFileSystem::new()),
            url: format!("file:///{path}"),
            path,
            base: "file://".into(),
        })
    }

    fn remote(
        given: &str,
        scheme: &str,
        options: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Location> {
        let url = url::Url::parse(given.trim())
            .map_err(|e| Error::location(given, format!("not a valid URL ({e})")))?;
        let feature = match scheme.to_ascii_lowercase().as_str() {
            "s3" | "s3a" => "aws",
            "gs" => "gcp",
            "az" | "abfs" | "abfss" | "adl" | "azure" => "azure",
            _ => {
                return Err(Error::location(
                    given,
                    "unknown scheme; use a local path, file:///..., s3://, gs:// or az://",
                ));
            }
        };
        let built = match feature {
            "aws" => cfg!(feature = "aws"),
            "gcp" => cfg!(feature = "gcp"),
            _ => cfg!(feature = "azure"),
        };
        if !built {
            return Err(Error::location(
                given,
                format!(
                    "the `{scheme}` object store is not built in; enable the feature `{feature}` of mergetag-lake"
                ),
            ));
        }
        // Each store reads its own variables, as its own tools do: AWS_*, GOOGLE_*, AZURE_*.
        let prefix = match feature {
            "aws" => "AWS_",
            "gcp" => "GOOGLE_",
            _ => "AZURE_",
        };
        let mut opts: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        opts.extend(options);
        let (store, path) =
            object_store::parse_url_opts(&url, opts).map_err(|source| Error::Store {
                location: given.to_owned(),
                operation: "configure",
                source,
            })?;
        let base = format!("{}://{}", url.scheme(), url.authority());
        Ok(Location {
            store: Arc::from(store),
            url: format!("{base}/{path}"),
            path,
            base,
        })
    }

    /// The object store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The path in the store: a file, or a prefix.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's own URL (`s3://bucket`, `file://`), under which DataFusion finds it.
    pub fn store_url(&self) -> &str {
        &self.base
    }

    /// The file system path of `key` (an object of this location's store) when the store
    /// is the local file system, as that store maps it; `None` for any other store.
    pub(crate) fn local_file(&self, key: &Path) -> Option<std::path::PathBuf> {
        if self.base != "file://" {
            return None;
        }
        LocalFileSystem::new().path_to_filesystem(key).ok()
    }

    /// The location as a URL (`file:///srv/lake/customers`, `s3://bucket/customers`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The location `name` below this one (`profiles.parquet` in an output directory).
    pub fn child(&self, name: &str) -> Location {
        let path = self.path.clone().join(name);
        Location {
            store: self.store.clone(),
            url: format!("{}/{}", self.base, path),
            path,
            base: self.base.clone(),
        }
    }
}

//! Reading standard input line by line, as bytes, so that a line that is not UTF-8 is reported
//! instead of stopping the run.

use std::io::BufRead;

use crate::error::{Error, Result};

/// The reason given for a line that is not UTF-8.
pub(crate) const NOT_UTF8: &str = "the line is not valid UTF-8";

/// One input line, without its line break (`\n` or `\r\n`).
pub(crate) enum Line<'a> {
    Text(&'a str),
    /// Not UTF-8: the lossy decoding, for display.
    NotUtf8(&'a str),
}

/// Calls `f` on each line of `input`. A last line without a line break counts; the empty
/// "line" after a final line break does not.
pub(crate) fn for_each_line(
    mut input: impl BufRead,
    mut f: impl FnMut(Line<'_>) -> Result<()>,
) -> Result<()> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io("<stdin>", e))?;
        if n == 0 {
            return Ok(());
        }
        let mut line = buf.as_slice();
        if let Some(l) = line.strip_suffix(b"\n") {
            line = l;
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
        }
        match std::str::from_utf8(line) {
            Ok(text) => f(Line::Text(text))?,
            Err(_) => {
                let lossy = String::from_utf8_lossy(line);
                f(Line::NotUtf8(&lossy))?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        for_each_line(input, |l| {
            out.push(match l {
                Line::Text(t) => format!("ok:{t}"),
                Line::NotUtf8(t) => format!("bad:{t}"),
            });
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn lines() {
        assert_eq!(collect(b"a\r\nb\n\nc"), ["ok:a", "ok:b", "ok:", "ok:c"]);
        assert_eq!(collect(b"R\xe9e\nx\n"), ["bad:R\u{fffd}e", "ok:x"]);
        assert!(collect(b"").is_empty());
    }
}

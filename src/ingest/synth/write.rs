//! Buffered output: CSV and JSON Lines sinks that name their file in every
//! error, and a fast RFC 3339 formatter for the hot event loop.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::SynthError;
use super::lifecycle::DAY;

/// Bytes buffered per output file before a write to disk.
const BUFFER: usize = 256 * 1024;

/// A CSV file being written row by row.
pub(crate) struct CsvSink {
    /// Where the file is, for error messages.
    path: PathBuf,
    /// The buffered CSV writer.
    out: csv::Writer<File>,
}

impl CsvSink {
    /// Creates (truncates) `dir/name` and writes the header row.
    pub(crate) fn create(dir: &Path, name: &str, header: &[&str]) -> Result<Self, SynthError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|source| write_error(&path, source))?;
        let out = csv::WriterBuilder::new()
            .buffer_capacity(BUFFER)
            .from_writer(file);
        let mut sink = Self { path, out };
        sink.row(header)?;
        Ok(sink)
    }

    /// Writes one record.
    pub(crate) fn row<I, T>(&mut self, fields: I) -> Result<(), SynthError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.out
            .write_record(fields)
            .map_err(|e| write_error(&self.path, e.into()))
    }

    /// Flushes the file and returns its path.
    pub(crate) fn finish(mut self) -> Result<PathBuf, SynthError> {
        self.out.flush().map_err(|e| write_error(&self.path, e))?;
        Ok(self.path)
    }
}

/// A JSON Lines file being written one value per line.
pub(crate) struct JsonLinesSink {
    /// Where the file is, for error messages.
    path: PathBuf,
    /// The buffered file.
    out: BufWriter<File>,
}

impl JsonLinesSink {
    /// Creates (truncates) `dir/name`.
    pub(crate) fn create(dir: &Path, name: &str) -> Result<Self, SynthError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|source| write_error(&path, source))?;
        Ok(Self {
            path,
            out: BufWriter::with_capacity(BUFFER, file),
        })
    }

    /// Writes one value as a line of JSON.
    pub(crate) fn write<T: Serialize>(&mut self, value: &T) -> Result<(), SynthError> {
        serde_json::to_writer(&mut self.out, value)
            .map_err(|e| write_error(&self.path, e.into()))?;
        self.out
            .write_all(b"\n")
            .map_err(|e| write_error(&self.path, e))
    }

    /// Flushes the file and returns its path.
    pub(crate) fn finish(mut self) -> Result<PathBuf, SynthError> {
        self.out.flush().map_err(|e| write_error(&self.path, e))?;
        Ok(self.path)
    }
}

fn write_error(path: &Path, source: std::io::Error) -> SynthError {
    SynthError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Formats Unix seconds as RFC 3339 UTC, `2026-05-03T10:11:12Z`, without
/// allocating (years 0000-9999; the window validation keeps us inside).
pub(crate) fn rfc3339(secs: i64) -> [u8; 20] {
    let (year, month, day) = civil_from_days(secs.div_euclid(DAY));
    let of_day = secs.rem_euclid(DAY);
    let mut out = *b"0000-00-00T00:00:00Z";
    put_digits(&mut out[0..4], year.clamp(0, 9999));
    put_digits(&mut out[5..7], month);
    put_digits(&mut out[8..10], day);
    put_digits(&mut out[11..13], of_day / 3600);
    put_digits(&mut out[14..16], of_day % 3600 / 60);
    put_digits(&mut out[17..19], of_day % 60);
    out
}

/// [`rfc3339`] as an owned string.
pub(crate) fn rfc3339_string(secs: i64) -> String {
    rfc3339(secs).iter().map(|&b| char::from(b)).collect()
}

/// Writes `value` as zero-padded decimal digits filling `slot`.
fn put_digits(slot: &mut [u8], mut value: i64) {
    for byte in slot.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Year, month, day of a count of days since 1970-01-01 (H. Hinnant's
/// `civil_from_days`, proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, SecondsFormat};

    #[test]
    fn timestamps_format_like_chrono_rfc3339() {
        let mut secs: i64 = 315_532_800;
        while secs < 4_102_444_800 {
            let expected = DateTime::from_timestamp(secs, 0)
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                .unwrap_or_default();
            assert_eq!(rfc3339_string(secs), expected);
            secs += 7_919_993;
        }
        assert_eq!(rfc3339_string(1_793_491_199), "2026-10-31T23:59:59Z");
        assert_eq!(rfc3339_string(951_782_400), "2000-02-29T00:00:00Z");
    }
}

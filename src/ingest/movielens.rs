//! `herald import --format movielens DIR`: the MovieLens-100k files, either
//! RecBole's atomic files (`ml-100k.inter`, `.user`, `.item`: tab separated
//! with typed headers such as `user_id:token`) or the GroupLens originals
//! (`u.data`, `u.user`, `u.item`: tab or pipe separated, latin-1).
//!
//! Users keep age and gender as columns and occupation and zip code as
//! attributes; items take their first genre as `category` and keep every
//! genre in the `genres` attribute; each rating becomes an event named
//! `rating` whose `value` is the rating. The dataset's licence forbids
//! redistribution: it is fetched at test time, never committed.

use crate::domain::{EventKind, EventRecord, ItemId, ItemRecord, UserId, UserRecord};
use crate::store::{ImportTxn, Store, StoreError, UserColumns};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// What a MovieLens import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MovieLensReport {
    /// Users imported.
    pub users: u64,
    /// Movies imported.
    pub items: u64,
    /// Ratings imported (new ones; a re-import adds none).
    pub ratings: u64,
}

/// Why a MovieLens folder could not be imported; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum MovieLensError {
    /// Neither layout was found.
    #[error("{0}: no MovieLens files (expected ml-100k.inter/.user/.item or u.data/u.user/u.item)")]
    NotFound(String),
    /// A file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line does not have the expected shape.
    #[error("{file}:{line}: {reason}")]
    Line {
        /// The file.
        file: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The database failed; the import was rolled back.
    #[error("{0}; nothing was imported")]
    Store(#[from] StoreError),
}

/// The three files of one layout.
struct Files {
    users: PathBuf,
    items: PathBuf,
    ratings: PathBuf,
    /// RecBole (typed header, tabs, UTF-8) or GroupLens (no header, latin-1).
    recbole: bool,
}

fn locate(dir: &Path) -> Result<Files, MovieLensError> {
    let recbole = |ext: &str| dir.join(format!("ml-100k.{ext}"));
    if recbole("inter").is_file() {
        return Ok(Files {
            users: recbole("user"),
            items: recbole("item"),
            ratings: recbole("inter"),
            recbole: true,
        });
    }
    if dir.join("u.data").is_file() {
        return Ok(Files {
            users: dir.join("u.user"),
            items: dir.join("u.item"),
            ratings: dir.join("u.data"),
            recbole: false,
        });
    }
    Err(MovieLensError::NotFound(dir.display().to_string()))
}

/// The GroupLens genre flags of `u.item`, in file order.
const GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// A file's data lines split into fields, with 1-based line numbers.
fn lines(
    path: &Path,
    recbole: bool,
    sep: char,
) -> Result<Vec<(usize, Vec<String>)>, MovieLensError> {
    let bytes = std::fs::read(path).map_err(|source| MovieLensError::Read {
        file: path.display().to_string(),
        source,
    })?;
    // GroupLens files are latin-1: every byte is one code point.
    let text: String = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
    };
    let skip = usize::from(recbole);
    Ok(text
        .lines()
        .enumerate()
        .skip(skip)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.split(sep).map(|f| f.trim().to_owned()).collect()))
        .collect())
}

fn bad(path: &Path, line: usize, reason: impl Into<String>) -> MovieLensError {
    MovieLensError::Line {
        file: path.display().to_string(),
        line,
        reason: reason.into(),
    }
}

fn field<'a>(
    path: &Path,
    line: usize,
    fields: &'a [String],
    i: usize,
) -> Result<&'a str, MovieLensError> {
    fields
        .get(i)
        .map(String::as_str)
        .ok_or_else(|| bad(path, line, format!("expected at least {} fields", i + 1)))
}

fn user_row(path: &Path, line: usize, f: &[String]) -> Result<UserRecord, MovieLensError> {
    let id = field(path, line, f, 0)?;
    let user_id = UserId::parse(id).map_err(|e| bad(path, line, format!("user_id: {e}")))?;
    let age = field(path, line, f, 1)?.parse::<i32>().ok();
    let mut attributes = Map::new();
    attributes.insert("occupation".into(), json!(field(path, line, f, 3)?));
    attributes.insert("zip_code".into(), json!(field(path, line, f, 4)?));
    Ok(UserRecord {
        user_id,
        email: None,
        phone: None,
        timezone: None,
        locale: None,
        country: None,
        city: None,
        age,
        gender: Some(field(path, line, f, 2)?.to_ascii_lowercase()),
        signup_at: None,
        consents: Vec::new(),
        attributes,
    })
}

fn item_row(
    path: &Path,
    line: usize,
    f: &[String],
    recbole: bool,
) -> Result<ItemRecord, MovieLensError> {
    let id = field(path, line, f, 0)?;
    let item_id = ItemId::parse(id).map_err(|e| bad(path, line, format!("item_id: {e}")))?;
    let (title, year, genres) = if recbole {
        let genres: Vec<String> = f.get(3).map_or(Vec::new(), |g| {
            g.split_whitespace().map(str::to_owned).collect()
        });
        (
            field(path, line, f, 1)?.to_owned(),
            f.get(2).cloned(),
            genres,
        )
    } else {
        let flags = f.get(5..).unwrap_or(&[]);
        let genres = GENRES
            .iter()
            .zip(flags)
            .filter(|(_, flag)| flag.as_str() == "1")
            .map(|(g, _)| (*g).to_owned())
            .collect();
        let date = field(path, line, f, 2)?;
        (
            field(path, line, f, 1)?.to_owned(),
            date.rsplit('-').next().map(str::to_owned),
            genres,
        )
    };
    let mut attributes = Map::new();
    attributes.insert("genres".into(), Value::from(genres.clone()));
    if let Some(year) = year.filter(|y| !y.is_empty()) {
        attributes.insert("release_year".into(), json!(year));
    }
    Ok(ItemRecord {
        item_id,
        title: if title.is_empty() {
            id.to_owned()
        } else {
            title
        },
        category: genres.first().cloned(),
        brand: None,
        price: None,
        currency: None,
        url: None,
        image_url: None,
        in_stock: true,
        created_at: None,
        attributes,
    })
}

fn rating_row(path: &Path, line: usize, f: &[String]) -> Result<EventRecord, MovieLensError> {
    let user_id = UserId::parse(field(path, line, f, 0)?).map_err(|e| bad(path, line, e.0))?;
    let item_id = ItemId::parse(field(path, line, f, 1)?).map_err(|e| bad(path, line, e.0))?;
    let rating: f64 = field(path, line, f, 2)?
        .parse()
        .map_err(|_| bad(path, line, "rating is not a number"))?;
    let seconds: f64 = field(path, line, f, 3)?
        .parse()
        .map_err(|_| bad(path, line, "timestamp is not a number"))?;
    Ok(EventRecord {
        user_id,
        item_id: Some(item_id),
        event: EventKind::Custom("rating".into()),
        ts: (seconds * 1000.0) as i64,
        value: Some(rating),
    })
}

/// Imports a MovieLens-100k folder in one transaction.
pub async fn import_dir(
    store: &Store,
    dir: &Path,
    now: i64,
) -> Result<MovieLensReport, MovieLensError> {
    let files = locate(dir)?;
    let sep = if files.recbole { '\t' } else { '|' };
    let users = parse_all(&files.users, files.recbole, sep, user_row)?;
    let items = parse_all(&files.items, files.recbole, sep, |p, l, f| {
        item_row(p, l, f, files.recbole)
    })?;
    let ratings = parse_all(&files.ratings, files.recbole, '\t', rating_row)?;
    let txn = store.begin_bulk_import().await?;
    match write(&txn, &users, &items, &ratings, now).await {
        Ok(report) => {
            txn.commit().await?;
            Ok(report)
        }
        Err(e) => {
            let _ = txn.rollback().await;
            Err(e.into())
        }
    }
}

fn parse_all<T>(
    path: &Path,
    recbole: bool,
    sep: char,
    parse: impl Fn(&Path, usize, &[String]) -> Result<T, MovieLensError>,
) -> Result<Vec<T>, MovieLensError> {
    lines(path, recbole, sep)?
        .iter()
        .map(|(line, fields)| parse(path, *line, fields))
        .collect()
}

async fn write(
    txn: &ImportTxn,
    users: &[UserRecord],
    items: &[ItemRecord],
    ratings: &[EventRecord],
    now: i64,
) -> Result<MovieLensReport, StoreError> {
    let columns = UserColumns {
        typed: vec!["age", "gender"],
        attributes: true,
    };
    for chunk in users.chunks(1000) {
        txn.upsert_users(chunk, &columns, now).await?;
    }
    for chunk in items.chunks(1000) {
        txn.upsert_items(chunk, true, now).await?;
    }
    let mut inserted = 0;
    for chunk in ratings.chunks(2000) {
        inserted += txn.insert_events(chunk).await?;
    }
    Ok(MovieLensReport {
        users: users.len() as u64,
        items: items.len() as u64,
        ratings: inserted,
    })
}

//! Who the users are: country, zone, city, locale, name, contact details,
//! age, gender and consents, i.e. one row of `users.csv`.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::geo::{Country, draw_country, draw_phone, draw_place};
use super::lexicon::{ascii_fold, names};
use super::rng::{chance, one_of, pick};
use super::write::rfc3339_string;

/// The header of `users.csv`; `first_name` is an extra attribute column.
pub(crate) const USERS_HEADER: [&str; 14] = [
    "user_id",
    "email",
    "phone",
    "timezone",
    "locale",
    "country",
    "city",
    "age",
    "gender",
    "signup_at",
    "consent_push",
    "consent_email",
    "consent_sms",
    "first_name",
];

/// Shares of users with unknown details.
const NO_EMAIL: f64 = 0.02;
const NO_PHONE: f64 = 0.04;
const NO_AGE: f64 = 0.03;
/// Consent rates.
const PUSH_CONSENT: f64 = 0.7;
const EMAIL_CONSENT: f64 = 0.6;
const SMS_CONSENT: f64 = 0.25;
/// Email domains (all reserved for examples) and their shares.
const DOMAINS: [(&str, f64); 4] = [
    ("example.com", 0.55),
    ("example.org", 0.2),
    ("example.net", 0.15),
    ("mail.example.com", 0.1),
];
/// Genders (`""` = not given) and their shares.
const GENDERS: [(&str, f64); 4] = [("f", 0.485), ("m", 0.47), ("x", 0.015), ("", 0.03)];

/// One user's public attributes.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    /// `u0001`-style id.
    pub id: String,
    /// Lowercase ASCII address, unique (it carries the user number); may be empty.
    pub email: String,
    /// E.164 number of the user's country; may be empty.
    pub phone: String,
    /// Country of residence.
    pub country: &'static Country,
    /// IANA zone of the city.
    pub timezone: &'static str,
    /// BCP 47 locale.
    pub locale: &'static str,
    /// City of residence.
    pub city: &'static str,
    /// Age in years, 16..=80, if known.
    pub age: Option<u8>,
    /// `f`, `m`, `x` or empty.
    pub gender: &'static str,
    /// Given name (UTF-8).
    pub first_name: &'static str,
    /// Consents for push, email and SMS.
    pub consents: [bool; 3],
}

/// Draws user `index` (0-based) with an id padded to `width` digits.
pub(crate) fn draw_profile(rng: &mut ChaCha8Rng, index: u64, width: usize) -> Profile {
    let country = draw_country(rng);
    let (timezone, city) = draw_place(rng, country);
    let locale = pick(rng, country.locales).unwrap_or("en-US");
    let gender = pick(rng, &GENDERS).unwrap_or("");
    let (first_name, last_name) = draw_name(rng, country, gender);
    let email = if chance(rng, NO_EMAIL) {
        String::new()
    } else {
        draw_email(rng, first_name, last_name, index + 1)
    };
    let phone = if chance(rng, NO_PHONE) {
        String::new()
    } else {
        draw_phone(rng, country)
    };
    let age = if chance(rng, NO_AGE) {
        None
    } else {
        Some(draw_age(rng))
    };
    let consents = [
        chance(rng, PUSH_CONSENT),
        !email.is_empty() && chance(rng, EMAIL_CONSENT),
        !phone.is_empty() && chance(rng, SMS_CONSENT),
    ];
    Profile {
        id: format!("u{:0width$}", index + 1),
        email,
        phone,
        country,
        timezone,
        locale,
        city,
        age,
        gender,
        first_name,
        consents,
    }
}

/// A first and last name from the country's name pools, matching the gender.
fn draw_name(
    rng: &mut ChaCha8Rng,
    country: &Country,
    gender: &str,
) -> (&'static str, &'static str) {
    let region = pick(rng, country.names).unwrap_or(super::lexicon::Region::Anglo);
    let (female, male, last) = names(region);
    let female_name = match gender {
        "f" => true,
        "m" => false,
        _ => chance(rng, 0.5),
    };
    let pool = if female_name { female } else { male };
    let first = one_of(rng, pool).copied().unwrap_or("Alex");
    (first, one_of(rng, last).copied().unwrap_or("Doe"))
}

/// `first.last123@example.com` and variants; `number` makes it unique.
fn draw_email(rng: &mut ChaCha8Rng, first: &str, last: &str, number: u64) -> String {
    let first = non_empty(ascii_fold(first), "user");
    let last = non_empty(ascii_fold(last), "shopper");
    let domain = pick(rng, &DOMAINS).unwrap_or("example.com");
    let initial = &first[..1];
    match rng.random_range(0..4u8) {
        0 => format!("{first}.{last}{number}@{domain}"),
        1 => format!("{first}{last}{number}@{domain}"),
        2 => format!("{initial}{last}{number}@{domain}"),
        _ => format!("{first}_{last}{number}@{domain}"),
    }
}

fn non_empty(value: String, fallback: &str) -> String {
    if value.is_empty() {
        fallback.to_string()
    } else {
        value
    }
}

/// An adult-skewed age, 16..=80.
fn draw_age(rng: &mut ChaCha8Rng) -> u8 {
    let z: f64 = StandardNormal.sample(rng);
    (36.0 + 13.0 * z).round().clamp(16.0, 80.0) as u8
}

impl Profile {
    /// The `users.csv` record, with the sign-up time.
    pub(crate) fn record(&self, signup: i64) -> [String; 14] {
        let flag = |b: bool| if b { "true" } else { "false" }.to_string();
        [
            self.id.clone(),
            self.email.clone(),
            self.phone.clone(),
            self.timezone.to_string(),
            self.locale.to_string(),
            self.country.code.to_string(),
            self.city.to_string(),
            self.age.map(|a| a.to_string()).unwrap_or_default(),
            self.gender.to_string(),
            rfc3339_string(signup),
            flag(self.consents[0]),
            flag(self.consents[1]),
            flag(self.consents[2]),
            self.first_name.to_string(),
        ]
    }
}

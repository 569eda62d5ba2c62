//! Countries the synthetic users live in: share of users, phone numbering,
//! IANA time zones with their cities, locales, name pools and iOS share.
//!
//! Phone patterns are national significant numbers: `D` is any digit, `N`
//! is 2-9, `T` is 3-9, `M` is 6-9, other characters are literal. With the
//! country calling code they make valid E.164 numbers (at most 15 digits).

use rand::Rng;

use super::lexicon::Region;
use super::rng::{one_of, pick_by};

/// One country of the synthetic world.
#[derive(Debug)]
pub(crate) struct Country {
    /// ISO 3166-1 alpha-2 code.
    pub code: &'static str,
    /// Relative share of users.
    pub weight: f64,
    /// Country calling code, without `+`.
    pub dial: &'static str,
    /// Mobile number patterns (see the module doc).
    pub phone: &'static [&'static str],
    /// IANA zones with their share of users and their cities.
    pub zones: &'static [Zone],
    /// BCP 47 locales with their shares.
    pub locales: &'static [(&'static str, f64)],
    /// Name pools with their shares.
    pub names: &'static [(Region, f64)],
    /// Share of iOS among mobile devices.
    pub ios_share: f64,
}

/// An IANA time zone and the cities of a country that use it.
#[derive(Debug)]
pub(crate) struct Zone {
    /// IANA name, e.g. `America/Chicago`.
    pub tz: &'static str,
    /// Relative share of the country's users.
    pub weight: f64,
    /// Cities in the zone.
    pub cities: &'static [&'static str],
}

const fn zone(tz: &'static str, weight: f64, cities: &'static [&'static str]) -> Zone {
    Zone { tz, weight, cities }
}

use Region::{Anglo, Chinese, French, German, Hispanic, Indian, Japanese, Korean, Lusophone};

/// The countries, by share of users.
#[rustfmt::skip]
pub(crate) static COUNTRIES: &[Country] = &[
    Country { code: "US", weight: 28.0, dial: "1", phone: &["NDDNDDDDDD"],
        zones: &[
            zone("America/New_York", 0.47, &["New York", "Boston", "Philadelphia", "Atlanta", "Miami"]),
            zone("America/Chicago", 0.29, &["Chicago", "Houston", "Dallas", "Minneapolis"]),
            zone("America/Denver", 0.05, &["Denver", "Salt Lake City", "Albuquerque"]),
            zone("America/Phoenix", 0.03, &["Phoenix", "Tucson"]),
            zone("America/Los_Angeles", 0.16, &["Los Angeles", "San Francisco", "Seattle", "San Diego", "Portland"]),
        ],
        locales: &[("en-US", 0.88), ("es-US", 0.12)],
        names: &[(Anglo, 0.8), (Hispanic, 0.12), (Chinese, 0.04), (Indian, 0.04)], ios_share: 0.57 },
    Country { code: "GB", weight: 8.0, dial: "44", phone: &["7DDDDDDDDD"],
        zones: &[zone("Europe/London", 1.0, &["London", "Manchester", "Birmingham", "Glasgow", "Leeds", "Bristol"])],
        locales: &[("en-GB", 1.0)], names: &[(Anglo, 0.9), (Indian, 0.1)], ios_share: 0.5 },
    Country { code: "DE", weight: 7.0, dial: "49", phone: &["15DDDDDDDDD", "17DDDDDDDDD"],
        zones: &[zone("Europe/Berlin", 1.0, &["Berlin", "Hamburg", "München", "Köln", "Frankfurt", "Stuttgart"])],
        locales: &[("de-DE", 1.0)], names: &[(German, 1.0)], ios_share: 0.35 },
    Country { code: "FR", weight: 6.0, dial: "33", phone: &["6DDDDDDDD", "7DDDDDDDD"],
        zones: &[zone("Europe/Paris", 1.0, &["Paris", "Lyon", "Marseille", "Toulouse", "Nice", "Lille"])],
        locales: &[("fr-FR", 1.0)], names: &[(French, 1.0)], ios_share: 0.35 },
    Country { code: "ES", weight: 4.0, dial: "34", phone: &["6DDDDDDDD"],
        zones: &[zone("Europe/Madrid", 1.0, &["Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao"])],
        locales: &[("es-ES", 0.9), ("ca-ES", 0.1)], names: &[(Hispanic, 1.0)], ios_share: 0.3 },
    Country { code: "BR", weight: 7.0, dial: "55", phone: &["ND9DDDDDDDD"],
        zones: &[
            zone("America/Sao_Paulo", 0.9, &["São Paulo", "Rio de Janeiro", "Belo Horizonte", "Curitiba", "Porto Alegre"]),
            zone("America/Manaus", 0.1, &["Manaus"]),
        ],
        locales: &[("pt-BR", 1.0)], names: &[(Lusophone, 1.0)], ios_share: 0.12 },
    Country { code: "MX", weight: 5.0, dial: "52", phone: &["NDDDDDDDDD"],
        zones: &[
            zone("America/Mexico_City", 0.85, &["Ciudad de México", "Guadalajara", "Monterrey", "Puebla"]),
            zone("America/Tijuana", 0.1, &["Tijuana", "Mexicali"]),
            zone("America/Cancun", 0.05, &["Cancún"]),
        ],
        locales: &[("es-MX", 1.0)], names: &[(Hispanic, 1.0)], ios_share: 0.2 },
    Country { code: "CA", weight: 4.0, dial: "1", phone: &["NDDNDDDDDD"],
        zones: &[
            zone("America/Toronto", 0.62, &["Toronto", "Ottawa", "Montréal", "Québec"]),
            zone("America/Vancouver", 0.16, &["Vancouver", "Victoria"]),
            zone("America/Edmonton", 0.15, &["Calgary", "Edmonton"]),
            zone("America/Winnipeg", 0.04, &["Winnipeg"]),
            zone("America/Halifax", 0.03, &["Halifax"]),
        ],
        locales: &[("en-CA", 0.75), ("fr-CA", 0.25)], names: &[(Anglo, 0.75), (French, 0.25)], ios_share: 0.55 },
    Country { code: "IN", weight: 9.0, dial: "91", phone: &["MDDDDDDDDD"],
        zones: &[zone("Asia/Kolkata", 1.0, &["Mumbai", "Delhi", "Bengaluru", "Hyderabad", "Chennai", "Kolkata", "Pune"])],
        locales: &[("en-IN", 0.7), ("hi-IN", 0.3)], names: &[(Indian, 1.0)], ios_share: 0.05 },
    Country { code: "CN", weight: 8.0, dial: "86", phone: &["1TDDDDDDDDD"],
        zones: &[
            zone("Asia/Shanghai", 0.97, &["Shanghai", "Beijing", "Shenzhen", "Guangzhou", "Chengdu", "Hangzhou"]),
            zone("Asia/Urumqi", 0.03, &["Ürümqi"]),
        ],
        locales: &[("zh-CN", 1.0)], names: &[(Chinese, 1.0)], ios_share: 0.25 },
    Country { code: "JP", weight: 5.0, dial: "81", phone: &["90DDDDDDDD", "80DDDDDDDD", "70DDDDDDDD"],
        zones: &[zone("Asia/Tokyo", 1.0, &["Tokyo", "Osaka", "Yokohama", "Nagoya", "Sapporo", "Fukuoka"])],
        locales: &[("ja-JP", 1.0)], names: &[(Japanese, 1.0)], ios_share: 0.65 },
    Country { code: "KR", weight: 2.0, dial: "82", phone: &["10DDDDDDDD"],
        zones: &[zone("Asia/Seoul", 1.0, &["Seoul", "Busan", "Incheon", "Daegu"])],
        locales: &[("ko-KR", 1.0)], names: &[(Korean, 1.0)], ios_share: 0.3 },
    Country { code: "AU", weight: 3.0, dial: "61", phone: &["4DDDDDDDD"],
        zones: &[
            zone("Australia/Sydney", 0.4, &["Sydney", "Canberra", "Newcastle"]),
            zone("Australia/Melbourne", 0.3, &["Melbourne", "Geelong"]),
            zone("Australia/Brisbane", 0.15, &["Brisbane", "Gold Coast"]),
            zone("Australia/Perth", 0.1, &["Perth"]),
            zone("Australia/Adelaide", 0.05, &["Adelaide"]),
        ],
        locales: &[("en-AU", 1.0)], names: &[(Anglo, 1.0)], ios_share: 0.55 },
    Country { code: "NZ", weight: 1.0, dial: "64", phone: &["2DDDDDDDD"],
        zones: &[zone("Pacific/Auckland", 1.0, &["Auckland", "Wellington", "Christchurch"])],
        locales: &[("en-NZ", 1.0)], names: &[(Anglo, 1.0)], ios_share: 0.5 },
    Country { code: "ZA", weight: 2.0, dial: "27", phone: &["7DDDDDDDD", "8DDDDDDDD", "6DDDDDDDD"],
        zones: &[zone("Africa/Johannesburg", 1.0, &["Johannesburg", "Cape Town", "Durban", "Pretoria"])],
        locales: &[("en-ZA", 0.85), ("af-ZA", 0.15)], names: &[(Anglo, 1.0)], ios_share: 0.2 },
    Country { code: "SG", weight: 1.0, dial: "65", phone: &["8DDDDDDD", "9DDDDDDD"],
        zones: &[zone("Asia/Singapore", 1.0, &["Singapore"])],
        locales: &[("en-SG", 0.8), ("zh-SG", 0.2)], names: &[(Chinese, 0.6), (Anglo, 0.2), (Indian, 0.2)], ios_share: 0.5 },
];

/// Picks a country by share of users.
pub(crate) fn draw_country(rng: &mut impl Rng) -> &'static Country {
    pick_by(rng, COUNTRIES, |c| c.weight).unwrap_or(&COUNTRIES[0])
}

/// Picks a zone of the country and a city in it.
pub(crate) fn draw_place(
    rng: &mut impl Rng,
    country: &'static Country,
) -> (&'static str, &'static str) {
    match pick_by(rng, country.zones, |z| z.weight) {
        Some(zone) => (zone.tz, one_of(rng, zone.cities).copied().unwrap_or("")),
        None => ("UTC", ""),
    }
}

/// A valid E.164 mobile number of the country, e.g. `+4915123456789`.
pub(crate) fn draw_phone(rng: &mut impl Rng, country: &Country) -> String {
    let pattern = one_of(rng, country.phone).copied().unwrap_or("NDDDDDDD");
    let mut phone = String::with_capacity(16);
    phone.push('+');
    phone.push_str(country.dial);
    for symbol in pattern.chars() {
        let digit = match symbol {
            'D' => rng.random_range(0..=9u8),
            'N' => rng.random_range(2..=9u8),
            'T' => rng.random_range(3..=9u8),
            'M' => rng.random_range(6..=9u8),
            literal => {
                phone.push(literal);
                continue;
            }
        };
        phone.push(char::from(b'0' + digit));
    }
    phone
}

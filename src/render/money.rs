//! Money formatting for the `money` filter: a small table of common
//! locales and currencies, CLDR-like but with plain spaces (a no-break
//! space would push an SMS from GSM-7 to UCS-2).
//!
//! `1234.5` in EUR is `1.234,50 €` for `de-DE`, `€1,234.50` for `en-US`;
//! an unknown locale falls back to its language, then to `en-US`; an
//! unknown currency is shown by its code (`1,234.50 XYZ` / `XYZ 1,234.50`).

/// How a locale writes amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LocaleStyle {
    /// Thousands separator.
    group: &'static str,
    /// Decimal separator.
    decimal: &'static str,
    /// Symbol after the number (`1.234,50 €`) rather than before.
    symbol_after: bool,
    /// Space between a leading symbol and the number (`R$ 1.234,50`).
    space_before: bool,
}

/// `en-US` style: `$1,234.50`.
const EN: LocaleStyle = LocaleStyle {
    group: ",",
    decimal: ".",
    symbol_after: false,
    space_before: false,
};

/// Locale tags (and bare languages) with their style.
const LOCALES: &[(&str, LocaleStyle)] = &[
    ("en", EN),
    ("ja", EN),
    ("zh", EN),
    ("ko", EN),
    ("en-IN", EN),
    ("de", style(".", ",", true, false)),
    ("de-AT", style(" ", ",", false, true)),
    ("de-CH", style("'", ".", false, true)),
    ("fr", style(" ", ",", true, false)),
    ("fr-CH", style(" ", ",", true, false)),
    ("es", style(".", ",", true, false)),
    ("es-MX", EN),
    ("it", style(".", ",", true, false)),
    ("pt", style(" ", ",", true, false)),
    ("pt-BR", style(".", ",", false, true)),
    ("nl", style(".", ",", false, true)),
    ("sv", style(" ", ",", true, false)),
    ("da", style(".", ",", true, false)),
    ("nb", style(" ", ",", true, false)),
    ("pl", style(" ", ",", true, false)),
    ("ru", style(" ", ",", true, false)),
    ("tr", style(".", ",", false, false)),
];

/// A [`LocaleStyle`] in table form.
const fn style(
    group: &'static str,
    decimal: &'static str,
    symbol_after: bool,
    space_before: bool,
) -> LocaleStyle {
    LocaleStyle {
        group,
        decimal,
        symbol_after,
        space_before,
    }
}

/// Currencies: code, symbol, minor-unit digits.
const CURRENCIES: &[(&str, &str, usize)] = &[
    ("USD", "$", 2),
    ("EUR", "€", 2),
    ("GBP", "£", 2),
    ("JPY", "¥", 0),
    ("CNY", "¥", 2),
    ("KRW", "₩", 0),
    ("INR", "₹", 2),
    ("BRL", "R$", 2),
    ("CAD", "CA$", 2),
    ("AUD", "A$", 2),
    ("MXN", "MX$", 2),
    ("CHF", "CHF", 2),
    ("SEK", "kr", 2),
    ("NOK", "kr", 2),
    ("DKK", "kr.", 2),
    ("PLN", "zł", 2),
    ("TRY", "₺", 2),
    ("RUB", "₽", 2),
];

/// Formats `amount` of `currency` (ISO 4217) the way `locale` writes it.
pub fn format_money(amount: f64, currency: &str, locale: &str) -> String {
    let code = currency.trim().to_ascii_uppercase();
    let (symbol, digits) = CURRENCIES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|&(_, s, d)| (s.to_owned(), d))
        .unwrap_or_else(|| (code.clone(), 2));
    let style = locale_style(locale);
    let number = format_number(amount.abs(), digits, &style);
    let sign = if amount < 0.0 && number.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        "-"
    } else {
        ""
    };
    let wide = symbol.chars().count() > 1 && symbol.chars().all(|c| c.is_ascii_uppercase());
    if style.symbol_after {
        format!("{sign}{number} {symbol}")
    } else if style.space_before || wide {
        format!("{sign}{symbol} {number}")
    } else {
        format!("{sign}{symbol}{number}")
    }
}

/// The style for a BCP 47 tag (`de-DE`, `de_DE`): exact tag, then the
/// language, then `en-US`.
fn locale_style(locale: &str) -> LocaleStyle {
    let tag = locale.trim().replace('_', "-");
    let language = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
    let find = |key: &str| {
        LOCALES
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|&(_, s)| s)
    };
    find(&tag).or_else(|| find(&language)).unwrap_or(EN)
}

/// `amount` (non-negative) rounded to `digits` with grouped thousands.
fn format_number(amount: f64, digits: usize, style: &LocaleStyle) -> String {
    let scale = 10f64.powi(digits as i32);
    let rounded = (amount * scale).round() / scale;
    let fixed = format!("{rounded:.digits$}");
    let (whole, fraction) = fixed.split_once('.').unwrap_or((&fixed, ""));
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push_str(style.group);
        }
        grouped.push(ch);
    }
    if fraction.is_empty() {
        grouped
    } else {
        format!("{grouped}{}{fraction}", style.decimal)
    }
}

#[cfg(test)]
mod tests {
    use super::format_money;

    #[test]
    fn euros_in_german_put_the_symbol_after_with_dot_groups() {
        assert_eq!(format_money(1234.5, "EUR", "de-DE"), "1.234,50 €");
    }

    #[test]
    fn dollars_in_us_english_lead_with_the_symbol() {
        assert_eq!(format_money(1234.5, "USD", "en-US"), "$1,234.50");
        assert_eq!(format_money(-0.001, "USD", "en-US"), "$0.00");
        assert_eq!(format_money(-5.0, "usd", "en"), "-$5.00");
    }

    #[test]
    fn zero_decimal_currencies_and_unknown_codes() {
        assert_eq!(format_money(1234.5, "JPY", "ja-JP"), "¥1,235");
        assert_eq!(format_money(1234567.0, "CHF", "de-CH"), "CHF 1'234'567.00");
        assert_eq!(format_money(12.0, "XYZ", "en-US"), "XYZ 12.00");
        assert_eq!(format_money(1234.5, "BRL", "pt_BR"), "R$ 1.234,50");
        assert_eq!(format_money(1234.5, "EUR", "fr-FR"), "1 234,50 €");
        assert_eq!(format_money(999.0, "EUR", "xx-YY"), "€999.00");
    }
}

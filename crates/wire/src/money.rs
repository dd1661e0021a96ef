//! Money as integer minor units.

use serde::{Deserialize, Serialize};

/// An amount in the currency's minor units (cents for USD). Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cents(pub i64);

/// ISO 4217 currencies whose minor unit is not a hundredth, with its number of decimals
/// (ISO 4217 list one, "Minor unit" column). FlexFactor's amounts are integers in minor units
/// (flexfactor-api.md "Amounts"): 1000 is ¥1,000 in JPY and 1.000 KWD in KWD.
const MINOR_UNIT_EXCEPTIONS: [(&str, u32); 26] = [
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("CLF", 4),
    ("UYW", 4),
];

/// Decimals of `currency`'s minor unit: 2 for USD, 0 for JPY, 3 for KWD. A code not in
/// ISO 4217's exceptions (or not a currency code at all) counts as 2, like most currencies.
pub fn minor_unit_digits(currency: &str) -> u32 {
    let code = currency.trim();
    MINOR_UNIT_EXCEPTIONS.iter().find(|(c, _)| c.eq_ignore_ascii_case(code)).map_or(2, |(_, d)| *d)
}

/// The currencies whose minor unit is not a hundredth, for the UI's bindings.
pub fn minor_unit_exceptions() -> &'static [(&'static str, u32)] {
    &MINOR_UNIT_EXCEPTIONS
}

impl Cents {
    /// The amount as a decimal string in major units of a two-decimal currency, exact
    /// (`1999` → `"19.99"`). This is the form `/refund`'s `amountToRefund` takes.
    pub fn to_major_units_string(self) -> String {
        self.to_major_units_in(2)
    }

    /// The amount in major units of a currency with `digits` decimals, exact: `1999` is
    /// `"19.99"` with 2, `"1999"` with 0 and `"1.999"` with 3.
    pub fn to_major_units_in(self, digits: u32) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        match 10_u64.checked_pow(digits) {
            Some(1) => format!("{sign}{abs}"),
            Some(unit) => format!("{sign}{}.{:0width$}", abs / unit, abs % unit, width = digits as usize),
            // No currency has that many decimals; the digits as they are.
            None => format!("{sign}{abs}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cents;

    #[test]
    fn cents_convert_to_exact_major_units() {
        assert_eq!(Cents(1999).to_major_units_string(), "19.99");
        assert_eq!(Cents(5).to_major_units_string(), "0.05");
        assert_eq!(Cents(100).to_major_units_string(), "1.00");
        assert_eq!(Cents(-250).to_major_units_string(), "-2.50");
        assert_eq!(Cents(12_345_678_901).to_major_units_string(), "123456789.01");
    }

    #[test]
    fn minor_units_follow_the_currency() {
        assert_eq!(super::minor_unit_digits("USD"), 2);
        assert_eq!(super::minor_unit_digits("jpy"), 0);
        assert_eq!(super::minor_unit_digits("KWD"), 3);
        assert_eq!(super::minor_unit_digits(" CLF "), 4);
        assert_eq!(super::minor_unit_digits("not a currency"), 2);
        assert_eq!(Cents(1000).to_major_units_in(0), "1000");
        assert_eq!(Cents(1234).to_major_units_in(3), "1.234");
        assert_eq!(Cents(-5).to_major_units_in(3), "-0.005");
        assert_eq!(Cents(7).to_major_units_in(4), "0.0007");
        assert_eq!(Cents(1999).to_major_units_in(2), "19.99");
    }
}

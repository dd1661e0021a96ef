//! Money as integer minor units.

use serde::{Deserialize, Serialize};

/// An amount in the currency's minor units (cents for USD). Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    /// The amount as a decimal string in major units, exact (`1999` → `"19.99"`).
    /// This is the form `/refund`'s `amountToRefund` takes.
    pub fn to_major_units_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
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
}

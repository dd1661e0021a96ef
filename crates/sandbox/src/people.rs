//! Made-up shoppers for the seeded history: names, e-mail, phone and postal address.
//!
//! All INFERRED. Names come from small built-in lists; e-mail domains are the reserved
//! `example.*` domains and phone numbers the fictional `555-01xx` range, so the demo data
//! can never reach a real person.

use flexfactor_wire::WireAddress;
use rand::seq::SliceRandom;
use rand::Rng;

const FIRST_NAMES: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Sandra",
    "Mark",
    "Ashley",
    "Steven",
    "Emily",
    "Andrew",
    "Michelle",
    "Joshua",
    "Amanda",
    "Kevin",
    "Melissa",
    "Brian",
    "Olivia",
    "Wei",
    "Sofia",
    "Ethan",
    "Chloe",
    "Noah",
    "Priya",
    "Liam",
    "Aisha",
    "Lucas",
    "Mei",
    "Mateo",
    "Fatima",
    "Jamal",
    "Hannah",
    "Diego",
    "Grace",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Chen",
    "Patel",
    "Kim",
    "O'Connor",
    "Tremblay",
    "Roy",
    "Gagnon",
    "Singh",
];

const EMAIL_DOMAINS: &[&str] = &["example.com", "example.net", "example.org"];

const STREETS: &[&str] = &[
    "Main",
    "Oak",
    "Pine",
    "Maple",
    "Cedar",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Sunset",
    "Highland",
    "Franklin",
    "Jefferson",
    "Lincoln",
    "Church",
    "Willow",
    "Spring",
    "Ridge",
    "Meadow",
    "River",
    "Forest",
    "Bay",
    "Queen",
    "King",
    "Victoria",
    "Harbor",
];

const STREET_SUFFIXES: &[&str] = &["St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Way", "Ct"];

/// (city, state, ZIP prefix, phone area code).
const US_CITIES: &[(&str, &str, &str, &str)] = &[
    ("New York", "NY", "100", "212"),
    ("Brooklyn", "NY", "112", "718"),
    ("Los Angeles", "CA", "900", "213"),
    ("San Francisco", "CA", "941", "415"),
    ("Chicago", "IL", "606", "312"),
    ("Houston", "TX", "770", "713"),
    ("Austin", "TX", "787", "512"),
    ("Phoenix", "AZ", "850", "602"),
    ("Philadelphia", "PA", "191", "215"),
    ("Seattle", "WA", "981", "206"),
    ("Denver", "CO", "802", "303"),
    ("Boston", "MA", "021", "617"),
    ("Atlanta", "GA", "303", "404"),
    ("Miami", "FL", "331", "305"),
    ("Portland", "OR", "972", "503"),
    ("Minneapolis", "MN", "554", "612"),
    ("Nashville", "TN", "372", "615"),
    ("Columbus", "OH", "432", "614"),
    ("Raleigh", "NC", "276", "919"),
    ("Salt Lake City", "UT", "841", "801"),
];

/// (city, province, postal FSA, phone area code).
const CA_CITIES: &[(&str, &str, &str, &str)] = &[
    ("Toronto", "ON", "M5V", "416"),
    ("Vancouver", "BC", "V6B", "604"),
    ("Montreal", "QC", "H2X", "514"),
    ("Calgary", "AB", "T2P", "403"),
    ("Ottawa", "ON", "K1P", "613"),
    ("Halifax", "NS", "B3H", "902"),
];

/// Which country a shopper lives in; it decides address format and currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Country {
    UnitedStates,
    Canada,
}

/// One made-up shopper.
#[derive(Debug, Clone)]
pub struct Shopper {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub secondary_email: String,
    pub phone: String,
    pub address: WireAddress,
}

impl Shopper {
    /// Draws a shopper living in `country`.
    pub fn generate<R: Rng>(rng: &mut R, country: Country) -> Shopper {
        let first = pick(rng, FIRST_NAMES);
        let last = pick(rng, LAST_NAMES);
        let email = email_for(rng, first, last);
        // The docs say secondaryEmail "may be empty"; most shoppers have none.
        let secondary_email = if rng.gen_bool(0.05) { email_for(rng, first, last) } else { String::new() };
        let (city, state, postal, area) = match country {
            Country::UnitedStates => pick(rng, US_CITIES),
            Country::Canada => pick(rng, CA_CITIES),
        };
        let phone = format!("+1{area}55501{:02}", rng.gen_range(0..100));
        let zip_code = match country {
            Country::UnitedStates => format!("{postal}{:02}", rng.gen_range(1..100)),
            Country::Canada => format!(
                "{postal} {}{}{}",
                rng.gen_range(0..10),
                char::from(b'A' + rng.gen_range(0..26u8)),
                rng.gen_range(0..10)
            ),
        };
        let address_line2 = if rng.gen_bool(0.15) {
            Some(if rng.gen_bool(0.7) {
                format!("Apt {}{}", rng.gen_range(1..30), char::from(b'A' + rng.gen_range(0..6u8)))
            } else {
                format!("Suite {}", rng.gen_range(100..900))
            })
        } else {
            None
        };
        let (country_name, country_code) = match country {
            Country::UnitedStates => ("United States", "US"),
            Country::Canada => ("Canada", "CA"),
        };
        let address = WireAddress {
            first_name: Some(first.to_string()),
            last_name: Some(last.to_string()),
            address_line1: Some(format!(
                "{} {} {}",
                rng.gen_range(1..9900),
                pick(rng, STREETS),
                pick(rng, STREET_SUFFIXES)
            )),
            address_line2,
            city: Some(city.to_string()),
            state: Some(state.to_string()),
            zip_code: Some(zip_code),
            country: Some(country_name.to_string()),
            country_code: Some(country_code.to_string()),
            phone: Some(phone.clone()),
        };
        Shopper { first_name: first.to_string(), last_name: last.to_string(), email, secondary_email, phone, address }
    }
}

/// An address-book style e-mail: `jane.doe42@example.com`, `jdoe7@…` or `jane_doe@…`.
fn email_for<R: Rng>(rng: &mut R, first: &str, last: &str) -> String {
    let first = local_part(first);
    let last = local_part(last);
    let domain = pick(rng, EMAIL_DOMAINS);
    let n: u32 = rng.gen_range(1..10_000);
    match rng.gen_range(0..3) {
        0 => format!("{first}.{last}{n}@{domain}"),
        1 => format!("{}{last}{n}@{domain}", first.chars().next().unwrap_or('x')),
        _ => format!("{first}_{last}{}@{domain}", n % 100),
    }
}

fn local_part(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// One element of a non-empty built-in list.
pub fn pick<T: Copy, R: Rng>(rng: &mut R, items: &[T]) -> T {
    // Every list in this crate is a non-empty constant; index 0 is a safe fallback.
    *items.choose(rng).unwrap_or(&items[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn canadian_shoppers_get_canadian_postal_codes() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let s = Shopper::generate(&mut rng, Country::Canada);
        let zip = s.address.zip_code.unwrap_or_default();
        assert_eq!(zip.len(), 7, "{zip}");
        assert_eq!(s.address.country_code.as_deref(), Some("CA"));
    }

    #[test]
    fn emails_are_lowercase_ascii_on_reserved_domains() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for _ in 0..500 {
            let s = Shopper::generate(&mut rng, Country::UnitedStates);
            assert!(s.email.is_ascii());
            assert_eq!(s.email, s.email.to_lowercase());
            assert!(s.email.contains("@example."), "{}", s.email);
            assert!(!s.email.contains('\''));
        }
    }
}

//! Interface 2's borrower profiles: realistic Indonesian people derived from the borrower uuid
//! alone (a seeded hash), so the same uuid always describes the same person. The NIK encodes a
//! real-looking region code and the birth date (women's day + 40), the family card number the
//! same region, and the address names that region.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub borrower_uuid: String,
    pub borrower_id: String,
    pub real_name: String,
    pub phone: String,
    pub nik: String,
    pub birth_date: NaiveDate,
    pub age: u32,
    /// 1 male, 2 female (0, unknown, never comes out of the sandbox).
    pub gender: u8,
    pub education: &'static str,
    pub occupation: &'static str,
    pub email: String,
    pub religion: &'static str,
    pub address: String,
    pub documents: Documents,
}

#[derive(Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Documents {
    pub id_card: Document,
    pub bank_card: Document,
    pub emergency_contacts: Vec<Contact>,
    pub insurance_card: Document,
    pub family_card: Document,
}

#[derive(Clone, PartialEq, Serialize)]
pub struct Document {
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
}

#[derive(Clone, PartialEq, Serialize)]
pub struct Contact {
    pub name: String,
    pub phone: String,
    pub relation: &'static str,
}

/// The profile behind `borrower_uuid`, as of `today` (only the age depends on it); `None` when
/// the id is not a uuid (interface 2's 404).
pub fn profile(borrower_uuid: &str, today: NaiveDate) -> Option<Profile> {
    if !is_uuid(borrower_uuid) {
        return None;
    }
    let mut seed = Seeded::new(&borrower_uuid.to_ascii_lowercase());
    let region = seed.pick(REGIONS);
    let female = seed.chance(50);
    let birth_date = seed.date(1968, 2004);
    let name = seed.name(female, birth_date.year() < 1975);
    let nik = format!(
        "{}{:02}{:02}{:02}{:04}",
        region.code,
        birth_date.day() + if female { 40 } else { 0 },
        birth_date.month(),
        birth_date.year() % 100,
        seed.between(1, 2999)
    );
    let issued = seed.date(2008, 2023);
    let family_card = format!(
        "{}{:02}{:02}{:02}{:04}",
        region.code,
        issued.day(),
        issued.month(),
        issued.year() % 100,
        seed.between(1, 2999)
    );
    let occupations = if female { OCCUPATIONS_FEMALE } else { OCCUPATIONS_MALE };
    let address = format!(
        "JL. {} NO. {}, RT {:03}/RW {:03}, KEL. {}, KEC. {}, {}, {} {}",
        seed.pick(STREETS),
        seed.between(1, 150),
        seed.between(1, 15),
        seed.between(1, 12),
        seed.pick(region.villages),
        region.district,
        region.city,
        region.province,
        region.postal
    );
    let contacts = [CLOSE_RELATIONS, OTHER_RELATIONS].map(|relations| {
        let contact_female = seed.chance(50);
        Contact {
            name: seed.name(contact_female, false).join(" "),
            phone: seed.phone(),
            relation: seed.pick(relations),
        }
    });
    let bank_card_len = seed.between(10, 13) as usize;
    let bank_card = seed.digits(bank_card_len);
    Some(Profile {
        borrower_uuid: borrower_uuid.to_owned(),
        borrower_id: format!("DB{}", seed.digits(10)),
        email: seed.email(&name),
        real_name: name.join(" "),
        phone: seed.phone(),
        birth_date,
        age: age_on(birth_date, today),
        gender: if female { 2 } else { 1 },
        education: seed.weighted(EDUCATION),
        occupation: seed.weighted(occupations),
        religion: seed.weighted(region.religions),
        address,
        documents: Documents {
            id_card: Document { verified: true, number: Some(nik.clone()) },
            bank_card: Document { verified: true, number: Some(bank_card) },
            emergency_contacts: contacts.into(),
            insurance_card: if seed.chance(75) {
                Document { verified: true, number: Some(format!("0001{}", seed.digits(9))) }
            } else {
                Document { verified: false, number: None }
            },
            family_card: Document { verified: seed.chance(95), number: Some(family_card) },
        },
        nik,
    })
}

/// Whole years from `birth` to `today`.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> u32 {
    let before_birthday = (today.month(), today.day()) < (birth.month(), birth.day());
    let years = today.year() - birth.year() - i32::from(before_birthday);
    u32::try_from(years).unwrap_or(0)
}

/// A hyphenated uuid: 8-4-4-4-12 hex digits, any version, any case.
fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A deterministic pseudo-random stream (splitmix64) seeded from a SHA-256 of the uuid, so
/// profiles never change with a library upgrade.
struct Seeded(u64);

impl Seeded {
    fn new(text: &str) -> Seeded {
        let digest = Sha256::digest(text.as_bytes());
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&digest[..8]);
        Seeded(u64::from_le_bytes(seed))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.between(0, 99) < percent
    }

    /// One item of a non-empty list.
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.between(0, items.len() as u64 - 1) as usize]
    }

    fn weighted(&mut self, items: &[(&'static str, u64)]) -> &'static str {
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        let mut roll = self.between(0, total - 1);
        for (item, weight) in items {
            if roll < *weight {
                return item;
            }
            roll -= weight;
        }
        items[0].0
    }

    fn digits(&mut self, count: usize) -> String {
        (0..count).map(|_| char::from(b'0' + self.between(0, 9) as u8)).collect()
    }

    /// A date between 1 January of `from` and 31 December of `to`.
    fn date(&mut self, from: i32, to: i32) -> NaiveDate {
        let year = from + self.between(0, (to - from) as u64) as i32;
        let ordinal = self.between(1, 365) as u32;
        NaiveDate::from_yo_opt(year, ordinal).unwrap_or_default()
    }

    /// Given and family name, or a single Javanese name (more common among older people).
    fn name(&mut self, female: bool, older: bool) -> Vec<&'static str> {
        let (given, family, single) =
            if female { (GIVEN_FEMALE, FAMILY_FEMALE, SINGLE_FEMALE) } else { (GIVEN_MALE, FAMILY_MALE, SINGLE_MALE) };
        if older && self.chance(40) {
            return vec![self.pick(single)];
        }
        vec![self.pick(given), self.pick(family)]
    }

    /// `08` + an operator prefix + 8 digits.
    fn phone(&mut self) -> String {
        format!("08{}{}", self.pick(MOBILE_PREFIXES), self.digits(8))
    }

    fn email(&mut self, name: &[&str]) -> String {
        let local = name.join(".").to_ascii_lowercase();
        format!("{local}{}@{}", self.digits(2), self.pick(MAIL_DOMAINS))
    }
}

#[derive(Clone, Copy)]
struct Region {
    /// Province, regency/city and district: the NIK's first six digits.
    code: &'static str,
    district: &'static str,
    city: &'static str,
    province: &'static str,
    postal: &'static str,
    villages: &'static [&'static str],
    religions: &'static [(&'static str, u64)],
}

const MOSTLY_MUSLIM: &[(&str, u64)] =
    &[("ISLAM", 87), ("KRISTEN", 7), ("KATOLIK", 3), ("HINDU", 1), ("BUDDHA", 1), ("KONGHUCU", 1)];
const NORTH_SUMATRA: &[(&str, u64)] = &[("ISLAM", 63), ("KRISTEN", 27), ("KATOLIK", 5), ("BUDDHA", 4), ("HINDU", 1)];
const BALI: &[(&str, u64)] = &[("HINDU", 83), ("ISLAM", 13), ("KRISTEN", 2), ("KATOLIK", 1), ("BUDDHA", 1)];

const REGIONS: &[Region] = &[
    Region {
        code: "317404",
        district: "PASAR MINGGU",
        city: "KOTA JAKARTA SELATAN",
        province: "DKI JAKARTA",
        postal: "12540",
        villages: &["PEJATEN TIMUR", "JATI PADANG", "RAGUNAN", "KEBAGUSAN"],
        religions: MOSTLY_MUSLIM,
    },
    Region {
        code: "317507",
        district: "DUREN SAWIT",
        city: "KOTA JAKARTA TIMUR",
        province: "DKI JAKARTA",
        postal: "13440",
        villages: &["PONDOK BAMBU", "KLENDER", "PONDOK KELAPA"],
        religions: MOSTLY_MUSLIM,
    },
    Region {
        code: "327311",
        district: "COBLONG",
        city: "KOTA BANDUNG",
        province: "JAWA BARAT",
        postal: "40132",
        villages: &["DAGO", "LEBAK SILIWANGI", "SEKELOA"],
        religions: MOSTLY_MUSLIM,
    },
    Region {
        code: "327504",
        district: "BEKASI UTARA",
        city: "KOTA BEKASI",
        province: "JAWA BARAT",
        postal: "17124",
        villages: &["HARAPAN JAYA", "KALIABANG TENGAH", "PERWIRA"],
        religions: MOSTLY_MUSLIM,
    },
    Region {
        code: "327601",
        district: "PANCORAN MAS",
        city: "KOTA DEPOK",
        province: "JAWA BARAT",
        postal: "16431",
        villages: &["DEPOK JAYA", "MAMPANG", "RANGKAPAN JAYA"],
        religions: MOSTLY_MUSLIM,
    },
    Region {
        code: "337411",
        district: "TEMBALANG",
        city: "KOTA SEMARANG",
        province: "JAWA TENGAH",
        postal: "50275",
        villages: &["BULUSAN", "TEMBALANG", "SENDANGMULYO"],
        religions: MOSTLY_MUSLIM,
    },
    Region {
        code: "347101",
        district: "MANTRIJERON",
        city: "KOTA YOGYAKARTA",
        province: "DI YOGYAKARTA",
        postal: "55143",
        villages: &["GEDONGKIWO", "SURYODININGRATAN", "MANTRIJERON"],
        religions: MOSTLY_MUSLIM,
    },
    Region {
        code: "357815",
        district: "WONOKROMO",
        city: "KOTA SURABAYA",
        province: "JAWA TIMUR",
        postal: "60243",
        villages: &["JAGIR", "NGAGEL REJO", "SAWUNGGALING"],
        religions: MOSTLY_MUSLIM,
    },
    Region {
        code: "357305",
        district: "LOWOKWARU",
        city: "KOTA MALANG",
        province: "JAWA TIMUR",
        postal: "65141",
        villages: &["DINOYO", "KETAWANGGEDE", "TLOGOMAS"],
        religions: MOSTLY_MUSLIM,
    },
    Region {
        code: "367108",
        district: "CILEDUG",
        city: "KOTA TANGERANG",
        province: "BANTEN",
        postal: "15151",
        villages: &["SUDIMARA BARAT", "PARUNG SERAB", "TAJUR"],
        religions: MOSTLY_MUSLIM,
    },
    Region {
        code: "127110",
        district: "MEDAN BARU",
        city: "KOTA MEDAN",
        province: "SUMATERA UTARA",
        postal: "20154",
        villages: &["PADANG BULAN", "DARAT", "PETISAH HULU"],
        religions: NORTH_SUMATRA,
    },
    Region {
        code: "167104",
        district: "ILIR TIMUR I",
        city: "KOTA PALEMBANG",
        province: "SUMATERA SELATAN",
        postal: "30114",
        villages: &["SEI PANGERAN", "DUKU", "20 ILIR D I"],
        religions: MOSTLY_MUSLIM,
    },
    Region {
        code: "517101",
        district: "DENPASAR SELATAN",
        city: "KOTA DENPASAR",
        province: "BALI",
        postal: "80222",
        villages: &["SANUR", "SESETAN", "PANJER"],
        religions: BALI,
    },
    Region {
        code: "737104",
        district: "TAMALATE",
        city: "KOTA MAKASSAR",
        province: "SULAWESI SELATAN",
        postal: "90224",
        villages: &["MANGASA", "JONGAYA", "PARANG TAMBUNG"],
        religions: MOSTLY_MUSLIM,
    },
    Region {
        code: "187106",
        district: "KEDATON",
        city: "KOTA BANDAR LAMPUNG",
        province: "LAMPUNG",
        postal: "35141",
        villages: &["KEDATON", "SIDODADI", "SURABAYA"],
        religions: MOSTLY_MUSLIM,
    },
    Region {
        code: "647201",
        district: "SAMARINDA ULU",
        city: "KOTA SAMARINDA",
        province: "KALIMANTAN TIMUR",
        postal: "75124",
        villages: &["AIR PUTIH", "SIDODADI", "TELUK LERONG ILIR"],
        religions: MOSTLY_MUSLIM,
    },
];

const GIVEN_MALE: &[&str] = &[
    "BUDI", "AGUS", "EKO", "ANDI", "RIZKY", "DEDI", "HENDRA", "FAJAR", "AHMAD", "MUHAMMAD", "BAYU", "YUSUF", "ARIF",
    "DIMAS", "TEGUH", "JOKO", "WAHYU", "RUDI", "IRFAN", "REZA", "FIKRI", "ADITYA", "GILANG", "HARI",
];
const GIVEN_FEMALE: &[&str] = &[
    "SITI", "SRI", "DEWI", "PUTRI", "AYU", "RINA", "NUR", "INDAH", "WULAN", "FITRI", "RATNA", "YUNI", "INTAN", "MAYA",
    "DIAN", "NURUL", "ANISA", "KARTIKA", "NOVITA", "EKA", "LINA", "MEGA",
];
const FAMILY_MALE: &[&str] = &[
    "SANTOSO",
    "WIJAYA",
    "SAPUTRA",
    "PRATAMA",
    "HIDAYAT",
    "SETIAWAN",
    "KURNIAWAN",
    "NUGROHO",
    "SUSANTO",
    "WIBOWO",
    "FIRMANSYAH",
    "RAMADHAN",
    "GUNAWAN",
    "HAKIM",
    "SIREGAR",
    "NASUTION",
    "WIDODO",
    "PERMANA",
];
const FAMILY_FEMALE: &[&str] = &[
    "LESTARI",
    "RAHAYU",
    "HANDAYANI",
    "WULANDARI",
    "SAFITRI",
    "ANGGRAINI",
    "PUSPITASARI",
    "KUSUMAWATI",
    "PERMATASARI",
    "SAPUTRI",
    "NINGSIH",
    "MAHARANI",
    "SIREGAR",
    "LUBIS",
];
const SINGLE_MALE: &[&str] = &["SUPARMAN", "SUGIANTO", "SLAMET", "SUKIRNO", "PAIMIN", "SUTRISNO"];
const SINGLE_FEMALE: &[&str] = &["SUMIATI", "PONIEM", "SUKINAH", "TUMINAH", "SUPARMI", "WARSIH"];

/// Second and third digits of Indonesian mobile numbers (Telkomsel, Indosat, XL, Axis, Tri,
/// Smartfren).
const MOBILE_PREFIXES: &[&str] = &[
    "11", "12", "13", "21", "22", "23", "52", "53", "14", "15", "16", "55", "56", "57", "58", "17", "18", "19", "59",
    "77", "78", "31", "32", "38", "95", "96", "97", "98", "81", "82", "87", "88",
];
const MAIL_DOMAINS: &[&str] = &["gmail.com", "gmail.com", "yahoo.co.id", "yahoo.com", "outlook.com"];
const STREETS: &[&str] = &[
    "MELATI",
    "KENANGA",
    "MAWAR",
    "FLAMBOYAN",
    "CEMPAKA",
    "KARTINI",
    "PAHLAWAN",
    "DIPONEGORO",
    "AHMAD YANI",
    "IMAM BONJOL",
    "MERDEKA",
    "PEMUDA",
    "VETERAN",
    "GATOT SUBROTO",
    "RAYA BARAT",
    "H. NAWI",
    "MANGGA DUA",
    "SWADAYA",
];
const EDUCATION: &[(&str, u64)] = &[("SD", 8), ("SMP", 12), ("SMA/SMK", 45), ("D3", 10), ("S1", 22), ("S2", 3)];
const OCCUPATIONS_MALE: &[(&str, u64)] = &[
    ("KARYAWAN SWASTA", 35),
    ("WIRASWASTA", 20),
    ("PEDAGANG", 10),
    ("BURUH HARIAN LEPAS", 12),
    ("SOPIR", 8),
    ("PEGAWAI NEGERI SIPIL", 5),
    ("PETANI/PEKEBUN", 5),
    ("GURU", 5),
];
const OCCUPATIONS_FEMALE: &[(&str, u64)] = &[
    ("MENGURUS RUMAH TANGGA", 30),
    ("KARYAWAN SWASTA", 30),
    ("WIRASWASTA", 12),
    ("PEDAGANG", 12),
    ("BURUH HARIAN LEPAS", 6),
    ("GURU", 6),
    ("PEGAWAI NEGERI SIPIL", 4),
];
const CLOSE_RELATIONS: &[&str] = &["ORANG TUA", "PASANGAN", "SAUDARA KANDUNG"];
const OTHER_RELATIONS: &[&str] = &["TEMAN", "REKAN KERJA", "SAUDARA KANDUNG", "ORANG TUA"];

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    #[test]
    fn the_same_uuid_is_the_same_person_and_case_does_not_matter() {
        let id = "11e20b8f-6b0d-449b-af03-675a1600a35a";
        let a = profile(id, today()).unwrap();
        let b = profile(&id.to_ascii_uppercase(), today()).unwrap();
        assert!(a.real_name == b.real_name && a.nik == b.nik && a.documents == b.documents);
        let other = profile("6d76b07e-881e-4162-ae2e-b1547f150524", today()).unwrap();
        assert_ne!(a.nik, other.nik);
        assert!(profile("not-a-uuid", today()).is_none());
    }

    #[test]
    fn nik_encodes_region_birth_date_and_gender() {
        for i in 0..200u32 {
            let id = format!("{i:08x}-0000-4000-8000-000000000000");
            let p = profile(&id, today()).unwrap();
            assert_eq!(p.nik.len(), 16);
            assert!(p.nik.bytes().all(|b| b.is_ascii_digit()));
            assert!(REGIONS.iter().any(|r| p.nik.starts_with(r.code)));
            let day = p.birth_date.day() + if p.gender == 2 { 40 } else { 0 };
            let encoded = format!("{day:02}{:02}{:02}", p.birth_date.month(), p.birth_date.year() % 100);
            assert_eq!(&p.nik[6..12], encoded);
            assert_eq!(p.documents.family_card.number.as_ref().unwrap()[..6], p.nik[..6]);
            assert!(p.phone.starts_with("08") && p.phone.len() == 12);
            assert!((21..=58).contains(&p.age), "{}", p.age);
            if p.occupation == "MENGURUS RUMAH TANGGA" {
                assert_eq!(p.gender, 2);
            }
        }
    }

    #[test]
    fn age_counts_whole_years() {
        let birth = NaiveDate::from_ymd_opt(1990, 11, 22).unwrap();
        assert_eq!(age_on(birth, today()), 35);
        assert_eq!(age_on(birth, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()), 36);
    }
}

//! Words the generator builds people and products from: name pools per
//! region, the category table (price medians, shares, product nouns),
//! adjectives and brand-name syllables.

/// A pool of personal names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Region {
    Anglo,
    German,
    French,
    Hispanic,
    Lusophone,
    Indian,
    Chinese,
    Japanese,
    Korean,
}

/// Female first names, male first names and family names of a region.
#[rustfmt::skip]
pub(crate) fn names(region: Region) -> (&'static [&'static str], &'static [&'static str], &'static [&'static str]) {
    match region {
        Region::Anglo => (
            &["Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper", "Grace", "Chloe", "Zoë"],
            &["Liam", "Noah", "Oliver", "James", "William", "Benjamin", "Lucas", "Henry", "Jack", "Thomas", "Ethan", "Daniel"],
            &["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Clark", "Walker", "Hall", "Young", "King"],
        ),
        Region::German => (
            &["Anna", "Lena", "Lea", "Hannah", "Sophie", "Marie", "Emilia", "Jana", "Katrin", "Laura"],
            &["Lukas", "Leon", "Jonas", "Felix", "Maximilian", "Paul", "Finn", "Tobias", "Stefan", "Jörg"],
            &["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Schäfer", "Koch", "Bauer"],
        ),
        Region::French => (
            &["Léa", "Chloé", "Manon", "Camille", "Inès", "Jade", "Louise", "Élise", "Margaux", "Claire"],
            &["Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Théo", "Nathan", "François", "Mathis"],
            &["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Lefèvre", "Girard"],
        ),
        Region::Hispanic => (
            &["Lucía", "María", "Sofía", "Valentina", "Camila", "Paula", "Martina", "Daniela", "Ximena", "Carmen"],
            &["Santiago", "Mateo", "Sebastián", "Diego", "Alejandro", "Javier", "Carlos", "José", "Miguel", "Pablo"],
            &["García", "Rodríguez", "Martínez", "López", "González", "Hernández", "Pérez", "Sánchez", "Ramírez", "Torres", "Flores", "Ruiz"],
        ),
        Region::Lusophone => (
            &["Ana", "Beatriz", "Júlia", "Larissa", "Fernanda", "Gabriela", "Mariana", "Letícia", "Camila", "Bruna"],
            &["João", "Pedro", "Gustavo", "Rafael", "Lucas", "Matheus", "Felipe", "Thiago", "Bruno", "Vinícius"],
            &["Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Ferreira", "Costa", "Rodrigues", "Almeida", "Nascimento", "Araújo"],
        ),
        Region::Indian => (
            &["Aanya", "Diya", "Priya", "Ananya", "Isha", "Kavya", "Neha", "Pooja", "Riya", "Sneha"],
            &["Aarav", "Vihaan", "Arjun", "Rohan", "Aditya", "Rahul", "Vikram", "Karan", "Sai", "Ishaan"],
            &["Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Nair", "Mehta", "Das", "Rao", "Joshi"],
        ),
        Region::Chinese => (
            &["Fang", "Jing", "Li", "Min", "Xiu", "Yan", "Ying", "Hui", "Mei", "Xin"],
            &["Wei", "Jun", "Hao", "Lei", "Ming", "Tao", "Yang", "Jie", "Qiang", "Bo"],
            &["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun"],
        ),
        Region::Japanese => (
            &["Yui", "Aoi", "Hina", "Sakura", "Yuna", "Mio", "Haruka", "Rin", "Akari", "Emi"],
            &["Haruto", "Sota", "Yuto", "Ren", "Hiroshi", "Takumi", "Kenta", "Daiki", "Riku", "Shota"],
            &["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi", "Kato", "Yoshida", "Yamada"],
        ),
        Region::Korean => (
            &["Seo-yeon", "Ji-woo", "Min-seo", "Ha-eun", "Soo-ah", "Ji-min", "Yu-na", "Eun-ji"],
            &["Min-jun", "Seo-jun", "Ji-ho", "Do-yun", "Hyun-woo", "Joon-young", "Sung-min", "Tae-yang"],
            &["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim"],
        ),
    }
}

/// Folds a name to lowercase ASCII letters for an email local part
/// (`Müller` → `muller`, `Seo-yeon` → `seoyeon`).
pub(crate) fn ascii_fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            c if c.is_ascii_lowercase() => c,
            _ => continue,
        };
        out.push(folded);
    }
    out
}

/// One product category: name, median price (USD), log-sd of prices,
/// share of the catalogue, product nouns for titles.
pub(crate) struct CategorySpec {
    pub name: &'static str,
    pub median_price: f64,
    pub price_sigma: f64,
    pub share: f64,
    pub nouns: &'static [&'static str],
}

const fn cat(
    name: &'static str,
    median_price: f64,
    price_sigma: f64,
    share: f64,
    nouns: &'static [&'static str],
) -> CategorySpec {
    CategorySpec {
        name,
        median_price,
        price_sigma,
        share,
        nouns,
    }
}

/// The categories of the shop.
#[rustfmt::skip]
pub(crate) static CATEGORIES: &[CategorySpec] = &[
    cat("electronics", 120.0, 0.8, 10.0, &["Headphones", "Earbuds", "Speaker", "Smartwatch", "Tablet", "Charger", "Power Bank", "Monitor"]),
    cat("books", 15.0, 0.4, 8.0, &["Novel", "Cookbook", "Biography", "Thriller", "Travel Guide", "Poetry Collection", "Comic"]),
    cat("fashion", 45.0, 0.6, 10.0, &["Sneakers", "Jacket", "T-Shirt", "Jeans", "Dress", "Hoodie", "Scarf", "Boots"]),
    cat("beauty", 25.0, 0.6, 6.0, &["Serum", "Moisturizer", "Lipstick", "Shampoo", "Perfume", "Face Mask", "Sunscreen"]),
    cat("home", 60.0, 0.7, 6.0, &["Lamp", "Throw Blanket", "Rug", "Vase", "Candle", "Mirror", "Bedding Set"]),
    cat("sports", 50.0, 0.7, 5.0, &["Yoga Mat", "Dumbbells", "Running Shorts", "Football", "Tennis Racket", "Water Bottle"]),
    cat("toys", 30.0, 0.6, 5.0, &["Building Set", "Puzzle", "Plush Bear", "Board Game", "RC Car", "Doll House"]),
    cat("grocery", 8.0, 0.5, 7.0, &["Coffee Beans", "Olive Oil", "Green Tea", "Dark Chocolate", "Granola", "Pasta"]),
    cat("garden", 40.0, 0.7, 3.0, &["Hose", "Planter", "Pruning Shears", "Seed Kit", "Garden Lights", "Watering Can"]),
    cat("automotive", 55.0, 0.8, 3.0, &["Dash Cam", "Car Charger", "Seat Covers", "Tire Inflator", "Wiper Blades"]),
    cat("pet", 20.0, 0.6, 4.0, &["Dog Bed", "Cat Tree", "Pet Food", "Leash", "Chew Toy", "Litter Box"]),
    cat("health", 22.0, 0.6, 4.0, &["Vitamins", "Protein Powder", "Thermometer", "First Aid Kit", "Massage Gun"]),
    cat("jewelry", 150.0, 0.9, 3.0, &["Necklace", "Ring", "Earrings", "Bracelet", "Watch", "Pendant"]),
    cat("music", 18.0, 0.9, 3.0, &["Vinyl Record", "Guitar Strings", "Ukulele", "Keyboard", "Microphone"]),
    cat("video_games", 45.0, 0.5, 4.0, &["Game", "Controller", "Headset", "Gaming Mouse", "Gift Card"]),
    cat("office", 12.0, 0.7, 3.0, &["Notebook", "Pen Set", "Desk Organizer", "Stapler", "Planner", "Desk Lamp"]),
    cat("baby", 28.0, 0.6, 3.0, &["Stroller", "Baby Monitor", "Onesie", "Diaper Bag", "Teether", "Bottle Set"]),
    cat("kitchen", 35.0, 0.7, 6.0, &["Frying Pan", "Knife Set", "Blender", "Kettle", "Cutting Board", "Coffee Maker"]),
    cat("furniture", 250.0, 0.7, 3.0, &["Sofa", "Desk", "Office Chair", "Bookshelf", "Bed Frame", "Coffee Table"]),
    cat("outdoors", 80.0, 0.8, 4.0, &["Tent", "Sleeping Bag", "Backpack", "Headlamp", "Camping Stove", "Hiking Poles"]),
];

/// Adjectives for product titles.
pub(crate) static ADJECTIVES: &[&str] = &[
    "Classic",
    "Premium",
    "Essential",
    "Compact",
    "Deluxe",
    "Eco",
    "Pro",
    "Ultra",
    "Smart",
    "Vintage",
    "Modern",
    "Lightweight",
    "Wireless",
    "Organic",
    "Everyday",
    "Signature",
];

/// Syllables brand names are made of.
pub(crate) static SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ve", "ra", "zen", "tor", "lu", "na", "bri", "dex", "vo", "sa", "ri", "mon",
    "tex", "fi", "ly", "gor", "qua", "el", "ar", "io", "pex", "nor", "sto", "vi", "tal",
];

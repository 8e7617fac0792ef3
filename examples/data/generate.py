#!/usr/bin/env python3
"""Deterministic generator for mergetag's bundled sample data.

    python3 examples/data/generate.py

Standard library only, fixed seed, no clock: re-running rewrites every file
byte-for-byte identically.  All people, companies, street addresses, emails and
phone numbers are fictional (555-01xx / Ofcom drama ranges for phones,
*.example.com company domains, invented local parts at webmail domains).
"""
from __future__ import annotations

import csv
import io
import json
import random
import unicodedata
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

SEED = 20261128
OUT = Path(__file__).resolve().parent
UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REF_DATE = date(2026, 11, 28)  # "today" for age ranges; never the real clock
rng = random.Random(SEED)
stats: Counter = Counter()

# ----------------------------------------------------------------- pools
NICKNAMES = {
    "Robert": ["Bob", "Rob", "Bobby"], "William": ["Bill", "Will"], "Elizabeth": ["Liz", "Beth"],
    "Katherine": ["Kate", "Katie"], "Michael": ["Mike"], "James": ["Jim", "Jimmy"],
    "Jennifer": ["Jen", "Jenny"], "Richard": ["Rick", "Rich"], "Thomas": ["Tom"],
    "Christopher": ["Chris"], "Margaret": ["Maggie", "Peggy"], "Joseph": ["Joe"],
    "Daniel": ["Dan", "Danny"], "Anthony": ["Tony"], "Patricia": ["Pat", "Trish"],
    "Alexander": ["Alex"], "Samantha": ["Sam"], "Nicholas": ["Nick"], "Jonathan": ["Jon"],
    "Deborah": ["Deb", "Debbie"], "Stephen": ["Steve"], "Rebecca": ["Becky"],
    "Benjamin": ["Ben"], "Matthew": ["Matt"], "Andrew": ["Andy", "Drew"], "Edward": ["Ed", "Ted"],
    "Susan": ["Sue"], "Victoria": ["Vicky"], "Charles": ["Charlie", "Chuck"], "Kimberly": ["Kim"],
    "Jessica": ["Jess"], "Timothy": ["Tim"], "Abigail": ["Abby"], "Gregory": ["Greg"],
    "Katharina": ["Kathi"], "Maximilian": ["Max"], "Johannes": ["Hannes"],
}
FIRST = {
    ("EN", "F"): ["Elizabeth", "Katherine", "Jennifer", "Margaret", "Patricia", "Samantha", "Deborah",
                  "Rebecca", "Susan", "Victoria", "Kimberly", "Jessica", "Abigail", "Emily", "Sarah",
                  "Laura", "Olivia", "Hannah", "Grace", "Priya", "Aisha", "Mei", "Fatima", "Amara",
                  "Sofia", "Chloé", "Zoë", "Yuki", "Maria", "Ana"],
    ("EN", "M"): ["Robert", "William", "Michael", "James", "Richard", "Thomas", "Christopher", "Joseph",
                  "Daniel", "Anthony", "Alexander", "Nicholas", "Jonathan", "Stephen", "Benjamin",
                  "Matthew", "Andrew", "Edward", "Charles", "Timothy", "Gregory", "David", "Brian",
                  "Ethan", "Noah", "Wei", "Carlos", "Kwame", "Nikhil", "Diego", "José", "Seán"],
    ("DE", "F"): ["Anna", "Katharina", "Lena", "Greta", "Sabine", "Leonie", "Zoë", "Jana"],
    ("DE", "M"): ["Jürgen", "Björn", "Lukas", "Maximilian", "Johannes", "Jörg", "Sören", "Felix", "Tobias"],
    ("FR", "F"): ["Émilie", "Geneviève", "Chloé", "Isabelle"],
    ("FR", "M"): ["François", "Mathieu", "Étienne", "Luc"],
}
LAST = {
    "EN": ["Johnson", "Williams", "Brown", "Garcia", "Martinez", "Anderson", "Thompson", "Nguyen", "Patel",
           "Okafor", "Kowalski", "Lindqvist", "Haddad", "Kim", "Chen", "Rossi", "O'Connor", "McAllister",
           "Van Der Berg", "De la Cruz", "Whitfield", "Harrington", "Castellano", "Delgado", "Fairbanks",
           "Holloway", "Pemberton", "Ashworth", "Blackwood", "Calloway", "Dunmore", "Ellison", "Fenwick",
           "Galloway", "Hargrove", "Kingsley", "Lockhart", "Marlow", "Northcott", "Prescott", "Radcliffe",
           "Sterling", "Thornton", "Underwood", "Winslow", "Yardley", "Núñez", "Smith-Jones", "Reyes",
           "Okonkwo", "Sato", "Brennan", "Quinlan", "Ó Briain"],
    "DE": ["Müller", "Schröder", "Weiß", "Becker", "Hoffmann", "Fischer", "Krüger", "Wagner", "Schäfer",
           "Neumann", "Zimmermann", "Braun", "Lehmann", "Köhler"],
    "FR": ["Tremblay", "Gagnon", "Côté", "Bélanger", "Roy", "Lavoie", "Fortin", "MacDonald", "Leblanc"],
}
# (city, state code, state name, postal prefixes, area codes, weight)
CITIES = {
    "US": [("Chicago", "IL", "Illinois", ["606"], ["312", "773", "872"], 4),
           ("Springfield", "IL", "Illinois", ["627"], ["217"], 1), ("Austin", "TX", "Texas", ["787"], ["512"], 2),
           ("Portland", "OR", "Oregon", ["972"], ["503"], 1), ("Denver", "CO", "Colorado", ["802"], ["303"], 2),
           ("Boston", "MA", "Massachusetts", ["021"], ["617"], 2), ("Seattle", "WA", "Washington", ["981"], ["206"], 2),
           ("New York", "NY", "New York", ["100"], ["212", "646"], 2), ("Atlanta", "GA", "Georgia", ["303"], ["404"], 1),
           ("Minneapolis", "MN", "Minnesota", ["554"], ["612"], 1), ("Madison", "WI", "Wisconsin", ["537"], ["608"], 1),
           ("Raleigh", "NC", "North Carolina", ["276"], ["919"], 1)],
    "CA": [("Toronto", "ON", "Ontario", ["M5V", "M4W", "M6K"], ["416"], 3), ("Ottawa", "ON", "Ontario", ["K1P", "K2P"], ["613"], 1),
           ("Vancouver", "BC", "British Columbia", ["V6B", "V5K"], ["604"], 2),
           ("Montreal", "QC", "Quebec", ["H2X", "H3B"], ["514"], 2), ("Calgary", "AB", "Alberta", ["T2P", "T3A"], ["403"], 1)],
    "UK": [("London", "", "England", ["SW1A", "EC2M", "N1", "SE1", "W1D", "E14"], ["20 7946"], 4),
           ("Manchester", "", "England", ["M1", "M4", "M20"], ["161 496"], 2), ("Edinburgh", "", "Scotland", ["EH1", "EH3"], ["131 496"], 1),
           ("Birmingham", "", "England", ["B1", "B15"], ["121 496"], 1), ("Bristol", "", "England", ["BS1", "BS8"], ["117 496"], 1)],
    "DE": [("Berlin", "BE", "Berlin", [(10115, 14199)], ["30"], 3), ("München", "BY", "Bayern", [(80331, 81929)], ["89"], 2),
           ("Hamburg", "HH", "Hamburg", [(20095, 22769)], ["40"], 1), ("Köln", "NW", "Nordrhein-Westfalen", [(50667, 51149)], ["221"], 1),
           ("Frankfurt am Main", "HE", "Hessen", [(60306, 60599)], ["69"], 1)],
}
DE_EXONYM = {"München": "Munich", "Köln": "Cologne", "Frankfurt am Main": "Frankfurt"}
DE_STATE_EN = {"Bayern": "Bavaria", "Nordrhein-Westfalen": "North Rhine-Westphalia", "Hessen": "Hesse"}
STREET_NAMES = ["Maple", "Oak", "Lakeview", "Cedar", "Willow", "Harbor", "Juniper", "Briarwood", "Hawthorne",
                "Sycamore", "Chestnut", "Meadowlark", "Foxglove", "Ridgeview", "Larkspur", "Main", "Elm", "Birch"]
US_TYPES = [("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Boulevard", "Blvd"), ("Lane", "Ln"),
            ("Drive", "Dr"), ("Court", "Ct"), ("Place", "Pl")]
UK_TYPES = [("Road", "Rd"), ("Street", "St"), ("Lane", "Ln"), ("Crescent", "Cres"), ("Gardens", "Gdns"), ("Close", "Cl")]
DIRS = [("North", "N"), ("South", "S"), ("East", "E"), ("West", "W")]
DE_STREETS = ["Linden", "Birken", "Kastanien", "Ahorn", "Goethe", "Schiller", "Mühlen", "Garten", "Wiesen"]
COMPANIES = [  # name, domain slug, industry, employees, revenue band
    ("Brightwave Analytics", "brightwave", "Software", 120, "$10M-$50M"),
    ("Northwind Outfitters", "northwind-outfitters", "Retail", 850, "$50M-$250M"),
    ("Lakeshore Logistics", "lakeshore-logistics", "Transportation & Logistics", 430, "$50M-$250M"),
    ("Copperleaf Design Studio", "copperleaf", "Design", 18, "$1M-$10M"),
    ("Bluepeak Software", "bluepeak", "Software", 260, "$10M-$50M"),
    ("Harbor & Finch", "harborfinch", "Consulting", 45, "$1M-$10M"),
    ("Summit Ridge Health", "summitridge-health", "Healthcare", 2300, "$250M+"),
    ("Greenline Energy", "greenline-energy", "Energy", 610, "$50M-$250M"),
    ("Redwood Legal LLP", "redwood-legal", "Legal Services", 75, "$10M-$50M"),
    ("Kestrel Robotics", "kestrel-robotics", "Manufacturing", 190, "$10M-$50M"),
    ("Maple & Vine Bakery", "maplevine", "Food & Beverage", 12, "<$1M"),
    ("Orbital Freight GmbH", "orbital-freight", "Transportation & Logistics", 340, "$50M-$250M"),
    ("Thistle Financial", "thistle-financial", "Financial Services", 980, "$250M+"),
    ("Pinecone Media", "pinecone-media", "Media", 60, "$1M-$10M"),
    ("Quarry Hill Architects", "quarryhill", "Architecture", 32, "$1M-$10M"),
    ("Silverline Insurance", "silverline-ins", "Insurance", 1500, "$250M+"),
    ("Tidewater Labs", "tidewater-labs", "Biotechnology", 210, "$10M-$50M"),
    ("Wildflower Schools", "wildflower-schools", "Education", 400, "$10M-$50M"),
    ("Zephyr Cycles", "zephyr-cycles", "Retail", 55, "$1M-$10M"),
    ("Aurora Hotels", "aurora-hotels", "Hospitality", 3200, "$250M+"),
    ("Cobalt Systems", "cobalt-systems", "Software", 720, "$50M-$250M"),
    ("Driftwood Coffee Co.", "driftwood-coffee", "Food & Beverage", 140, "$10M-$50M"),
]
TITLES = ["Marketing Manager", "Software Engineer", "Operations Director", "Nurse Practitioner", "Account Executive",
          "Teacher", "Owner", "CFO", "Product Designer", "Data Analyst", "Office Manager", "VP Sales", "Pharmacist",
          "Attorney", "Architect", "Student", "Retired", "Consultant", ""]
WEBMAIL = [("gmail.com", 30), ("yahoo.com", 9), ("outlook.com", 9), ("hotmail.com", 7), ("icloud.com", 10)]
TIERS = [(None, 35), ("Bronze", 25), ("Silver", 20), ("Gold", 14), ("Platinum", 6)]
SF_TIER_SPELLING = {"Bronze": ["Bronze", "Bronze", "bronze"], "Silver": ["Silver", "Silver", "silver", "SILVER"],
                    "Gold": ["Gold", "Gold", "GOLD", "gold member"], "Platinum": ["Platinum", "Platinum", "PLATINUM", "Platinum Member"]}
PRODUCTS = [("prod_1001", "RS-1001-BLK", "Running Shoes", 119.99, "Footwear"),
            ("prod_1002", "TRS-1002-GRN", "Trail Running Shoes", 139.00, "Footwear"),
            ("prod_2001", "SCK-2001-GRY", "Trail Socks", 14.99, "Apparel"),
            ("prod_2002", "SHT-2002-BLU", "Running Shorts", 34.99, "Apparel"),
            ("prod_2003", "TGT-2003-BLK", "Compression Tights", 59.00, "Apparel"),
            ("prod_2004", "JKT-2004-RED", "Rain Jacket", 149.00, "Apparel"),
            ("prod_3001", "YM-3001-PUR", "Yoga Mat", 39.50, "Fitness"),
            ("prod_3002", "FR-3002-BLK", "Foam Roller", 29.99, "Fitness"),
            ("prod_4001", "WB-4001-750", "Water Bottle", 24.00, "Accessories"),
            ("prod_4002", "HV-4002-M", "Hydration Vest", 89.95, "Accessories"),
            ("prod_4003", "HL-4003-300", "Headlamp", 49.99, "Accessories")]
PAGES = [("Home", "/"), ("Pricing", "/pricing"), ("Running Shoes", "/shop/running-shoes"), ("Sale", "/sale"),
         ("Trail Running Tips", "/blog/trail-running-tips"), ("Checkout", "/checkout"), ("Account", "/account")]
SUBJECTS = ["Summer trail gear: 20% off", "New arrivals: Trail Running Shoes", "Your monthly training plan",
            "Last chance: free shipping ends tonight", "Rain or shine: jackets are back", "Members-only early access",
            "Your cart misses you", "Yoga Mat restock", "Winter running checklist"]
SHOP = "https://shop.example.com"
EVENTS_FROM, EVENTS_TO = datetime(2025, 6, 1, tzinfo=UTC), datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC)


# --------------------------------------------------------------- helpers
def wchoice(items):
    """Pick from [(value, weight), ...]."""
    return rng.choices([v for v, _ in items], weights=[w for _, w in items])[0]


def chance(p):
    return rng.random() < p


def fold(s, german=False):
    """ASCII-fold a name for email local parts ("Ó Briain" -> "obriain")."""
    if german:
        for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue")):
            s = s.replace(a, b)
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s.lower() if c.isascii() and c.isalnum())


def rand_dt(a, b):
    return a + timedelta(seconds=rng.randrange(int((b - a).total_seconds())), milliseconds=rng.randrange(1000))


def rand_uuid():
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def epoch_ms(d):
    return (d - EPOCH) // timedelta(milliseconds=1)


def sf_datetime(d):
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".000+0000"


def rfc3339(d, with_ms=True):
    return d.strftime("%Y-%m-%dT%H:%M:%S") + (f".{d.microsecond // 1000:03d}" if with_ms else "") + "Z"


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_used_ids: set = set()


def sf_id():
    """18-char Salesforce Contact id with the real case-checksum suffix."""
    while True:
        base = "003Dn00000" + "".join(rng.choice(_ALNUM) for _ in range(5))
        suffix = ""
        for i in range(3):
            bits = sum(1 << j for j, c in enumerate(base[i * 5:i * 5 + 5]) if "A" <= c <= "Z")
            suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
        if base + suffix not in _used_ids:
            _used_ids.add(base + suffix)
            return base + suffix


def hs_id():
    while True:
        n = rng.choice([5, 6, 7, 8, 8, 9, 10, 11, 11])
        v = str(rng.randint(10 ** (n - 1), 10 ** n - 1))
        if v not in _used_ids:
            _used_ids.add(v)
            return v


def typo(s):
    """One-letter insert/delete/substitute/transpose somewhere after the first letter."""
    while True:
        i = rng.randrange(1, len(s) - 1)
        op = rng.choice(["insert", "delete", "substitute", "transpose"])
        c = rng.choice("aeiourstnl")
        t = {"insert": s[:i] + c + s[i:], "delete": s[:i] + s[i + 1:], "substitute": s[:i] + c + s[i + 1:],
             "transpose": s[:i] + s[i + 1] + s[i] + s[i + 2:]}[op]
        if t != s:
            return t


def ordinal(n):
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


# ---------------------------------------------------- phones & addresses
_used_phones: set = set()


def new_phone(country, area_codes, mobile):
    for _ in range(500):
        if country in ("US", "CA"):
            g = [rng.choice(area_codes), "555", f"01{rng.randrange(100):02d}"]
            cc = "1"
        elif country == "UK":
            cc = "44"
            g = ["7700", f"900{rng.randrange(1000):03d}"] if mobile else area_codes[0].split() + [f"0{rng.randrange(1000):03d}"]
        else:
            cc = "49"
            g = [rng.choice(["151", "160", "172"]), f"5550{rng.randrange(10000):04d}"] if mobile \
                else [area_codes[0], f"5550{rng.randrange(1000):03d}"]
        key = cc + "".join(g)
        if key not in _used_phones:
            _used_phones.add(key)
            return {"cc": cc, "g": g}
    raise RuntimeError("phone range exhausted")


def fmt_phone(ph):
    cc, g = ph["cc"], ph["g"]
    if cc == "1":
        a, b, c = g
        style = wchoice([("paren", 5), ("dot", 2), ("intl", 2), ("dash", 3), ("digits", 1), ("e164", 1),
                         ("one", 1), ("intl_paren", 1), ("ext", 0.4)])
        return {"paren": f"({a}) {b}-{c}", "dot": f"{a}.{b}.{c}", "intl": f"+1 {a} {b} {c}", "dash": f"{a}-{b}-{c}",
                "digits": f"{a}{b}{c}", "e164": f"+1{a}{b}{c}", "one": f"1-{a}-{b}-{c}",
                "intl_paren": f"+1 ({a}) {b}-{c}", "ext": f"{a}-{b}-{c} x{200 + len(_used_phones) % 300}"}[style]
    area, rest = g[0], " ".join(g[1:])
    style = wchoice([("intl", 4), ("national", 4), ("intl_paren", 1), ("e164", 1), ("00", 1)])
    return {"intl": f"+{cc} {area} {rest}", "national": f"0{area} {rest}", "intl_paren": f"+{cc} (0){area} {rest}",
            "e164": f"+{cc}{area}{''.join(g[1:])}", "00": f"00{cc} {area} {rest}"}[style]


def new_address(country, city=None):
    opts = CITIES[country]
    c = next(x for x in opts if x[0] == city) if city else wchoice([(x, x[5]) for x in opts])
    name, code, state, prefixes, areas, _ = c
    pre = rng.choice(prefixes)
    if country == "US":
        postal, plus4 = pre + f"{rng.randrange(100):02d}", f"{rng.randrange(10000):04d}"
    elif country == "UK":
        postal, plus4 = f"{pre} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}", ""
    elif country == "CA":
        L = "ABCEGHJKLMNPRSTVWXYZ"
        postal, plus4 = f"{pre} {rng.randint(0, 9)}{rng.choice(L)}{rng.randint(0, 9)}", ""
    else:
        postal, plus4 = str(rng.randint(*pre)), ""
    a = {"country": country, "city": name, "state": code, "state_name": state, "areas": areas,
         "postal": postal, "plus4": plus4, "number": rng.randint(1, 4999), "unit": None}
    if country == "DE":
        a.update(kind="de", name=rng.choice(DE_STREETS), suffix=rng.choice(["straße", "straße", "weg", "allee"]),
                 number=rng.randint(1, 120))
    elif country == "UK":
        a.update(kind="uk", name=rng.choice(STREET_NAMES), type=rng.choice(UK_TYPES), number=rng.randint(1, 240))
        if chance(0.3):
            a["unit"] = ("Flat", "Flat", str(rng.randint(1, 12)))
    else:
        a.update(kind="us", name=rng.choice(STREET_NAMES), type=rng.choice(US_TYPES),
                 dir=rng.choice(DIRS) if chance(0.35) else None)
        if chance(0.35):
            a["unit"] = rng.choice([("Apartment", "Apt", f"{rng.randint(1, 12)}{rng.choice('ABCD')}"),
                                    ("Suite", "Ste", str(rng.randint(1, 9) * 100)), ("Unit", "Unit", str(rng.randint(1, 40)))])
    return a


STREET_STYLES = [("full", 3), ("abbr_dot", 3), ("abbr", 3), ("hash", 1), ("upper", 1)]


def render_street(a, style):
    if a["kind"] == "de":
        suf = a["suffix"]
        if suf == "straße":
            suf = {"abbr": "str.", "abbr_dot": "str.", "hash": "strasse"}.get(style, "straße")
        s = f"{a['name']}{suf} {a['number']}"
        return s.upper() if style == "upper" else s
    full = style == "full"
    dot = "." if style == "abbr_dot" else ""
    typ = a["type"][0] if full else a["type"][1] + dot
    if a["kind"] == "uk":
        s = f"{a['number']} {a['name']} {typ}"
        if a["unit"]:
            s = f"Flat {a['unit'][2]}, {s}" if style in ("full", "abbr_dot") else f"{s}, Flat {a['unit'][2]}"
        return s.upper() if style == "upper" else s
    d = a["dir"]
    s = f"{a['number']} " + (f"{d[0] if full else d[1] + dot} " if d else "") + f"{a['name']} {typ}"
    if a["unit"]:
        u_full, u_abbr, v = a["unit"]
        if full:
            s += f", {u_full} {v}"
        elif style == "abbr_dot":
            s += f", {u_abbr} {v}"
        elif style == "hash":
            s += f" #{v}"
        else:
            s += f" {u_abbr} {v}"
    return s.upper() if style == "upper" else s


# ------------------------------------------------------------------ people
_used_emails: set = set()


def new_email(first, last, german, domain=None):
    f, l = fold(first, german), fold(last, german)
    dom = domain or wchoice(WEBMAIL)
    patterns = [f"{f}.{l}", f"{f}{l}", f"{f[0]}{l}", f"{f}_{l}", f"{f}.{l}{rng.randint(1, 99)}",
                f"{l}.{f}", f"{f}{rng.randint(70, 99)}", f"{f[0]}.{l}"]
    local = rng.choice(patterns[:4] if domain else patterns)
    email, n = f"{local}@{dom}", 2
    while email in _used_emails:
        email, n = f"{local}{n}@{dom}", n + 1
    _used_emails.add(email)
    return email


FORCED = [  # hand-picked people so the required edge cases always exist
    ("José", "Núñez", "M", "US", "Austin"), ("Zoë", "Whitfield", "F", "UK", "London"),
    ("Jürgen", "Müller", "M", "DE", "München"), ("Siobhán", "Ó Briain", "F", "UK", "Manchester"),
    ("Renée", "Tremblay", "F", "CA", "Toronto"),
    ("Michael", "Johnson", "M", "US", "Chicago"), ("Michael", "Johnson", "M", "US", "Denver"),  # same name, 2 people
    ("Emily", "Chen", "F", "US", "Seattle"), ("Emily", "Chen", "F", "CA", "Vancouver"),  # same name, 2 people
    ("Daniel", "O'Connor", "M", "US", "Boston"), ("Sarah", "O'Connor", "F", "US", "Boston"),  # couple, one household
]


def make_person(n, forced=None):
    if forced:
        first, last, gender, country, city = forced
    else:
        country, city = wchoice([("US", 70), ("CA", 10), ("UK", 12), ("DE", 8)]), None
        gender = rng.choice("FM")
        lang = {"DE": "DE", "CA": "FR" if chance(0.3) else "EN"}.get(country, "EN")
        first = rng.choice(FIRST[(lang, gender)])
        last = rng.choice(LAST[lang] if lang != "EN" or country != "CA" else LAST["EN"] + LAST["FR"])
    addr = new_address(country, city)
    company = rng.choice(COMPANIES) if chance(0.8) else None
    work = company and chance(0.4)
    german = country == "DE"
    p = {"pid": f"P{n:04d}", "first": first, "last": last, "gender": gender, "country": country, "addr": addr,
         "company": company, "title": rng.choice(TITLES),
         "email": new_email(first, last, german, f"{company[1]}.example.com" if work else None),
         "phone": new_phone(country, addr["areas"], False) if chance(0.75) else None,
         "mobile": new_phone(country, addr["areas"], True) if chance(0.6) else None,
         "birthdate": date(1950, 1, 1) + timedelta(days=rng.randrange(20454)),
         "tier": wchoice(TIERS), "optout": chance(0.06), "channel": rng.choice(["Email", "Email", "SMS", "email", ""]),
         "sf_created": rand_dt(datetime(2019, 1, 1, tzinfo=UTC), datetime(2025, 9, 30, tzinfo=UTC)),
         "hs_created": rand_dt(datetime(2020, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))}
    p["clv"] = {None: 0, "Bronze": 150, "Silver": 600, "Gold": 1800, "Platinum": 5200}[p["tier"]] * rng.uniform(0.4, 1.8)
    # HubSpot-side view of the person; noise plans below overwrite these
    p.update(hs_first=first, hs_last=last, hs_email=p["email"], hs_addr=addr, hs_birthdate=p["birthdate"])
    return p


def build_people():
    people = [make_person(i + 1, f) for i, f in enumerate(FORCED)]
    people += [make_person(i) for i in range(len(FORCED) + 1, 241)]
    a, b = people[9], people[10]  # the O'Connor household shares address and landline
    b["addr"] = b["hs_addr"] = a["addr"]
    b["phone"] = a["phone"] = a["phone"] or new_phone("US", a["addr"]["areas"], False)
    membership = ["both"] * (144 - len(FORCED)) + ["sf"] * 48 + ["hs"] * 48
    rng.shuffle(membership)
    for p, m in zip(people, ["both"] * len(FORCED) + membership):
        p["in_sf"], p["in_hs"] = m in ("both", "sf"), m in ("both", "hs")
    externals = [make_person(i) for i in range(241, 261)]  # enrichment-only, never customers
    for p in externals:
        p["in_sf"] = p["in_hs"] = False
    return people, externals


def plan_noise(people):
    """Decide targeted per-person differences between the two CRMs (exact counts)."""
    both = [p for p in people if p["in_sf"] and p["in_hs"] and p["pid"] > "P0011"]
    rng.shuffle(both)
    take = lambda k: [both.pop() for _ in range(k)]  # noqa: E731
    for p in take(2):
        p["hs_first"], p["hs_last"] = p["last"], p["first"]
        stats["hs swapped first/last"] += 1
    for p in [p for p in both if p["gender"] == "F"][:3]:
        both.remove(p)
        p["hs_last"] = rng.choice([n for n in LAST["EN"] if n != p["last"]])
        stats["hs married-name change (same email/phone)"] += 1
    for p in take(9):
        p["hs_addr"] = new_address(p["country"], p["addr"]["city"] if chance(0.5) else None)
        stats["hs moved (new address, same email)"] += 1
    for p in take(9):
        p["hs_email"] = p["current_email"] = new_email(p["first"], p["last"], p["country"] == "DE")
        p["phone"] = p["phone"] or new_phone(p["country"], p["addr"]["areas"], False)
        stats["hs changed email (same name+phone)"] += 1
    for p in [p for p in both if p["birthdate"].day <= 12 and p["birthdate"].day != p["birthdate"].month][:3]:
        both.remove(p)
        d = p["birthdate"]
        p["hs_birthdate"] = date(d.year, d.day, d.month)
        stats["hs birthdate day/month swapped"] += 1
    for p in both:
        if p["first"] in NICKNAMES and chance(0.45):
            p["hs_first"] = rng.choice(NICKNAMES[p["first"]])
            stats["hs nickname instead of formal first name"] += 1
        elif chance(0.09):
            key = rng.choice(["hs_first", "hs_last"])
            if len(p[key]) >= 4 and p[key].isalpha():
                p[key] = typo(p[key])
                stats["hs one-letter typo in name"] += 1
        local, dom = p["email"].split("@")
        if dom == "gmail.com" and chance(0.6):
            if "." in local and chance(0.5):
                local = local.replace(".", "")
            elif "." not in local:  # dot at the name boundary when we can see it
                f = fold(p["first"], p["country"] == "DE")
                i = len(f) if local.startswith(f) and len(local) > len(f) else 1
                local = local[:i] + "." + local[i:]
            if chance(0.6):
                local += "+" + rng.choice(["news", "shop", "promo", "deals", "2025"])
            if stats["hs gmail dot/+tag/googlemail variant"] == 3:
                dom = "googlemail.com"
            p["hs_email"] = f"{local}@{dom}"
            stats["hs gmail dot/+tag/googlemail variant"] += 1
        elif chance(0.12):
            p["hs_email"] = p["email"].title()
            stats["hs email different letter case"] += 1
    # Salesforce-side email problems (only on SF members; HubSpot keeps the good address)
    sf = [p for p in people if p["in_sf"] and p["pid"] > "P0011"]
    rng.shuffle(sf)
    webmail = [p for p in sf if p["email"].split("@")[1] in ("gmail.com", "yahoo.com", "hotmail.com")]
    for p, dom in zip(webmail[:3], ["gmial.com", "yaho.com", "hotmial.com"]):
        p["sf_email_issue"] = ("typo domain", p["email"].split("@")[0] + "@" + dom)
    kestrel, harbor = COMPANIES[9], COMPANIES[5]
    rest = [p for p in sf if "sf_email_issue" not in p]
    for p, co, role in ((rest[0], kestrel, "sales"), (rest[1], kestrel, "sales"), (rest[2], harbor, "info")):
        p["company"] = co
        p["sf_email_issue"] = ("role account", f"{role}@{co[1]}.example.com")
    for kind in ["missing domain", "double dot", "no @", "trailing dot", "comma in domain"]:
        p = next(q for q in rest[3:] if "sf_email_issue" not in q and (kind != "double dot" or "." in q["email"].split("@")[0]))
        local, dom = p["email"].split("@")
        bad = {"missing domain": f"{local}@", "no @": f"{local}.{dom}", "trailing dot": f"{p['email']}.",
               "double dot": f"{local.replace('.', '..', 1)}@{dom}", "comma in domain": f"{local}@{dom.replace('.', ',')}"}[kind]
        p["sf_email_issue"] = (kind, bad)
    rest = [p for p in rest if "sf_email_issue" not in p]
    for p in rest[:10]:
        p["sf_email_issue"] = ("missing", "")
    for p in rest[10:12]:
        p["sf_placeholder_birthdate"] = True
    for p in people:
        if "sf_email_issue" in p:
            stats[f"sf email: {p['sf_email_issue'][0]}"] += 1


# -------------------------------------------------------------- Salesforce
SF_HEADER = ["Id", "Salutation", "FirstName", "LastName", "Email", "Phone", "MobilePhone", "Birthdate", "MailingStreet",
             "MailingCity", "MailingState", "MailingPostalCode", "MailingCountry", "AccountName", "Title", "LeadSource",
             "HasOptedOutOfEmail", "Loyalty_Tier__c", "Customer_Lifetime_Value__c", "Preferred_Channel__c",
             "CreatedDate", "LastModifiedDate"]
SF_COUNTRY = {"US": [("United States", 7), ("USA", 2), ("US", 1)], "UK": [("United Kingdom", 4), ("UK", 1), ("GB", 1)],
              "CA": [("Canada", 6), ("CA", 1)], "DE": [("Germany", 4), ("Deutschland", 1), ("DE", 1)]}


def sf_row(p, dup=False, street_style=None):
    first, last = p["first"], p["last"]
    if dup and p["first"] in NICKNAMES:
        first = NICKNAMES[first][0]
    r = rng.random()
    if r < 0.04:
        first, last = first.upper(), last.upper()
        stats["sf name ALL CAPS"] += 1
    elif r < 0.08:
        first, last = first.lower(), last.lower()
        stats["sf name all lower"] += 1
    elif r < 0.10:
        first, last = f" {first}", f"{last} "
        stats["sf name with stray leading/trailing space"] += 1
    sal = "" if chance(0.3) else ("Dr." if chance(0.07) else ("Mr." if p["gender"] == "M" else rng.choice(["Ms.", "Ms.", "Mrs."])))
    if sal == "Mr." and chance(0.1):
        sal = "Mr"
    email = p["sf_email_issue"][1] if "sf_email_issue" in p and not dup else p["email"]
    if email and not dup and chance(0.08):
        email = rng.choice([email.upper(), f" {email}", email.title()])
        stats["sf email with upper case or leading space"] += 1
    if dup:
        email = "" if chance(0.3) else email.upper()
    a = p["addr"]
    bd = "" if chance(0.12) else p["birthdate"].isoformat()
    if p.get("sf_placeholder_birthdate"):
        bd = "1900-01-01"
        stats["sf placeholder birthdate 1900-01-01"] += 1
    state = a["state"] if chance(0.85) or not a["state"] else a["state_name"]
    if a["country"] == "UK":
        state = "" if chance(0.7) else a["state_name"]
    elif a["country"] == "DE":
        state = a["state_name"] if chance(0.6) else ""
    created = p["sf_created"] - (timedelta(days=rng.randint(30, 400)) if dup else timedelta(0))
    modified = rand_dt(created, datetime(2026, 11, 20, tzinfo=UTC))
    co = p["company"]
    return {"Id": sf_id(), "Salutation": sal, "FirstName": first, "LastName": last, "Email": email,
            "Phone": fmt_phone(p["phone"]) if p["phone"] and (not dup or chance(0.5)) and chance(0.92) else "",
            "MobilePhone": fmt_phone(p["mobile"]) if p["mobile"] and chance(0.95) else "", "Birthdate": bd,
            "MailingStreet": render_street(a, street_style or wchoice(STREET_STYLES)) if chance(0.96) else "",
            "MailingCity": a["city"], "MailingState": state, "MailingPostalCode": a["postal"],
            "MailingCountry": wchoice(SF_COUNTRY[a["country"]]), "AccountName": co[0] if co else "",
            "Title": p["title"], "LeadSource": rng.choice(["Web", "Web", "Phone Inquiry", "Partner Referral", "Trade Show", "Word of mouth", "Other", ""]),
            "HasOptedOutOfEmail": "true" if p["optout"] else "false",
            "Loyalty_Tier__c": rng.choice(SF_TIER_SPELLING[p["tier"]]) if p["tier"] and chance(0.93) else "",
            "Customer_Lifetime_Value__c": f"{p['clv']:.2f}" if p["tier"] and chance(0.88) else ("0.00" if chance(0.3) else ""),
            "Preferred_Channel__c": p["channel"], "CreatedDate": sf_datetime(created), "LastModifiedDate": sf_datetime(modified)}


def csv_line(values, eol):
    buf = io.StringIO()
    csv.writer(buf, lineterminator=eol).writerow(values)
    return buf.getvalue()


def write_salesforce(people):
    members = [p for p in people if p["in_sf"]]
    candidates = [p for p in members if p["in_hs"] and p["pid"] > "P0011" and "sf_email_issue" not in p]
    ragged = candidates[5]
    wide = next(p for p in candidates[6:] if p["addr"]["unit"] and p["addr"]["kind"] == "us")
    rows = [(p, sf_row(p)) for p in members if p not in (ragged, wide)]
    dups = [p for p in members[20:] if p not in (ragged, wide)][::17][:8]
    rows += [(p, sf_row(p, dup=True)) for p in dups]
    stats["sf duplicate contact rows (same person twice)"] = len(dups)
    rng.shuffle(rows)
    rows.insert(70, (ragged, "RAGGED"))
    rows.insert(125, (wide, "WIDE"))
    chunks, truth, malformed = [csv_line(SF_HEADER, "\r\n")], [], []
    for i, (p, row) in enumerate(rows):
        line_no = 1 + sum(c.count("\n") for c in chunks)
        if row == "RAGGED":  # export cut off after MailingCity: 10 of 22 columns
            vals = list(sf_row(p).values())[:10]
            chunks.append(csv_line(vals, "\r\n"))
            malformed.append((line_no, len(chunks), p["pid"], "ragged: only 10 of 22 columns (row cut off after MailingCity)"))
            continue
        if row == "WIDE":  # street with a comma written without quotes -> 23 columns
            r = sf_row(p, street_style="abbr_dot")
            if p["addr"]["unit"] is None or "," not in r["MailingStreet"]:
                raise RuntimeError("wide-row person needs a unit")
            vals = [v if k == "MailingStreet" or not v else csv_line([v], "") for k, v in r.items()]
            chunks.append(",".join(vals) + "\r\n")
            malformed.append((line_no, len(chunks), p["pid"], "too many columns: 23 instead of 22 (MailingStreet "
                              f"`{r['MailingStreet']}` contains a comma but is not quoted)"))
            continue
        if malformed and len(malformed) == 2 and ", " in row["MailingStreet"] and chance(0.35):
            row["MailingStreet"] = row["MailingStreet"].replace(", ", "\n", 1)  # multi-line street (quoted)
            stats["sf MailingStreet with embedded newline (quoted)"] += 1
        chunks.append(csv_line(list(row.values()), "\r\n"))
        truth.append(("salesforce", row["Id"], p["pid"]))
    (OUT / "salesforce_contacts.csv").write_bytes(b"\xef\xbb\xbf" + "".join(chunks).encode("utf-8"))
    return truth, malformed, len(rows)


# ----------------------------------------------------------------- HubSpot
HS_HEADER = ["hs_object_id", "firstname", "lastname", "email", "phone", "mobilephone", "date_of_birth", "address",
             "city", "state", "zip", "country", "company", "jobtitle", "lifecyclestage", "hs_email_optout",
             "createdate", "lastmodifieddate"]
HS_COUNTRY = {"US": [("United States", 5), ("USA", 3), ("U.S.", 1), ("US", 2), ("United States of America", 1), ("us", 1)],
              "UK": [("United Kingdom", 4), ("UK", 3), ("U.K.", 1), ("GB", 1), ("England", 1), ("Great Britain", 1)],
              "CA": [("Canada", 6), ("CA", 1), ("canada", 1), ("CAN", 1)],
              "DE": [("Germany", 3), ("Deutschland", 2), ("DE", 1), ("germany", 1)]}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def hs_dob(d):
    style = wchoice([("", 18), ("mdy_pad", 25), ("mdy", 10), ("iso", 25), ("long", 12), ("ordinal", 10)])
    stats[f"hs date_of_birth format:{style or 'empty'}"] += 1
    return {"": "", "mdy_pad": f"{d.month:02d}/{d.day:02d}/{d.year}", "mdy": f"{d.month}/{d.day}/{d.year}",
            "iso": d.isoformat(), "long": f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
            "ordinal": f"{ordinal(d.day)} {MONTHS[d.month - 1]} {d.year}"}[style]


def hs_row(p, oid, dup=False, plain=False):
    first, last = p["hs_first"], p["hs_last"]
    r = 1.0 if plain else rng.random()
    if r < 0.05:
        first, last = first.upper(), last.upper()
        stats["hs name ALL CAPS"] += 1
    elif r < 0.11:
        first, last = first.lower(), last.lower()
        stats["hs name all lower"] += 1
    email = p["hs_email"]
    if dup:
        local, dom = email.split("@")
        email = rng.choice([email, email.lower(), f"{local.split('+')[0]}+promo@{dom}"])
    elif chance(0.04):
        email = ""
        stats["hs email missing"] += 1
    a = p["hs_addr"]
    country, city, state, postal = a["country"], a["city"], a["state"], a["postal"]
    if country == "DE":
        city = DE_EXONYM.get(city, city) if chance(0.5) else city
        state = rng.choice([a["state_name"], DE_STATE_EN.get(a["state_name"], a["state_name"]), a["state"], ""])
        postal = f"D-{postal}" if chance(0.05) else postal
    elif country == "UK":
        state = rng.choice([a["state_name"], "", ""])
        postal = rng.choice([postal, postal, postal, postal.replace(" ", ""), postal.lower()])
    else:
        state = rng.choice([a["state"], a["state"], a["state_name"], a["state"].lower(), a["state_name"].lower()])
        if country == "US":
            if chance(0.2):
                postal += "-" + a["plus4"]
                stats["hs ZIP+4"] += 1
            if postal.startswith("0") and chance(0.5):
                postal = postal.lstrip("0")
                stats["hs ZIP lost leading zero (spreadsheet damage)"] += 1
        else:
            postal = rng.choice([postal, postal, postal.replace(" ", ""), postal.lower()])
            if city == "Montreal" and chance(0.5):
                city = "Montréal"
            if a["state_name"] == "Quebec" and chance(0.5):
                state = "Québec"
    if city == "New York" and chance(0.3):
        city = "New York City"
    city = rng.choice([city] * 8 + [city.upper(), city.lower(), city + " "])
    co = p["company"]
    company = "" if not co or chance(0.15) else rng.choice([co[0], co[0], co[0].lower(),
                                                             co[0] if co[0].endswith(("GmbH", "LLP", "Co.")) else co[0] + " Inc."])
    if p["tier"]:
        stage = rng.choice(["customer"] * 6 + ["opportunity", "evangelist"])
    else:
        stage = rng.choice(["subscriber", "lead", "lead", "marketingqualifiedlead", "salesqualifiedlead", "other"])
    created = p["hs_created"] + (timedelta(days=rng.randint(20, 300)) if dup else timedelta(0))
    modified = rand_dt(created, datetime(2026, 11, 20, tzinfo=UTC))
    return {"hs_object_id": oid, "firstname": first, "lastname": last, "email": email,
            "phone": fmt_phone(p["phone"]) if p["phone"] and chance(0.88) else "",
            "mobilephone": fmt_phone(p["mobile"]) if p["mobile"] and chance(0.85) else "",
            "date_of_birth": hs_dob(p["hs_birthdate"]),
            "address": render_street(a, wchoice(STREET_STYLES)) if chance(0.95) else "",
            "city": city, "state": state, "zip": postal, "country": wchoice(HS_COUNTRY[country]) if chance(0.96) else "",
            "company": company, "jobtitle": p["title"] if chance(0.8) else "", "lifecyclestage": stage,
            "hs_email_optout": rng.choice(["true"] * 9 + [""]) if p["optout"] else rng.choice(["false"] * 6 + ["", ""]),
            "createdate": str(epoch_ms(created)), "lastmodifieddate": str(epoch_ms(modified))}


def write_hubspot(people):
    members = [p for p in people if p["in_hs"]]
    bad = next(p for p in members if p["first"] == "Renée" and p["last"] == "Tremblay")
    rows = []
    for p in members:
        p["hs_ids"] = [] if p is bad else [hs_id()]
        rows.append((p, hs_row(p, hs_id() if p is bad else p["hs_ids"][0], plain=p is bad)))
    dups = [p for p in members[25:] if p is not bad][::19][:7]
    for p in dups:
        p["hs_ids"].append(hs_id())
        rows.append((p, hs_row(p, p["hs_ids"][-1], dup=True)))
    stats["hs duplicate contact rows (same person twice)"] = len(dups)
    rng.shuffle(rows)
    chunks, truth, malformed = [csv_line(HS_HEADER, "\n").encode("utf-8")], [], []
    for p, row in rows:
        if p is bad:
            line = csv_line(list(row.values()), "\n").encode("utf-8")
            if line.count("é".encode("utf-8")) != 1:
                raise RuntimeError("invalid-UTF-8 row must contain exactly one é")
            chunks.append(line.replace("é".encode("utf-8"), b"\xe9"))  # Latin-1 byte: invalid UTF-8
            malformed.append((len(chunks), len(chunks), p["pid"], "invalid UTF-8: `firstname` holds the Latin-1 byte "
                              f"0xE9 (`Ren\\xE9e`); hs_object_id {row['hs_object_id']}"))
            continue
        chunks.append(csv_line(list(row.values()), "\n").encode("utf-8"))
        truth.append(("hubspot", row["hs_object_id"], p["pid"]))
    (OUT / "hubspot_contacts.csv").write_bytes(b"".join(chunks))
    return truth, malformed, len(rows)


# ------------------------------------------------------------------ events
def write_events(people):
    campaigns = [(f"cmp_{d:%Y_%m_%d}", SUBJECTS[i % len(SUBJECTS)], d)
                 for i, d in enumerate(EVENTS_FROM + timedelta(days=19 * k, hours=15) for k in range(28))]
    orders = iter(range(100231, 999999, 37))
    events = []

    def ev(kind, ts, uid=None, anon=None, **extra):
        e = {"type": kind, "messageId": rand_uuid()}
        if uid:
            e["userId"] = uid
        if anon:
            e["anonymousId"] = anon
        e["timestamp"] = rfc3339(ts, with_ms=chance(0.9))
        e.update(extra)
        events.append((ts, e))

    def product():
        pid, sku, name, price, cat = rng.choice(PRODUCTS)
        return {"product_id": pid, "sku": sku, "name": name, "price": price, "category": cat}

    levels = ["dormant"] * 60 + ["light"] * 108 + ["regular"] * 53 + ["power"] * 19  # exact mix over 240 people
    rng.shuffle(levels)
    for p, level in zip(people, levels):
        n = {"dormant": 0, "light": rng.randint(1, 3), "regular": rng.randint(4, 12), "power": rng.randint(15, 40)}[level]
        stats[f"events activity:{level}"] += 1
        if n == 0:
            continue
        start = rand_dt(EVENTS_FROM, EVENTS_TO - timedelta(days=30))
        end = min(EVENTS_TO, start + timedelta(days=rng.randint(20, 540)))
        uids, anons = p.get("hs_ids", []), [rand_uuid() for _ in range(rng.choice([1, 1, 1, 2, 2, 3]))]
        email = p["hs_email"] if p["in_hs"] else p["email"]
        a = p["hs_addr"]
        for anon in anons:  # identify: link device to user/email
            if chance(0.75):
                camel = chance(0.5)
                traits = {"email": email, ("firstName" if camel else "first_name"): p["hs_first"],
                          ("lastName" if camel else "last_name"): p["hs_last"]}
                if chance(0.6):
                    traits["address"] = {"street": render_street(a, "abbr"), "city": a["city"], "state": a["state"] or a["state_name"],
                                         ("postalCode" if camel else "postal_code"): a["postal"], "country": a["country"]}
                ev("identify", rand_dt(start, start + (end - start) / 4), uids[0] if uids else None, anon, traits=traits)
                stats[f"events identify:{'camelCase' if camel else 'snake_case'}"] += 1
        for _ in range(n):
            ts = rand_dt(start, end)
            mode = wchoice([("user", 45), ("both", 20), ("anon", 35)]) if uids else "anon"
            uid = rng.choice(uids) if mode != "anon" else None
            anon = rng.choice(anons) if mode != "user" else None
            kind = wchoice([("Email Opened", 35), ("Email Link Clicked", 12), ("Product Viewed", 25),
                            ("Order Completed", 8), ("page", 20)])
            ctx = {"context": {"traits": {"email": email if chance(0.85) else email.upper()}}}
            if kind in ("Email Opened", "Email Link Clicked"):
                sent = [c for c in campaigns if start <= c[2] <= end] or campaigns[:1]
                cid, subject, sent_at = rng.choice(sent)
                props = {"campaign_id": cid, "subject": subject}
                if kind == "Email Opened":
                    machine = chance(0.8 if email.endswith("@icloud.com") else 0.15)
                    ts = sent_at + timedelta(seconds=rng.randint(2, 90) if machine else rng.randint(300, 72 * 3600),
                                               milliseconds=rng.randrange(1000))
                    if machine or chance(0.3):
                        props["sg_machine_open"] = machine
                        stats[f"events Email Opened sg_machine_open={str(machine).lower()}"] += 1
                else:
                    ts = sent_at + timedelta(seconds=rng.randint(600, 96 * 3600), milliseconds=rng.randrange(1000))
                    props["url"] = f"{SHOP}/sale?utm_source=email&utm_campaign={cid}"
                ev("track", ts, uid, anon, event=kind, properties=props,
                   **(ctx if chance(0.7) else {}))
            elif kind == "Product Viewed":
                ev("track", ts, uid, anon, event=kind, properties=product(), **(ctx if chance(0.15) else {}))
            elif kind == "Order Completed":
                items = [dict(product(), quantity=rng.choice([1, 1, 1, 2, 3])) for _ in range(rng.choice([1, 1, 2, 3]))]
                total = round(sum(i["price"] * i["quantity"] for i in items), 2)
                props = {"order_id": f"ORD-{next(orders)}", "total": total, "currency": "USD", "products": items}
                ev("track", ts, uid, anon, event=kind, properties=props, **(ctx if chance(0.5) else {}))
            else:
                name, path = rng.choice(PAGES)
                ev("page", ts, uid, anon, name=name, properties={"path": path, "url": SHOP + path, "title": f"{name} | Trailhead Supply Co.",
                                                                  "referrer": rng.choice(["", "https://www.google.com/", f"{SHOP}/"])})
    for _ in range(30):  # never-identified visitors: unattributable by design
        anon = rand_uuid()
        for _ in range(rng.randint(1, 4)):
            name, path = rng.choice(PAGES)
            ev("page", rand_dt(EVENTS_FROM, EVENTS_TO), None, anon, name=name,
               properties={"path": path, "url": SHOP + path, "title": f"{name} | Trailhead Supply Co.", "referrer": ""})
            stats["events anonymous-only (never identified)"] += 1
    # roughly chronological but not sorted: jitter of a few hours, plus a few very late arrivals
    keyed = [(ts + timedelta(hours=rng.gauss(0, 3)) + (timedelta(days=40) if chance(0.01) else timedelta(0)), i, e)
             for i, (ts, e) in enumerate(events)]
    keyed.sort(key=lambda t: (t[0], t[1]))
    lines = [json.dumps(e, ensure_ascii=False) for _, _, e in keyed]
    for e in events:
        stats[f"events type:{e[1]['type']}" + (f":{e[1]['event']}" if "event" in e[1] else "")] += 1
    n = len(lines)
    t1 = lines.pop(n // 5)
    lines.insert(n // 5, t1[: len(t1) * 3 // 5])  # truncated object (this event is lost)
    lines.insert(n // 2, json.dumps([json.loads(lines.pop(n // 2))], ensure_ascii=False))  # array, not object
    lines.insert(n // 2 + 300, "")  # blank line: ignorable, not malformed
    a, b = lines.pop(n * 4 // 5), lines.pop(n * 4 // 5)
    lines.insert(n * 4 // 5, a + b)  # two objects glued on one line (lost newline)
    malformed = [(n // 5 + 1, "truncated JSON object (line cut off mid-value)"),
                 (n // 2 + 1, "JSON array `[{...}]` instead of an object"),
                 (n * 4 // 5 + 1, "two JSON objects concatenated on one line (`{...}{...}`, missing newline)")]
    blank = n // 2 + 301
    (OUT / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    return malformed, blank, len(lines), n - 4


# -------------------------------------------------------------- enrichment
ENRICH_HEADER = ["email", "company", "industry", "employee_count", "annual_revenue_band", "age_range", "city", "country", "linkedin_url"]
COUNTRY_NAME = {"US": "United States", "UK": "United Kingdom", "CA": "Canada", "DE": "Germany"}


def write_enrichment(people, externals):
    chosen = rng.sample(people, 128) + externals
    keys = [(p, p.get("current_email", p["email"]).lower()) for p in chosen]
    changed = [p for p in chosen[:128] if "current_email" in p]
    keys += [(p, p["email"].lower()) for p in changed[:3]]  # old + new address of people who changed email
    stats["enrichment second row under old email"] = len(keys[len(chosen):])
    rng.shuffle(keys)
    rows, truth = [ENRICH_HEADER], []
    for p, email in keys:
        co = p["company"]
        age = (REF_DATE - p["birthdate"]).days // 365
        band = "65+" if age >= 65 else next(f"{lo}-{hi}" for lo, hi in ((18, 24), (25, 34), (35, 44), (45, 54), (55, 64)) if age <= hi)
        slug = f"{fold(p['first'])}-{fold(p['last'])}-{rng.getrandbits(24):06x}"
        rows.append([email, co[0] if co else "", co[2] if co else "", str(co[3]) if co and chance(0.9) else "",
                     co[4] if co else "", band if chance(0.9) else "", p["hs_addr"]["city"],
                     COUNTRY_NAME[p["country"]], f"https://www.linkedin.com/in/{slug}" if chance(0.7) else ""])
        truth.append(("enrichment", email, p["pid"]))
    (OUT / "enrichment.csv").write_text("".join(csv_line(r, "\n") for r in rows), encoding="utf-8", newline="")
    return truth, len(keys)


# ------------------------------------------------------- truth & README
def write_truth(rows):
    (OUT / "truth.csv").write_text("".join(csv_line(r, "\n") for r in [("source", "key", "person_id")] + rows),
                                   encoding="utf-8", newline="")


def pct(k, n):
    return f"{k} of {n} ({100 * k / n:.1f}%)" if n else str(k)


def write_readme(people, info):
    sf_mal, hs_mal, ev_mal = info["sf_malformed"], info["hs_malformed"], info["ev_malformed"]
    sf_n, hs_n = info["sf_rows"] - 2, info["hs_rows"] - 1
    role = ", ".join(f"{p['pid']} (`{p['sf_email_issue'][1]}`)" for p in people
                     if p.get("sf_email_issue", ("",))[0] == "role account")
    L = [
        "# Sample data for mergetag",
        "",
        "Everything here is **fictional** and was produced by `generate.py` (Python 3.11, standard library only,",
        f"`random.Random({SEED})`, no clock). Do not hand-edit these files; change the generator and regenerate:",
        "",
        "```sh",
        "python3 examples/data/generate.py",
        "```",
        "",
        "Re-running rewrites every file byte-for-byte identically (check with `sha256sum examples/data/*`).",
        "People, companies, street addresses and emails are invented: company domains are `*.example.com`,",
        "webmail addresses use invented local parts, phone numbers are in fictional ranges (NANP `555-01xx`,",
        "UK Ofcom drama ranges `07700 900xxx` / `020 7946 0xxx` / `0161 496 0xxx`..., German `...5550...`).",
        "",
        "The customer base is 240 people `P0001`..`P0240`: 144 (60%) are in both CRMs, 48 only in Salesforce,",
        "48 only in HubSpot. `P0241`..`P0260` are 20 outside people who appear only in `enrichment.csv`.",
        "",
        "## Files",
        "",
        "| file | content | data rows | encoding / line endings |",
        "| --- | --- | --- | --- |",
        f"| `salesforce_contacts.csv` | Salesforce Contact export, API-name headers | {info['sf_rows']} ({sf_n} well-formed + 2 malformed) | UTF-8 **with BOM**, **CRLF**, some quoted fields contain a bare LF |",
        f"| `hubspot_contacts.csv` | HubSpot contact export, internal property names as headers | {info['hs_rows']} ({hs_n} well-formed + 1 malformed) | UTF-8 except **one row with an invalid byte**, LF, no BOM |",
        f"| `events.jsonl` | Segment-spec events (`identify`, `track`, `page`), one JSON object per line | {info['ev_lines']} lines: {info['ev_valid']} valid events, 3 malformed, 1 blank | UTF-8, LF |",
        f"| `enrichment.csv` | third-party enrichment keyed by lowercase email | {info['en_rows']} | UTF-8, LF |",
        f"| `truth.csv` | ground truth `source,key,person_id` | {info['truth_rows']} | UTF-8, LF |",
        "",
        "Line numbers below are 1-based physical lines with the header as line 1 (the BOM does not count).",
        "",
        "## Deliberately malformed rows and lines",
        "",
        "None of these appear in `truth.csv`; the person each would have belonged to is given for reference.",
        "",
        "`salesforce_contacts.csv` (header has 22 columns):",
        "",
    ]
    L += [f"- line {ln} (record {rec}, person {pid}): {what}" for ln, rec, pid, what in sf_mal]
    L += ["", "`hubspot_contacts.csv` (header has 18 columns):", ""]
    L += [f"- line {ln} (person {pid}): {what}; the row has the right column count, so a reader using "
          "`ByteRecord`/lossy decoding can still see it" for ln, _, pid, what in hs_mal]
    L += ["", "`events.jsonl`:", ""]
    ev_lines = ev_mal + [(info["ev_blank"], "empty line (not malformed; a reader should skip it silently)")]
    L += [f"- line {ln}: {what}" for ln, what in sorted(ev_lines)] + [""]
    L += [
        "## What a reader must know",
        "",
        "- `salesforce_contacts.csv` starts with a UTF-8 BOM (`EF BB BF`): strip it or the first header reads",
        "  `\\u{feff}Id`. Records end with `\\r\\n`.",
        f"- Salesforce `MailingStreet` is a textarea: {stats['sf MailingStreet with embedded newline (quoted)']} rows after the",
        "  last malformed row hold a quoted two-line street (`\"12 N. Oak St.\\nApt 4B\"`, bare LF inside CRLF records),",
        "  so physical line numbers and record numbers drift apart after that point. Quoted commas are common too.",
        "- Salesforce datetimes look like `2024-03-01T14:22:05.000+0000`: the offset has no colon, so this is *not*",
        "  RFC 3339 (chrono: `%Y-%m-%dT%H:%M:%S%.3f%z`). `LastModifiedDate >= CreatedDate` in every well-formed row.",
        "- Salesforce booleans are `true`/`false`; HubSpot `hs_email_optout` is `true`/`false`/empty.",
        "- HubSpot `createdate`/`lastmodifieddate` are Unix epoch **milliseconds** (13-digit integers); ids are 5-11 digits.",
        "- HubSpot has one row that is not valid UTF-8: `csv::StringRecord` errors there, `csv::ByteRecord` does not.",
        "- HubSpot `zip` must be read as text (ZIP+4, leading zeros, `D-10115`, lowercase Canadian codes).",
        "- HubSpot `date_of_birth` mixes `03/04/1985` and `3/4/1985` (always US month/day/year), `1985-04-03`,",
        "  `April 3, 1985`, `3rd April 1985` and empty.",
        "- `events.jsonl` is not sorted: timestamps are jittered by a few hours (σ = 3 h) and ~1% arrive ~40 days late.",
        "  Timestamps are RFC 3339 UTC with `Z`, ~90% with milliseconds and ~10% without. Range 2025-06-01..2026-11-20.",
        "  Every event has `userId` (a HubSpot `hs_object_id`, as a string) and/or `anonymousId`. Identify events",
        "  use camelCase traits (`firstName`, `lastName`, `address.postalCode`) in about half and snake_case",
        "  (`first_name`, `last_name`, `address.postal_code`) in the other half. Some `track` events carry",
        "  `context.traits.email` (sometimes upper-cased). `Email Opened` may carry `properties.sg_machine_open`",
        "  (`true` = Apple Mail Privacy Protection machine open, mostly for `@icloud.com`, within 90 s of the send).",
        "  `Order Completed.properties.total` equals the sum of `price * quantity` rounded to cents.",
        "",
        "## Ground truth (`truth.csv`)",
        "",
        "One row per well-formed data row: `salesforce,<Id>,<person>`, `hubspot,<hs_object_id>,<person>`,",
        "`enrichment,<email>,<person>`, in file order. Event attribution is not listed: it follows from `userId`",
        "(HubSpot id), `context.traits.email`, or an `identify` event that links an `anonymousId`. About 30 visitors",
        "are never identified and cannot be attributed by design. The malformed HubSpot row's id is never used as a",
        "`userId`.",
        "",
        "## Injected noise",
        "",
        "Counts are exact tallies from the generator (a few may fall on a malformed row); percentages are relative",
        f"to the well-formed rows of that file ({sf_n} Salesforce, {hs_n} HubSpot). Bullets without counts give the",
        "configured rates.",
        "",
    ]
    for k, v in sorted(stats.items()):
        if k.startswith("sf "):
            L.append(f"- Salesforce: {k[3:]}: {pct(v, sf_n)}")
    L += [
        "- Salesforce: phone formats vary per row: `(312) 555-0147` ~29%, `312-555-0147` ~18%, `312.555.0147` ~12%,",
        "  `+1 312 555 0147` ~12%, and `3125550147`, `+13125550147`, `1-312-555-0147`, `+1 (312) 555-0147`,",
        "  `312-555-0147 x204` (rare); non-NANP numbers as `+44 20 7946 0123`, `020 7946 0123`, `+44 (0)20 7946 0123`,",
        "  `+442079460123`, `0044 20 7946 0123`. The same formats are used in HubSpot.",
        "- Both CRMs: street formats `123 North Maple Street, Apartment 4B` ~27%, `123 N. Maple St., Apt 4B` ~27%,",
        "  `123 N Maple St Apt 4B` ~27%, `123 N Maple St #4B` ~9%, `123 N MAPLE ST APT 4B` ~9%; German",
        "  `Lindenstraße 5` / `Lindenstr. 5` / `Lindenstrasse 5`; UK `Flat 3, 14 Oak Road` / `14 Oak Rd, Flat 3`. ~4-5% empty.",
        "- Salesforce: `Salutation` empty ~30%, `Mr` without a dot sometimes; `Loyalty_Tier__c` spelled `Gold`/`GOLD`/",
        "  `gold member`, `Silver`/`silver`/`SILVER`, `Platinum`/`PLATINUM`/`Platinum Member`, `Bronze`/`bronze`, empty;",
        "  `Customer_Lifetime_Value__c` empty or `0.00` for non-members; `Birthdate` empty ~12%; country as",
        "  `United States`/`USA`/`US`, `United Kingdom`/`UK`/`GB`, `Canada`/`CA`, `Germany`/`Deutschland`/`DE`.",
    ]
    for k, v in sorted(stats.items()):
        if k.startswith("hs "):
            L.append(f"- HubSpot: {k[3:]}: {pct(v, hs_n)}")
    L += [
        "- HubSpot: state as code / full name / lowercase (`IL`, `Illinois`, `il`, `Québec`, `Bavaria`, `BY`);",
        "  country as `United States`/`USA`/`U.S.`/`US`/`us`/`United States of America`, `United Kingdom`/`UK`/`U.K.`/",
        "  `GB`/`England`/`Great Britain`, `Canada`/`CA`/`canada`/`CAN`, `Germany`/`Deutschland`/`DE`/`germany`, ~4% empty;",
        "  city upper/lower/trailing space ~27%, `Munich`/`Cologne`/`Frankfurt`, `Montréal`, `New York City`;",
        "  company with an added ` Inc.` or lowercased, ~15% empty; `hs_email_optout` empty ~25%.",
        "- Enrichment: lowercase emails, 128 customers + 20 outside people; a few fields empty (age range ~10%,",
        f"  employee count ~10%, LinkedIn ~30%); {stats['enrichment second row under old email']} people also have a row under their old email.",
        "",
        "Events (`activity` counts people of the 240-person base; `type` counts include the 4 events lost to",
        "malformed lines; `anonymous-only` counts page events of 30 never-identified visitors):",
        "",
    ]
    L += [f"- {k[7:]}: {v}" for k, v in sorted(stats.items()) if k.startswith("events ")]
    L += [
        "",
        "## Deliberate dedup traps",
        "",
        "- P0006 and P0007 are both `Michael Johnson` (Chicago vs Denver): different people.",
        "- P0008 and P0009 are both `Emily Chen` (Seattle vs Vancouver): different people.",
        "- P0010 and P0011 (`Daniel` and `Sarah O'Connor`) share a street address and landline: different people.",
        f"- Role accounts in Salesforce shared by different people: {role}.",
        "- Same person, different details: nicknames, typos, swapped first/last name, married-name change,",
        "  moved (new address, same email), changed email (same name and phone), gmail dots/`+tags`/`googlemail.com`,",
        "  and duplicate rows within one export (counts above).",
        "",
    ]
    (OUT / "README.md").write_text("\n".join(L), encoding="utf-8", newline="\n")


def main():
    people, externals = build_people()
    plan_noise(people)
    sf_truth, sf_mal, sf_rows = write_salesforce(people)
    hs_truth, hs_mal, hs_rows = write_hubspot(people)
    ev_mal, ev_blank, ev_lines, ev_valid = write_events(people)
    en_truth, en_rows = write_enrichment(people, externals)
    truth = sf_truth + hs_truth + en_truth
    write_truth(truth)
    write_readme(people, dict(sf_malformed=sf_mal, hs_malformed=hs_mal, ev_malformed=ev_mal, ev_blank=ev_blank,
                              sf_rows=sf_rows, hs_rows=hs_rows, ev_lines=ev_lines, ev_valid=ev_valid,
                              en_rows=en_rows, truth_rows=len(truth)))
    print(f"salesforce {sf_rows} rows, hubspot {hs_rows} rows, events {ev_lines} lines, enrichment {en_rows} rows, "
          f"truth {len(truth)} rows")


if __name__ == "__main__":
    main()

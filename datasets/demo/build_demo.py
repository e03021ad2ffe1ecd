#!/usr/bin/env python3
"""Build and validate the bundled LR-SQL demo dataset (Spider layout).

Standalone, standard library only.  Running

    python datasets/demo/build_demo.py

(re)creates, next to this file and deterministically (fixed random seed):

    database/<db_id>/<db_id>.sqlite   three invented SQLite databases
    tables.json                       schemas in Spider's format, read back from the databases
    train.json, dev.json              hand-written questions with gold SQL, Spider's format

and then validates everything: every gold query is executed on a read-only connection
(errors, unexpected row counts, or too many empty results fail the build), tables.json is
checked against ``PRAGMA table_info`` / ``PRAGMA foreign_key_list`` of the real files, and
``PRAGMA foreign_key_check`` / ``integrity_check`` must be clean.  Exit status is non-zero on
any failure.

``--check`` validates the files already on disk without rebuilding them.

All schemas, data and questions are original (Apache-2.0, like the project).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sqlite3
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20240607

# ---------------------------------------------------------------------------------------------
# Database 1: lakeside_hospital (19 tables)
#   group A, clinical (10): departments, physicians, insurance_plans, patients, wards,
#       admissions, procedures, admission_procedures (composite PK), medications, prescriptions
#   group B, facilities (4): suppliers, equipment, technicians, maintenance_records
#   group C, research (3): funding_agencies, research_grants, grant_publications
#   isolated lookups (2): public_holidays, shift_patterns
# ---------------------------------------------------------------------------------------------

HOSPITAL_DDL = """
CREATE TABLE departments (
    department_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    floor INTEGER,
    phone_extension TEXT
);
CREATE TABLE physicians (
    physician_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    department_id INTEGER NOT NULL REFERENCES departments(department_id),
    specialty TEXT,
    hire_date DATE,
    salary INTEGER
);
CREATE TABLE insurance_plans (
    plan_id INTEGER PRIMARY KEY,
    provider_name TEXT NOT NULL,
    plan_name TEXT NOT NULL,
    annual_deductible INTEGER
);
CREATE TABLE patients (
    patient_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    birth_date DATE,
    sex TEXT,
    city TEXT,
    plan_id INTEGER REFERENCES insurance_plans(plan_id)
);
CREATE TABLE wards (
    ward_id INTEGER PRIMARY KEY,
    ward_name TEXT NOT NULL,
    department_id INTEGER NOT NULL REFERENCES departments(department_id),
    bed_capacity INTEGER
);
CREATE TABLE admissions (
    admission_id INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients(patient_id),
    ward_id INTEGER NOT NULL REFERENCES wards(ward_id),
    attending_physician_id INTEGER NOT NULL REFERENCES physicians(physician_id),
    admit_date DATE NOT NULL,
    discharge_date DATE,
    diagnosis TEXT
);
CREATE TABLE procedures (
    procedure_code TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    base_cost REAL
);
CREATE TABLE admission_procedures (
    admission_id INTEGER NOT NULL REFERENCES admissions(admission_id),
    procedure_code TEXT NOT NULL REFERENCES procedures(procedure_code),
    performed_on DATE,
    performing_physician_id INTEGER REFERENCES physicians(physician_id),
    PRIMARY KEY (admission_id, procedure_code)
);
CREATE TABLE medications (
    medication_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    form TEXT,
    unit_price REAL
);
CREATE TABLE prescriptions (
    prescription_id INTEGER PRIMARY KEY,
    admission_id INTEGER NOT NULL REFERENCES admissions(admission_id),
    medication_id INTEGER NOT NULL REFERENCES medications(medication_id),
    dose_mg INTEGER,
    days INTEGER
);
CREATE TABLE suppliers (
    supplier_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT,
    country TEXT,
    rating REAL
);
CREATE TABLE equipment (
    equipment_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT,
    supplier_id INTEGER REFERENCES suppliers(supplier_id),
    purchase_date DATE,
    cost REAL,
    under_warranty BOOLEAN,
    room_code TEXT
);
CREATE TABLE technicians (
    technician_id INTEGER PRIMARY KEY,
    full_name TEXT NOT NULL,
    certification_level TEXT,
    hourly_rate REAL
);
CREATE TABLE maintenance_records (
    record_id INTEGER PRIMARY KEY,
    equipment_id INTEGER NOT NULL REFERENCES equipment(equipment_id),
    technician_id INTEGER NOT NULL REFERENCES technicians(technician_id),
    service_date DATE,
    hours REAL,
    outcome TEXT
);
CREATE TABLE funding_agencies (
    agency_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT
);
CREATE TABLE research_grants (
    grant_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    agency_id INTEGER NOT NULL REFERENCES funding_agencies(agency_id),
    lead_investigator TEXT,
    amount INTEGER,
    start_year INTEGER,
    end_year INTEGER
);
CREATE TABLE grant_publications (
    publication_id INTEGER PRIMARY KEY,
    grant_id INTEGER NOT NULL REFERENCES research_grants(grant_id),
    title TEXT NOT NULL,
    journal TEXT,
    pub_year INTEGER,
    citations INTEGER
);
CREATE TABLE public_holidays (
    holiday_date DATE PRIMARY KEY,
    holiday_name TEXT NOT NULL
);
CREATE TABLE shift_patterns (
    shift_code TEXT PRIMARY KEY,
    description TEXT,
    start_time TIME,
    end_time TIME,
    hours INTEGER
);
"""


def _date(d: dt.date) -> str:
    return d.isoformat()


def _rand_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def hospital_rows(rng: random.Random) -> dict[str, tuple[list[str], list[tuple]]]:
    rows: dict[str, tuple[list[str], list[tuple]]] = {}

    departments = [
        (1, "Cardiology", 3, "x3100"),
        (2, "Neurology", 4, "x4100"),
        (3, "Orthopedics", 2, "x2100"),
        (4, "Pediatrics", 1, "x1100"),
        (5, "Oncology", 5, "x5100"),
        (6, "Emergency Medicine", 0, "x0100"),
        (7, "General Surgery", 2, "x2200"),
        (8, "Dermatology", 1, "x1200"),
    ]
    rows["departments"] = (["department_id", "name", "floor", "phone_extension"], departments)

    # (first, last, department_id, specialty)
    phys_spec = [
        ("Helen", "Marsh", 1, "Interventional cardiology"),
        ("Omar", "Haddad", 1, "Electrophysiology"),
        ("Grace", "Okafor", 1, "Heart failure"),
        ("Lukas", "Brandt", 1, "Cardiac imaging"),
        ("Priya", "Raman", 2, "Stroke medicine"),
        ("Daniel", "Frost", 2, "Epilepsy"),
        ("Mei", "Lin", 2, "Movement disorders"),
        ("Carlos", "Vega", 3, "Sports injuries"),
        ("Anna", "Kowalski", 3, "Joint replacement"),
        ("Samuel", "Reed", 3, "Spine surgery"),
        ("Fatima", "Noor", 4, "Neonatology"),
        ("Ethan", "Walsh", 4, "Pediatric respiratory"),
        ("Sofia", "Russo", 4, "General pediatrics"),
        ("Victor", "Petrov", 5, "Medical oncology"),
        ("Laura", "Chen", 5, "Radiation oncology"),
        ("James", "Osei", 5, "Hematology"),
        ("Nadia", "Karim", 6, "Trauma"),
        ("Tom", "Becker", 6, "Toxicology"),
        ("Isabel", "Moreno", 6, "Acute medicine"),
        ("Ravi", "Shah", 6, "Resuscitation"),
        ("Emma", "Lindqvist", 7, "Colorectal surgery"),
        ("Noah", "Fischer", 7, "Laparoscopic surgery"),
        ("Olivia", "Grant", 7, "Hepatobiliary surgery"),
        ("Kenji", "Sato", 8, "Dermatopathology"),
    ]
    physicians = []
    for i, (first, last, dep, spec) in enumerate(phys_spec, start=1):
        hire = _rand_date(rng, dt.date(2005, 1, 1), dt.date(2022, 12, 31))
        salary = rng.randrange(180, 420) * 1000
        physicians.append((i, first, last, dep, spec, _date(hire), salary))
    rows["physicians"] = (
        ["physician_id", "first_name", "last_name", "department_id", "specialty", "hire_date", "salary"],
        physicians,
    )
    phys_by_dep: dict[int, list[int]] = {}
    for p in physicians:
        phys_by_dep.setdefault(p[3], []).append(p[0])

    plans = [
        (1, "Northstar Health", "Bronze Basic", 2500),
        (2, "Northstar Health", "Gold Plus", 500),
        (3, "Bluewater Mutual", "Standard", 1500),
        (4, "Bluewater Mutual", "Premier", 750),
        (5, "Civic Care", "Public Cover", 0),
    ]
    rows["insurance_plans"] = (["plan_id", "provider_name", "plan_name", "annual_deductible"], plans)

    firsts_f = ["Alice", "Beatrice", "Chloe", "Diana", "Elena", "Farah", "Gemma", "Hana", "Irene",
                "Julia", "Kira", "Lena", "Maya", "Nora", "Paula", "Rosa", "Tara", "Vera", "Yara", "Zoe"]
    firsts_m = ["Adam", "Boris", "Caleb", "Dmitri", "Elliot", "Felix", "Gavin", "Hugo", "Ivan",
                "Jonah", "Karl", "Leo", "Marco", "Nils", "Oscar", "Pavel", "Quinn", "Rafael", "Theo", "Umar"]
    lasts = ["Abbott", "Baker", "Carver", "Dalton", "Ellis", "Fletcher", "Gibbs", "Holland", "Ingram",
             "Jensen", "Keller", "Lowe", "Mendez", "Nash", "Ortega", "Porter", "Quinlan", "Ramsey",
             "Sutton", "Tanaka", "Underwood", "Vargas", "Weber", "Young"]
    cities = ["Lakeside", "Lakeside", "Lakeside", "Millbrook", "Millbrook", "Eastport", "Eastport",
              "Cedar Falls", "Northgate", "Riverton", "Oakridge", "Westhaven"]
    patients = []
    used = set()
    for i in range(1, 41):
        while True:
            sex = rng.choice(["F", "M"])
            first = rng.choice(firsts_f if sex == "F" else firsts_m)
            last = rng.choice(lasts)
            if (first, last) not in used:
                used.add((first, last))
                break
        birth = _rand_date(rng, dt.date(1938, 1, 1), dt.date(2021, 12, 31))
        city = rng.choice(cities)
        plan = rng.choice([1, 2, 3, 3, 4, 5, 5, None])
        patients.append((i, first, last, _date(birth), sex, city, plan))
    rows["patients"] = (
        ["patient_id", "first_name", "last_name", "birth_date", "sex", "city", "plan_id"], patients
    )

    wards = [
        (1, "Cardiac Care Unit", 1, 16),
        (2, "Heart Recovery", 1, 20),
        (3, "Stroke Unit", 2, 14),
        (4, "Orthopedic Ward", 3, 24),
        (5, "Pediatric Ward", 4, 18),
        (6, "Oncology Day Unit", 5, 12),
        (7, "Emergency Observation", 6, 10),
        (8, "Acute Assessment", 6, 22),
        (9, "Surgical Ward A", 7, 26),
        (10, "Surgical Ward B", 7, 26),
    ]
    rows["wards"] = (["ward_id", "ward_name", "department_id", "bed_capacity"], wards)
    ward_dep = {w[0]: w[2] for w in wards}

    diagnoses = {
        1: ["Atrial fibrillation", "Myocardial infarction", "Heart failure", "Angina"],
        2: ["Ischemic stroke", "Epileptic seizure", "Migraine", "Transient ischemic attack"],
        3: ["Hip fracture", "Knee osteoarthritis", "Lumbar disc herniation", "Wrist fracture"],
        4: ["Bronchiolitis", "Asthma attack", "Gastroenteritis", "Febrile convulsion"],
        5: ["Lymphoma", "Breast cancer", "Leukemia", "Lung cancer"],
        6: ["Food poisoning", "Concussion", "Dehydration", "Asthma attack"],
        7: ["Appendicitis", "Gallstones", "Hernia", "Bowel obstruction"],
    }
    holidays = [
        ("2023-01-01", "New Year's Day"),
        ("2023-04-07", "Good Friday"),
        ("2023-05-01", "Labour Day"),
        ("2023-07-14", "Harbour Festival"),
        ("2023-09-04", "Founders Day"),
        ("2023-12-25", "Christmas Day"),
        ("2023-12-26", "Boxing Day"),
        ("2024-01-01", "New Year's Day"),
        ("2024-03-29", "Good Friday"),
        ("2024-05-01", "Labour Day"),
        ("2024-07-12", "Harbour Festival"),
        ("2024-09-02", "Founders Day"),
        ("2024-12-25", "Christmas Day"),
        ("2024-12-26", "Boxing Day"),
    ]
    rows["public_holidays"] = (["holiday_date", "holiday_name"], holidays)
    forced_holiday = {5: "2023-12-25", 17: "2024-05-01", 33: "2023-07-14", 48: "2024-12-26"}

    admissions = []
    for i in range(1, 61):
        patient = rng.randint(1, 40)
        ward = rng.randint(1, 10)
        dep = ward_dep[ward]
        doc = rng.choice(phys_by_dep[dep])
        if i in forced_holiday:
            admit = dt.date.fromisoformat(forced_holiday[i])
        else:
            admit = _rand_date(rng, dt.date(2023, 1, 2), dt.date(2024, 12, 20))
        stay = rng.randint(1, 14)
        discharge = None if i in (12, 41, 57, 60) else _date(admit + dt.timedelta(days=stay))
        admissions.append((i, patient, ward, doc, _date(admit), discharge, rng.choice(diagnoses[dep])))
    rows["admissions"] = (
        ["admission_id", "patient_id", "ward_id", "attending_physician_id", "admit_date",
         "discharge_date", "diagnosis"],
        admissions,
    )

    procedures = [
        ("ECG", "Electrocardiogram", 120.0),
        ("ECHO", "Echocardiogram", 450.0),
        ("MRI-B", "Brain MRI", 1200.0),
        ("CT-H", "Head CT scan", 800.0),
        ("XR-L", "Limb X-ray", 150.0),
        ("CAST", "Fracture casting", 300.0),
        ("APPY", "Appendectomy", 5200.0),
        ("CHOLE", "Cholecystectomy", 6100.0),
        ("CHEMO", "Chemotherapy session", 2500.0),
        ("BLD", "Full blood count", 40.0),
        ("IVF", "IV fluid therapy", 90.0),
        ("BIOP", "Tissue biopsy", 950.0),
        ("SKIN", "Skin graft", 3400.0),
    ]
    rows["procedures"] = (["procedure_code", "description", "base_cost"], procedures)
    dep_procs = {
        1: ["ECG", "ECHO", "BLD"],
        2: ["MRI-B", "CT-H", "BLD"],
        3: ["XR-L", "CAST", "BLD"],
        4: ["BLD", "IVF", "XR-L"],
        5: ["CHEMO", "BIOP", "BLD"],
        6: ["ECG", "CT-H", "IVF", "BLD"],
        7: ["APPY", "CHOLE", "BLD", "IVF"],
    }
    adm_procs = []
    for a in admissions:
        dep = ward_dep[a[2]]
        k = rng.choice([0, 1, 1, 2, 2, 3])
        for code in sorted(rng.sample(dep_procs[dep], min(k, len(dep_procs[dep])))):
            when = dt.date.fromisoformat(a[4]) + dt.timedelta(days=rng.randint(0, 1))
            adm_procs.append((a[0], code, _date(when), rng.choice(phys_by_dep[dep])))
    rows["admission_procedures"] = (
        ["admission_id", "procedure_code", "performed_on", "performing_physician_id"], adm_procs
    )

    medications = [
        (1, "Amoxicillin", "capsule", 0.35),
        (2, "Atorvastatin", "tablet", 0.50),
        (3, "Metoprolol", "tablet", 0.28),
        (4, "Heparin", "injection", 6.75),
        (5, "Ondansetron", "injection", 4.10),
        (6, "Paracetamol", "syrup", 0.12),
        (7, "Ibuprofen", "tablet", 0.15),
        (8, "Levetiracetam", "tablet", 1.90),
        (9, "Morphine", "injection", 3.20),
        (10, "Salbutamol", "inhaler", 8.40),
        (11, "Cisplatin", "injection", 45.00),
        (12, "Tacrolimus", "ointment", 22.50),
    ]
    rows["medications"] = (["medication_id", "name", "form", "unit_price"], medications)
    dep_meds = {1: [2, 3, 4], 2: [8, 4, 7], 3: [7, 9, 6], 4: [1, 6, 10], 5: [11, 5, 9],
                6: [6, 7, 10, 5], 7: [1, 9, 5, 4]}
    prescriptions = []
    pid = 1
    for a in admissions:
        dep = ward_dep[a[2]]
        for med in rng.sample(dep_meds[dep], rng.choice([0, 1, 1, 2])):
            dose = rng.choice([5, 10, 20, 40, 100, 250, 500])
            prescriptions.append((pid, a[0], med, dose, rng.randint(1, 10)))
            pid += 1
    rows["prescriptions"] = (
        ["prescription_id", "admission_id", "medication_id", "dose_mg", "days"], prescriptions
    )

    suppliers = [
        (1, "MedLine Partners", "Eastport", "USA", 4.5),
        (2, "Nordic Imaging", "Oslo", "Norway", 4.8),
        (3, "Kessler Medizintechnik", "Hamburg", "Germany", 4.2),
        (4, "Riverton Surgical Supply", "Riverton", "USA", 3.6),
        (5, "Sakura Diagnostics", "Osaka", "Japan", 4.7),
        (6, "Maple Health Devices", "Toronto", "Canada", 3.9),
        (7, "Lyon BioEquip", "Lyon", "France", 4.0),
        (8, "Millbrook Mobility", "Millbrook", "USA", 3.2),
        (9, "Thames Clinical", "London", "UK", 4.4),
        (10, "Pacific Monitor Co", "Vancouver", "Canada", 3.8),
    ]
    rows["suppliers"] = (["supplier_id", "name", "city", "country", "rating"], suppliers)

    kinds = [
        ("Patient monitor", "monitoring", 8000, 15000, [1, 10, 6]),
        ("Infusion pump", "therapy", 2500, 6000, [1, 4, 6]),
        ("Ventilator", "life support", 25000, 45000, [3, 9]),
        ("MRI scanner", "imaging", 900000, 1500000, [2, 5]),
        ("CT scanner", "imaging", 400000, 800000, [2, 3, 5]),
        ("Ultrasound unit", "imaging", 40000, 90000, [5, 7]),
        ("Defibrillator", "life support", 3000, 9000, [1, 9]),
        ("Hospital bed", "furniture", 1500, 4000, [8, 4]),
        ("Wheelchair", "mobility", 300, 1200, [8]),
        ("Surgical light", "surgical", 12000, 30000, [3, 7]),
    ]
    equipment = []
    for i in range(1, 26):
        name, cat, lo, hi, sups = kinds[(i - 1) % len(kinds)] if i <= 10 else rng.choice(kinds)
        sup = rng.choice(sups)
        bought = _rand_date(rng, dt.date(2014, 1, 1), dt.date(2024, 6, 30))
        cost = float(rng.randrange(lo, hi, 50))
        warranty = 1 if bought >= dt.date(2021, 7, 1) else 0
        room = f"{rng.choice('ABCD')}{rng.randint(0, 5)}-{rng.randint(1, 40):02d}"
        equipment.append((i, name, cat, sup, _date(bought), cost, warranty, room))
    rows["equipment"] = (
        ["equipment_id", "name", "category", "supplier_id", "purchase_date", "cost",
         "under_warranty", "room_code"],
        equipment,
    )

    technicians = [
        (1, "Marta Silva", "senior", 68.0),
        (2, "Derek Hughes", "junior", 41.5),
        (3, "Yusuf Demir", "senior", 72.0),
        (4, "Claire Dubois", "intermediate", 55.0),
        (5, "Arjun Mehta", "intermediate", 52.5),
        (6, "Petra Novak", "junior", 39.0),
    ]
    rows["technicians"] = (["technician_id", "full_name", "certification_level", "hourly_rate"], technicians)
    maint = []
    forced_service = {7: "2023-12-26", 22: "2024-03-29", 31: "2024-07-12"}
    for i in range(1, 41):
        eq = rng.randint(1, 25)
        tech = rng.randint(1, 5)  # Petra Novak (6) has no recorded service yet
        day = forced_service.get(i) or _date(_rand_date(rng, dt.date(2023, 1, 1), dt.date(2024, 12, 31)))
        hours = rng.choice([0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])
        outcome = rng.choice(["repaired", "repaired", "calibrated", "calibrated", "replaced part",
                              "no fault found"])
        maint.append((i, eq, tech, day, hours, outcome))
    rows["maintenance_records"] = (
        ["record_id", "equipment_id", "technician_id", "service_date", "hours", "outcome"], maint
    )

    agencies = [
        (1, "National Health Research Council", "USA"),
        (2, "Heart and Stroke Foundation", "Canada"),
        (3, "European Medical Research Fund", "Belgium"),
        (4, "Nippon Medical Science Trust", "Japan"),
        (5, "Wellspring Charitable Trust", "UK"),
        (6, "Lakeside Community Foundation", "USA"),
    ]
    rows["funding_agencies"] = (["agency_id", "name", "country"], agencies)
    grants = [
        (1, "Wearable ECG for early arrhythmia detection", 2, "Omar Haddad", 420000, 2021, 2024),
        (2, "Outcomes after thrombectomy in rural stroke patients", 1, "Priya Raman", 1250000, 2020, 2025),
        (3, "Robotic-assisted knee replacement recovery", 3, "Anna Kowalski", 610000, 2022, 2026),
        (4, "Childhood asthma and air quality", 6, "Ethan Walsh", 85000, 2023, 2024),
        (5, "Low-dose chemotherapy scheduling", 4, "Victor Petrov", 980000, 2019, 2023),
        (6, "Machine learning triage in emergency departments", 1, "Ravi Shah", 730000, 2022, 2025),
        (7, "Genetic markers of childhood leukemia", 5, "Rebecca Stone", 540000, 2021, 2025),
        (8, "Heart failure telemonitoring at home", 2, "Grace Okafor", 300000, 2023, 2026),
        (9, "Microbiome and postoperative infection", 3, "Emma Lindqvist", 455000, 2020, 2023),
        (10, "Sleep quality of hospitalised children", 6, "Sofia Russo", 60000, 2024, 2025),
        (11, "Novel radiotracers for lymphoma imaging", 4, "Hiroshi Tanabe", 1100000, 2022, 2027),
        (12, "Volunteer drivers and hospital access", 6, "Martin Cole", 40000, 2023, 2024),
    ]
    rows["research_grants"] = (
        ["grant_id", "title", "agency_id", "lead_investigator", "amount", "start_year", "end_year"], grants
    )
    journals = ["Lakeside Medical Journal", "Clinical Cardiology Letters", "Journal of Acute Care",
                "Pediatric Reports", "Oncology Methods"]
    pubs = []
    topics = ["A pilot study", "Two-year follow-up", "Protocol and design", "Cost analysis",
              "Patient-reported outcomes", "Secondary analysis"]
    for i in range(1, 23):
        g = rng.choice([1, 1, 2, 2, 2, 3, 5, 5, 6, 7, 8, 9, 11])
        year = rng.randint(max(grants[g - 1][5], 2020), 2025)
        pubs.append((i, g, f"{topics[rng.randrange(len(topics))]} of grant {g} results",
                     rng.choice(journals), year, rng.randint(0, 140)))
    rows["grant_publications"] = (
        ["publication_id", "grant_id", "title", "journal", "pub_year", "citations"], pubs
    )
    rows["shift_patterns"] = (
        ["shift_code", "description", "start_time", "end_time", "hours"],
        [
            ("DAY", "Day shift", "07:00", "15:00", 8),
            ("EVE", "Evening shift", "15:00", "23:00", 8),
            ("NGT", "Night shift", "23:00", "07:00", 8),
            ("LDY", "Long day", "07:00", "19:00", 12),
            ("LNT", "Long night", "19:00", "07:00", 12),
        ],
    )
    return rows


# ---------------------------------------------------------------------------------------------
# Database 2: board_game_cafe (6 tables; quoted identifiers: table "order items", column "group")
# ---------------------------------------------------------------------------------------------

CAFE_DDL = """
CREATE TABLE members (
    member_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    joined_on DATE,
    tier TEXT,
    is_active BOOLEAN
);
CREATE TABLE games (
    game_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    publisher TEXT,
    "group" TEXT,
    min_players INTEGER,
    max_players INTEGER,
    play_minutes INTEGER,
    copies INTEGER
);
CREATE TABLE play_sessions (
    session_id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES members(member_id),
    game_id INTEGER NOT NULL REFERENCES games(game_id),
    session_date DATE,
    party_size INTEGER,
    table_number INTEGER
);
CREATE TABLE menu_items (
    item_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT,
    price REAL
);
CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES play_sessions(session_id),
    placed_at DATETIME,
    tip REAL
);
CREATE TABLE "order items" (
    order_id INTEGER NOT NULL REFERENCES orders(order_id),
    item_id INTEGER NOT NULL REFERENCES menu_items(item_id),
    quantity INTEGER NOT NULL,
    PRIMARY KEY (order_id, item_id)
);
"""


def cafe_rows(rng: random.Random) -> dict[str, tuple[list[str], list[tuple]]]:
    rows: dict[str, tuple[list[str], list[tuple]]] = {}
    names = ["Ada Quill", "Bram Okoro", "Cleo Vance", "Dev Patel", "Esme Hart", "Finn Rourke",
             "Gia Moretti", "Hal Jorgensen", "Ines Duarte", "Jules Martin", "Kofi Mensah",
             "Lila Novak", "Milo Brooks", "Nina Sato", "Otto Kraus", "Pia Lund", "Rhys Evans",
             "Saskia Vos"]
    members = []
    for i, name in enumerate(names, start=1):
        joined = _rand_date(rng, dt.date(2019, 3, 1), dt.date(2024, 10, 31))
        tier = rng.choice(["bronze", "bronze", "silver", "silver", "gold"])
        members.append((i, name, _date(joined), tier, 0 if i in (4, 11, 16) else 1))
    rows["members"] = (["member_id", "name", "joined_on", "tier", "is_active"], members)

    games = [
        (1, "Harbor Lights", "Tidewater Games", "strategy", 2, 4, 90, 2),
        (2, "Pocket Dragons", "Emberline", "family", 2, 5, 30, 3),
        (3, "The Silent Heist", "Nightjar Studio", "cooperative", 1, 4, 60, 1),
        (4, "Wordsmith Rally", "Emberline", "party", 3, 8, 20, 2),
        (5, "Iron Canals", "Tidewater Games", "strategy", 3, 5, 150, 1),
        (6, "Garden Gnomes", "Little Acorn", "family", 2, 4, 25, 4),
        (7, "Starfall Outpost", "Nightjar Studio", "strategy", 1, 4, 120, 1),
        (8, "Mimic Mayhem", "Little Acorn", "party", 4, 10, 15, 2),
        (9, "Lantern Keepers", "Nightjar Studio", "cooperative", 2, 5, 75, 2),
        (10, "Tea Time Tactics", "Emberline", "family", 2, 4, 40, 1),
        (11, "Glacier Route", "Tidewater Games", "strategy", 2, 2, 45, 1),
        (12, "Whisper Chain", "Little Acorn", "party", 5, 12, 30, 1),
    ]
    rows["games"] = (
        ["game_id", "title", "publisher", "group", "min_players", "max_players", "play_minutes", "copies"],
        games,
    )
    played_games = [g for g in games if g[0] not in (11, 12)]  # two games never played
    sessions = []
    for i in range(1, 46):
        member = rng.choice([m for m in range(1, 19) if m not in (7, 15)])  # two never played
        g = rng.choice(played_games)
        size = rng.randint(g[4], g[5])
        day = _rand_date(rng, dt.date(2024, 1, 5), dt.date(2024, 12, 28))
        sessions.append((i, member, g[0], _date(day), size, rng.randint(1, 9)))
    rows["play_sessions"] = (
        ["session_id", "member_id", "game_id", "session_date", "party_size", "table_number"], sessions
    )
    menu = [
        (1, "Espresso", "drink", 2.8),
        (2, "Oat Latte", "drink", 4.2),
        (3, "Chai Tea", "drink", 3.6),
        (4, "Lemonade", "drink", 3.0),
        (5, "Nachos", "snack", 6.5),
        (6, "Pretzel Bites", "snack", 5.0),
        (7, "Brownie", "snack", 3.8),
        (8, "Grilled Cheese", "meal", 8.9),
        (9, "Veggie Wrap", "meal", 9.5),
        (10, "Mushroom Soup", "meal", 7.2),
        (11, "Truffle Fries", "snack", 6.9),  # never ordered
    ]
    rows["menu_items"] = (["item_id", "name", "category", "price"], menu)
    orders, lines = [], []
    oid = 1
    for s in sessions:
        for _ in range(rng.choice([0, 1, 1, 1, 2])):
            hour = rng.randint(11, 22)
            placed = f"{s[3]} {hour:02d}:{rng.randint(0, 59):02d}:00"
            orders.append((oid, s[0], placed, rng.choice([0.0, 0.0, 1.0, 2.0, 2.5, 5.0])))
            for item in sorted(rng.sample(range(1, 11), rng.randint(1, 3))):
                lines.append((oid, item, rng.randint(1, 4)))
            oid += 1
    rows["orders"] = (["order_id", "session_id", "placed_at", "tip"], orders)
    rows["order items"] = (["order_id", "item_id", "quantity"], lines)
    return rows


# ---------------------------------------------------------------------------------------------
# Database 3: orchard_coop (7 tables; composite PK in plantings)
# ---------------------------------------------------------------------------------------------

ORCHARD_DDL = """
CREATE TABLE growers (
    grower_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    village TEXT,
    joined_year INTEGER,
    organic BOOLEAN
);
CREATE TABLE varieties (
    variety_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    fruit TEXT,
    harvest_month INTEGER
);
CREATE TABLE orchards (
    orchard_id INTEGER PRIMARY KEY,
    grower_id INTEGER NOT NULL REFERENCES growers(grower_id),
    orchard_name TEXT NOT NULL,
    hectares REAL,
    altitude_m INTEGER
);
CREATE TABLE plantings (
    orchard_id INTEGER NOT NULL REFERENCES orchards(orchard_id),
    variety_id INTEGER NOT NULL REFERENCES varieties(variety_id),
    trees INTEGER,
    planted_year INTEGER,
    PRIMARY KEY (orchard_id, variety_id)
);
CREATE TABLE harvests (
    harvest_id INTEGER PRIMARY KEY,
    orchard_id INTEGER NOT NULL REFERENCES orchards(orchard_id),
    variety_id INTEGER NOT NULL REFERENCES varieties(variety_id),
    season_year INTEGER,
    tonnes REAL,
    grade TEXT
);
CREATE TABLE buyers (
    buyer_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT,
    buyer_type TEXT
);
CREATE TABLE sales (
    sale_id INTEGER PRIMARY KEY,
    harvest_id INTEGER NOT NULL REFERENCES harvests(harvest_id),
    buyer_id INTEGER NOT NULL REFERENCES buyers(buyer_id),
    sale_date DATE,
    tonnes REAL,
    price_per_tonne REAL
);
"""


def orchard_rows(rng: random.Random) -> dict[str, tuple[list[str], list[tuple]]]:
    rows: dict[str, tuple[list[str], list[tuple]]] = {}
    growers = [
        (1, "Agnes Thornbury", "Applecross", 2004, 1),
        (2, "Bernard Kell", "Applecross", 2008, 0),
        (3, "Corinne Aubert", "High Marden", 2011, 1),
        (4, "Dafydd Morgan", "Pennock", 2004, 0),
        (5, "Elsa Halvorsen", "High Marden", 2015, 0),
        (6, "Frank Ossining", "Pennock", 2019, 1),
        (7, "Greta Wilde", "Lower Brook", 2021, 0),
        (8, "Hamid Zand", "Lower Brook", 2023, 1),  # no orchard registered yet
    ]
    rows["growers"] = (["grower_id", "name", "village", "joined_year", "organic"], growers)
    varieties = [
        (1, "Crimson Crisp", "apple", 9),
        (2, "Golden Russet", "apple", 10),
        (3, "Bramley Late", "apple", 10),
        (4, "Conference Bell", "pear", 9),
        (5, "Williams Amber", "pear", 8),
        (6, "Victoria Blush", "plum", 8),
        (7, "Morello Dark", "cherry", 7),
        (8, "Damson Wild", "plum", 9),  # grown nowhere
    ]
    rows["varieties"] = (["variety_id", "name", "fruit", "harvest_month"], varieties)
    orchards = [
        (1, 1, "North Slope", 4.5, 120),
        (2, 1, "Mill Field", 2.0, 85),
        (3, 2, "Kell Home Orchard", 6.2, 60),
        (4, 3, "Aubert Terraces", 3.1, 240),
        (5, 4, "Morgan Long Acre", 8.0, 95),
        (6, 4, "Chapel Plot", 1.2, 110),
        (7, 5, "Fjord View", 2.7, 310),
        (8, 6, "Ossining Old Trees", 5.5, 140),
        (9, 7, "Brookside", 1.8, 45),
    ]
    rows["orchards"] = (["orchard_id", "grower_id", "orchard_name", "hectares", "altitude_m"], orchards)
    plantings = []
    for o in orchards:
        for v in sorted(rng.sample(range(1, 8), rng.randint(2, 4))):
            plantings.append((o[0], v, rng.randrange(40, 900, 10), rng.randint(1985, 2020)))
    rows["plantings"] = (["orchard_id", "variety_id", "trees", "planted_year"], plantings)
    harvests = []
    hid = 1
    for year in (2022, 2023, 2024):
        for (o, v, trees, planted) in plantings:
            if planted > year - 3 or rng.random() < 0.15:
                continue  # young trees do not crop yet; some crops failed
            tonnes = round(trees * rng.uniform(0.01, 0.05), 1)
            grade = rng.choice(["A", "A", "B", "B", "C"])
            harvests.append((hid, o, v, year, tonnes, grade))
            hid += 1
    rows["harvests"] = (
        ["harvest_id", "orchard_id", "variety_id", "season_year", "tonnes", "grade"], harvests
    )
    buyers = [
        (1, "Valley Cider Works", "Kingsbridge", "cider maker"),
        (2, "FreshWay Markets", "Portham", "supermarket"),
        (3, "Hedgerow Preserves", "Kingsbridge", "jam maker"),
        (4, "Portham Farmers Market", "Portham", "market"),
        (5, "Northern Juice Co", "Aldwick", "juicer"),
        (6, "Blossom Bakery", "Aldwick", "bakery"),  # has not bought yet
    ]
    rows["buyers"] = (["buyer_id", "name", "city", "buyer_type"], buyers)
    base_price = {"apple": 420, "pear": 510, "plum": 640, "cherry": 1500}
    fruit_of = {v[0]: v[2] for v in varieties}
    sales = []
    sid = 1
    for h in harvests:
        left = h[4]
        for _ in range(rng.choice([0, 1, 1, 2])):
            if left < 0.2:
                break
            qty = round(left * rng.uniform(0.3, 0.9), 1)
            left -= qty
            buyer = rng.randint(1, 5)
            month = varieties[h[2] - 1][3]
            day = dt.date(h[3], month, rng.randint(1, 28)) + dt.timedelta(days=rng.randint(0, 40))
            price = base_price[fruit_of[h[2]]] * {"A": 1.2, "B": 1.0, "C": 0.7}[h[5]]
            price = round(price * rng.uniform(0.9, 1.1), 0)
            sales.append((sid, h[0], buyer, _date(day), qty, price))
            sid += 1
    rows["sales"] = (["sale_id", "harvest_id", "buyer_id", "sale_date", "tonnes", "price_per_tonne"], sales)
    return rows


DATABASES = [
    ("lakeside_hospital", HOSPITAL_DDL, hospital_rows),
    ("board_game_cafe", CAFE_DDL, cafe_rows),
    ("orchard_coop", ORCHARD_DDL, orchard_rows),
]

# ---------------------------------------------------------------------------------------------
# Questions: (split, db_id, question, gold SQL, expected row count)
# ---------------------------------------------------------------------------------------------

QUESTIONS: list[tuple[str, str, str, str, int]] = []  # filled in below


def q(split: str, db_id: str, question: str, query: str, rows: int) -> None:
    QUESTIONS.append((split, db_id, question, " ".join(query.split()), rows))


# ---- lakeside_hospital --------------------------------------------------------------------
H = "lakeside_hospital"
q("train", H, "List the first and last names of physicians hired in 2021 or later.",
  "SELECT first_name, last_name FROM physicians WHERE hire_date >= '2021-01-01'", 6)
q("train", H, "How many patients live in Lakeside?",
  "SELECT count(*) FROM patients WHERE city = 'Lakeside'", 1)
q("train", H, "How many physicians does each department have? Show the department name and the count.",
  """SELECT T1.name, count(*) FROM departments AS T1 JOIN physicians AS T2
     ON T1.department_id = T2.department_id GROUP BY T1.department_id""", 8)
q("train", H, "What are the ids, names and costs of the three most expensive pieces of equipment?",
  "SELECT equipment_id, name, cost FROM equipment ORDER BY cost DESC LIMIT 3", 3)
q("train", H, "Which cities have more than five patients?",
  "SELECT city FROM patients GROUP BY city HAVING count(*) > 5", 3)
q("train", H, "Give the last names of patients admitted to the Stroke Unit together with their admission dates.",
  """SELECT T1.last_name, T2.admit_date FROM patients AS T1 JOIN admissions AS T2 ON T1.patient_id = T2.patient_id
     JOIN wards AS T3 ON T2.ward_id = T3.ward_id WHERE T3.ward_name = 'Stroke Unit'""", 6)
q("train", H, "What are the names of the medications prescribed to patients who live in Millbrook?",
  """SELECT DISTINCT T4.name FROM patients AS T1 JOIN admissions AS T2 ON T1.patient_id = T2.patient_id
     JOIN prescriptions AS T3 ON T2.admission_id = T3.admission_id
     JOIN medications AS T4 ON T3.medication_id = T4.medication_id WHERE T1.city = 'Millbrook'""", 6)
q("train", H, "Which physicians have never attended an admission? Give their first and last names.",
  """SELECT first_name, last_name FROM physicians WHERE physician_id NOT IN
     (SELECT attending_physician_id FROM admissions)""", 1)
q("train", H, "Which procedures have never been performed? Give their codes and descriptions.",
  """SELECT procedure_code, description FROM procedures WHERE procedure_code NOT IN
     (SELECT procedure_code FROM admission_procedures)""", 1)
q("train", H, "What are the names of the suppliers that have supplied imaging equipment?",
  """SELECT name FROM suppliers WHERE supplier_id IN
     (SELECT supplier_id FROM equipment WHERE category = 'imaging')""", 4)
q("train", H, "Which cities are home to both patients and equipment suppliers?",
  "SELECT city FROM patients INTERSECT SELECT city FROM suppliers", 3)
q("train", H, "Which countries have an equipment supplier but no research funding agency?",
  "SELECT country FROM suppliers EXCEPT SELECT country FROM funding_agencies", 3)
q("train", H, "Which admissions began on a public holiday? Show the admission id, the holiday name and the diagnosis.",
  """SELECT T1.admission_id, T2.holiday_name, T1.diagnosis FROM admissions AS T1
     JOIN public_holidays AS T2 ON T1.admit_date = T2.holiday_date""", 4)
q("train", H, "Which physicians of the hospital lead a research grant? List their last names, their departments and the grant titles.",
  """SELECT T1.last_name, T3.name, T2.title FROM physicians AS T1
     JOIN research_grants AS T2 ON T1.first_name || ' ' || T1.last_name = T2.lead_investigator
     JOIN departments AS T3 ON T1.department_id = T3.department_id""", 9)
q("train", H, "For each department, what is the average length of stay in days of admissions that have ended?",
  """WITH stays AS (SELECT T2.department_id, julianday(T1.discharge_date) - julianday(T1.admit_date) AS days
     FROM admissions AS T1 JOIN wards AS T2 ON T1.ward_id = T2.ward_id WHERE T1.discharge_date IS NOT NULL)
     SELECT T3.name, avg(T4.days) FROM departments AS T3 JOIN stays AS T4 ON T3.department_id = T4.department_id
     GROUP BY T3.department_id""", 7)
q("train", H, "What is the total amount granted by each funding agency? Show the agency name and the total, largest first.",
  """SELECT T1.name, sum(T2.amount) FROM funding_agencies AS T1 JOIN research_grants AS T2
     ON T1.agency_id = T2.agency_id GROUP BY T1.agency_id ORDER BY sum(T2.amount) DESC""", 6)
q("train", H, "What is the title of the research grant with the most publications?",
  """SELECT T1.title FROM research_grants AS T1 JOIN grant_publications AS T2 ON T1.grant_id = T2.grant_id
     GROUP BY T1.grant_id ORDER BY count(*) DESC LIMIT 1""", 1)
q("train", H, "How many hours of maintenance has each technician logged? Show the technician name and the total hours.",
  """SELECT T1.full_name, sum(T2.hours) FROM technicians AS T1 JOIN maintenance_records AS T2
     ON T1.technician_id = T2.technician_id GROUP BY T1.technician_id""", 5)
q("train", H, "List the names of technicians who serviced a wheelchair or any equipment supplied by Riverton Surgical Supply.",
  """SELECT T1.full_name FROM technicians AS T1 JOIN maintenance_records AS T2 ON T1.technician_id = T2.technician_id
     JOIN equipment AS T3 ON T2.equipment_id = T3.equipment_id WHERE T3.name = 'Wheelchair'
     UNION
     SELECT T1.full_name FROM technicians AS T1 JOIN maintenance_records AS T2 ON T1.technician_id = T2.technician_id
     JOIN equipment AS T3 ON T2.equipment_id = T3.equipment_id JOIN suppliers AS T4 ON T3.supplier_id = T4.supplier_id
     WHERE T4.name = 'Riverton Surgical Supply'""", 3)
q("train", H, "Which shifts last twelve hours? Give their codes and start times.",
  "SELECT shift_code, start_time FROM shift_patterns WHERE hours = 12", 2)
q("train", H, "What is the total cost of all equipment, and what is the total amount of all research grants?",
  "SELECT (SELECT sum(cost) FROM equipment), (SELECT sum(amount) FROM research_grants)", 1)
q("dev", H, "How many admissions have no discharge date yet?",
  "SELECT count(*) FROM admissions WHERE discharge_date IS NULL", 1)
q("dev", H, "What are the names and bed capacities of the wards of the Emergency Medicine department?",
  """SELECT T1.ward_name, T1.bed_capacity FROM wards AS T1 JOIN departments AS T2
     ON T1.department_id = T2.department_id WHERE T2.name = 'Emergency Medicine'""", 2)
q("dev", H, "Which insurance plan covers the most patients? Give the provider and the plan name.",
  """SELECT T1.provider_name, T1.plan_name FROM insurance_plans AS T1 JOIN patients AS T2 ON T1.plan_id = T2.plan_id
     GROUP BY T1.plan_id ORDER BY count(*) DESC LIMIT 1""", 1)
q("dev", H, "Which departments have no ward?",
  "SELECT name FROM departments WHERE department_id NOT IN (SELECT department_id FROM wards)", 1)
q("dev", H, "Which maintenance jobs were done on a public holiday? Show the equipment name, the service date and the holiday.",
  """SELECT T2.name, T1.service_date, T3.holiday_name FROM maintenance_records AS T1
     JOIN equipment AS T2 ON T1.equipment_id = T2.equipment_id
     JOIN public_holidays AS T3 ON T1.service_date = T3.holiday_date""", 4)
q("dev", H, "Which countries are home to both an equipment supplier and a research funding agency?",
  "SELECT country FROM suppliers INTERSECT SELECT country FROM funding_agencies", 4)
q("dev", H, "How many citations in total have the publications of grants led by Cardiology physicians received?",
  """SELECT sum(T4.citations) FROM departments AS T1 JOIN physicians AS T2 ON T1.department_id = T2.department_id
     JOIN research_grants AS T3 ON T2.first_name || ' ' || T2.last_name = T3.lead_investigator
     JOIN grant_publications AS T4 ON T3.grant_id = T4.grant_id WHERE T1.name = 'Cardiology'""", 1)
q("dev", H, "Which admissions had procedures costing more than 5000 in total? Show the admission id, the patient's last name and the total cost.",
  """WITH costs AS (SELECT T1.admission_id, sum(T2.base_cost) AS total FROM admission_procedures AS T1
     JOIN procedures AS T2 ON T1.procedure_code = T2.procedure_code GROUP BY T1.admission_id)
     SELECT T3.admission_id, T4.last_name, T5.total FROM admissions AS T3
     JOIN patients AS T4 ON T3.patient_id = T4.patient_id JOIN costs AS T5 ON T3.admission_id = T5.admission_id
     WHERE T5.total > 5000""", 7)
q("dev", H, "What is the average salary of physicians working in departments on floor 2?",
  """SELECT avg(T1.salary) FROM physicians AS T1 JOIN departments AS T2 ON T1.department_id = T2.department_id
     WHERE T2.floor = 2""", 1)

# ---- board_game_cafe ----------------------------------------------------------------------
C = "board_game_cafe"
q("train", C, "How many games belong to the party group?",
  """SELECT count(*) FROM games WHERE "group" = 'party'""", 1)
q("train", C, "List the titles and playing times of games that take at least 90 minutes, longest first.",
  "SELECT title, play_minutes FROM games WHERE play_minutes >= 90 ORDER BY play_minutes DESC", 3)
q("train", C, "How many games are there in each group?",
  """SELECT "group", count(*) FROM games GROUP BY "group\"""", 4)
q("train", C, "What is the total quantity ordered of each menu item? Show the item name and the quantity, most ordered first.",
  """SELECT T2.name, sum(T1.quantity) FROM "order items" AS T1 JOIN menu_items AS T2 ON T1.item_id = T2.item_id
     GROUP BY T1.item_id ORDER BY sum(T1.quantity) DESC, T2.name""", 10)
q("train", C, "Which members have never played a session? Give their names.",
  "SELECT name FROM members WHERE member_id NOT IN (SELECT member_id FROM play_sessions)", 3)
q("train", C, "What are the titles of the games that have never been played?",
  "SELECT title FROM games WHERE game_id NOT IN (SELECT game_id FROM play_sessions)", 2)
q("train", C, "Which games were played in more than four sessions? Show the title and the number of sessions.",
  """SELECT T1.title, count(*) FROM games AS T1 JOIN play_sessions AS T2 ON T1.game_id = T2.game_id
     GROUP BY T1.game_id HAVING count(*) > 4""", 4)
q("train", C, "Which member has spent the most time playing, counting each session at the game's listed playing time?",
  """SELECT T1.name FROM members AS T1 JOIN play_sessions AS T2 ON T1.member_id = T2.member_id
     JOIN games AS T3 ON T2.game_id = T3.game_id GROUP BY T1.member_id ORDER BY sum(T3.play_minutes) DESC LIMIT 1""", 1)
q("train", C, "What is the total price of each order? Show the order id and the total.",
  """SELECT T1.order_id, sum(T1.quantity * T2.price) FROM "order items" AS T1
     JOIN menu_items AS T2 ON T1.item_id = T2.item_id GROUP BY T1.order_id""", 40)
q("train", C, "Which members have played both a strategy game and a party game?",
  """SELECT T1.name FROM members AS T1 JOIN play_sessions AS T2 ON T1.member_id = T2.member_id
     JOIN games AS T3 ON T2.game_id = T3.game_id WHERE T3."group" = 'strategy'
     INTERSECT
     SELECT T1.name FROM members AS T1 JOIN play_sessions AS T2 ON T1.member_id = T2.member_id
     JOIN games AS T3 ON T2.game_id = T3.game_id WHERE T3."group" = 'party'""", 5)
q("train", C, "Which publishers make strategy games but no party games?",
  """SELECT publisher FROM games WHERE "group" = 'strategy'
     EXCEPT SELECT publisher FROM games WHERE "group" = 'party'""", 2)
q("train", C, "Which three members spent the most on food and drink, and how much did each spend?",
  """WITH order_totals AS (SELECT T1.order_id, sum(T1.quantity * T2.price) AS total FROM "order items" AS T1
     JOIN menu_items AS T2 ON T1.item_id = T2.item_id GROUP BY T1.order_id)
     SELECT T5.name, sum(T3.total) FROM order_totals AS T3 JOIN orders AS T4 ON T3.order_id = T4.order_id
     JOIN play_sessions AS T6 ON T4.session_id = T6.session_id JOIN members AS T5 ON T6.member_id = T5.member_id
     GROUP BY T5.member_id ORDER BY sum(T3.total) DESC LIMIT 3""", 3)
q("train", C, "What is the average party size for each game group?",
  """SELECT T1."group", avg(T2.party_size) FROM games AS T1 JOIN play_sessions AS T2 ON T1.game_id = T2.game_id
     GROUP BY T1."group\"""", 4)
q("train", C, "List the names of active gold tier members.",
  "SELECT name FROM members WHERE tier = 'gold' AND is_active = 1", 3)
q("dev", C, "How many menu items cost more than 5 dollars?",
  "SELECT count(*) FROM menu_items WHERE price > 5", 1)
q("dev", C, "What are the titles and maximum player counts of the cooperative games?",
  """SELECT title, max_players FROM games WHERE "group" = 'cooperative'""", 2)
q("dev", C, "Which game group has been played most often?",
  """SELECT T1."group" FROM games AS T1 JOIN play_sessions AS T2 ON T1.game_id = T2.game_id
     GROUP BY T1."group" ORDER BY count(*) DESC LIMIT 1""", 1)
q("dev", C, "List the names of members who are no longer active and the titles of the games they played.",
  """SELECT DISTINCT T1.name, T3.title FROM members AS T1 JOIN play_sessions AS T2 ON T1.member_id = T2.member_id
     JOIN games AS T3 ON T2.game_id = T3.game_id WHERE T1.is_active = 0""", 7)
q("dev", C, "Which menu items have never been ordered?",
  """SELECT name FROM menu_items WHERE item_id NOT IN (SELECT item_id FROM "order items")""", 1)
q("dev", C, "How many drinks were ordered in each month? Show the month number and the quantity.",
  """SELECT strftime('%m', T1.placed_at), sum(T2.quantity) FROM orders AS T1
     JOIN "order items" AS T2 ON T1.order_id = T2.order_id JOIN menu_items AS T3 ON T2.item_id = T3.item_id
     WHERE T3.category = 'drink' GROUP BY strftime('%m', T1.placed_at)""", 12)
q("dev", C, "Which games are published by Emberline or have been played by a party of at least seven?",
  """SELECT title FROM games WHERE publisher = 'Emberline'
     UNION SELECT T1.title FROM games AS T1 JOIN play_sessions AS T2 ON T1.game_id = T2.game_id
     WHERE T2.party_size >= 7""", 3)

# ---- orchard_coop -------------------------------------------------------------------------
O = "orchard_coop"  # noqa: E741  (one-letter database names, as the other blocks)
q("train", O, "How many growers farm organically?",
  "SELECT count(*) FROM growers WHERE organic = 1", 1)
q("train", O, "List the names and altitudes of orchards higher than 100 meters, highest first.",
  "SELECT orchard_name, altitude_m FROM orchards WHERE altitude_m > 100 ORDER BY altitude_m DESC", 5)
q("train", O, "What is the total orchard area in hectares of each grower? Show the grower name and the area.",
  """SELECT T1.name, sum(T2.hectares) FROM growers AS T1 JOIN orchards AS T2 ON T1.grower_id = T2.grower_id
     GROUP BY T1.grower_id""", 7)
q("train", O, "How many tonnes were harvested in each season?",
  "SELECT season_year, sum(tonnes) FROM harvests GROUP BY season_year", 3)
q("train", O, "Which varieties are not planted in any orchard?",
  "SELECT name FROM varieties WHERE variety_id NOT IN (SELECT variety_id FROM plantings)", 1)
q("train", O, "Which growers have no orchard?",
  "SELECT name FROM growers WHERE grower_id NOT IN (SELECT grower_id FROM orchards)", 1)
q("train", O, "Which buyer paid the highest price per tonne in a single sale, and for which variety?",
  """SELECT T2.name, T4.name FROM sales AS T1 JOIN buyers AS T2 ON T1.buyer_id = T2.buyer_id
     JOIN harvests AS T3 ON T1.harvest_id = T3.harvest_id JOIN varieties AS T4 ON T3.variety_id = T4.variety_id
     ORDER BY T1.price_per_tonne DESC LIMIT 1""", 1)
q("train", O, "What is the total revenue from sales to each type of buyer?",
  """SELECT T2.buyer_type, sum(T1.tonnes * T1.price_per_tonne) FROM sales AS T1
     JOIN buyers AS T2 ON T1.buyer_id = T2.buyer_id GROUP BY T2.buyer_type""", 5)
q("train", O, "Which orchards grow both apples and cherries?",
  """SELECT T1.orchard_name FROM orchards AS T1 JOIN plantings AS T2 ON T1.orchard_id = T2.orchard_id
     JOIN varieties AS T3 ON T2.variety_id = T3.variety_id WHERE T3.fruit = 'apple'
     INTERSECT
     SELECT T1.orchard_name FROM orchards AS T1 JOIN plantings AS T2 ON T1.orchard_id = T2.orchard_id
     JOIN varieties AS T3 ON T2.variety_id = T3.variety_id WHERE T3.fruit = 'cherry'""", 3)
q("train", O, "Which buyers have bought cherries but never pears?",
  """SELECT T1.name FROM buyers AS T1 JOIN sales AS T2 ON T1.buyer_id = T2.buyer_id
     JOIN harvests AS T3 ON T2.harvest_id = T3.harvest_id JOIN varieties AS T4 ON T3.variety_id = T4.variety_id
     WHERE T4.fruit = 'cherry'
     EXCEPT
     SELECT T1.name FROM buyers AS T1 JOIN sales AS T2 ON T1.buyer_id = T2.buyer_id
     JOIN harvests AS T3 ON T2.harvest_id = T3.harvest_id JOIN varieties AS T4 ON T3.variety_id = T4.variety_id
     WHERE T4.fruit = 'pear'""", 1)
q("train", O, "What was each orchard's 2024 yield in tonnes per hectare? Show the orchard name and the yield, best first.",
  """WITH totals AS (SELECT orchard_id, sum(tonnes) AS total FROM harvests WHERE season_year = 2024
     GROUP BY orchard_id)
     SELECT T1.orchard_name, T2.total / T1.hectares FROM orchards AS T1
     JOIN totals AS T2 ON T1.orchard_id = T2.orchard_id ORDER BY T2.total / T1.hectares DESC""", 8)
q("train", O, "Which varieties received grade A more than four times? Give the variety name and the count.",
  """SELECT T1.name, count(*) FROM varieties AS T1 JOIN harvests AS T2 ON T1.variety_id = T2.variety_id
     WHERE T2.grade = 'A' GROUP BY T1.variety_id HAVING count(*) > 4""", 2)
q("train", O, "How many trees of each fruit are planted in total?",
  """SELECT T2.fruit, sum(T1.trees) FROM plantings AS T1 JOIN varieties AS T2 ON T1.variety_id = T2.variety_id
     GROUP BY T2.fruit""", 4)
q("dev", O, "How many orchards are there in each village?",
  """SELECT T1.village, count(*) FROM growers AS T1 JOIN orchards AS T2 ON T1.grower_id = T2.grower_id
     GROUP BY T1.village""", 4)
q("dev", O, "What is the name of the largest orchard, and who owns it?",
  """SELECT T1.orchard_name, T2.name FROM orchards AS T1 JOIN growers AS T2 ON T1.grower_id = T2.grower_id
     ORDER BY T1.hectares DESC LIMIT 1""", 1)
q("dev", O, "Which orchards have sold fruit to Valley Cider Works?",
  """SELECT DISTINCT T1.orchard_name FROM orchards AS T1 JOIN harvests AS T2 ON T1.orchard_id = T2.orchard_id
     JOIN sales AS T3 ON T2.harvest_id = T3.harvest_id JOIN buyers AS T4 ON T3.buyer_id = T4.buyer_id
     WHERE T4.name = 'Valley Cider Works'""", 7)
q("dev", O, "Which growers harvested fruit in both 2022 and 2024?",
  """SELECT T1.name FROM growers AS T1 JOIN orchards AS T2 ON T1.grower_id = T2.grower_id
     JOIN harvests AS T3 ON T2.orchard_id = T3.orchard_id WHERE T3.season_year = 2022
     INTERSECT
     SELECT T1.name FROM growers AS T1 JOIN orchards AS T2 ON T1.grower_id = T2.grower_id
     JOIN harvests AS T3 ON T2.orchard_id = T3.orchard_id WHERE T3.season_year = 2024""", 6)
q("dev", O, "What is the average price per tonne paid for each kind of fruit?",
  """SELECT T3.fruit, avg(T1.price_per_tonne) FROM sales AS T1 JOIN harvests AS T2 ON T1.harvest_id = T2.harvest_id
     JOIN varieties AS T3 ON T2.variety_id = T3.variety_id GROUP BY T3.fruit""", 4)


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def db_path(db_id: str) -> str:
    return os.path.join(HERE, "database", db_id, f"{db_id}.sqlite")


def build_database(db_id: str, ddl: str, make_rows) -> None:
    path = db_path(db_id)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for suffix in ("", "-journal", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    rows = make_rows(random.Random(f"{SEED}:{db_id}"))
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA foreign_keys=ON")
        con.executescript(ddl)
        con.execute("PRAGMA foreign_keys=ON")  # executescript may have committed; keep it on
        declared = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY rowid")]
        if sorted(declared) != sorted(rows):
            raise SystemExit(f"{db_id}: data for {sorted(rows)} but tables {sorted(declared)}")
        with con:
            for table in declared:  # DDL order is parent-before-child
                cols, data = rows[table]
                sql = (f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in cols)}) "
                       f"VALUES ({', '.join('?' * len(cols))})")
                con.executemany(sql, data)
        con.execute("VACUUM")
    finally:
        con.close()


SPIDER_TYPES = ("text", "number", "time", "boolean", "others")


def spider_type(declared: str) -> str:
    t = declared.upper()
    if "BOOL" in t:
        return "boolean"
    if "DATE" in t or "TIME" in t or "YEAR" in t:
        return "time"
    if any(k in t for k in ("INT", "REAL", "NUM", "DEC", "FLOA", "DOUB")):
        return "number"
    if any(k in t for k in ("CHAR", "TEXT", "CLOB")) or t == "":
        return "text"
    return "others"


def natural(name: str) -> str:
    return name.replace("_", " ").lower()


def read_schema(db_id: str) -> dict:
    """Spider tables.json record for one database, read from the sqlite file itself."""
    con = sqlite3.connect(f"file:{db_path(db_id)}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY rowid")]
        col_orig: list[list] = [[-1, "*"]]
        col_nat: list[list] = [[-1, "*"]]
        col_types: list[str] = ["text"]
        primary: list = []
        index: dict[tuple[str, str], int] = {}
        for ti, table in enumerate(tables):
            pk = []
            for _cid, name, ctype, _notnull, _default, pkpos in con.execute(
                    f"PRAGMA table_info({quote(table)})"):
                index[(table, name)] = len(col_orig)
                col_orig.append([ti, name])
                col_nat.append([ti, natural(name)])
                col_types.append(spider_type(ctype))
                if pkpos:
                    pk.append((pkpos, len(col_orig) - 1))
            pk = [i for _, i in sorted(pk)]
            if len(pk) == 1:
                primary.append(pk[0])
            elif pk:
                primary.append(pk)
        foreign: list[list[int]] = []
        for table in tables:
            fks = sorted(con.execute(f"PRAGMA foreign_key_list({quote(table)})"), key=lambda r: (r[0], r[1]))
            for _id, _seq, ref_table, frm, to, *_ in fks:
                if to is None:
                    raise SystemExit(f"{db_id}.{table}.{frm}: FK must name its referenced column")
                foreign.append([index[(table, frm)], index[(ref_table, to)]])
        foreign.sort()
        return {
            "column_names": col_nat,
            "column_names_original": col_orig,
            "column_types": col_types,
            "db_id": db_id,
            "foreign_keys": foreign,
            "primary_keys": primary,
            "table_names": [natural(t) for t in tables],
            "table_names_original": tables,
        }
    finally:
        con.close()


def write_json(name: str, obj) -> None:
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def build() -> None:
    for db_id, ddl, make_rows in DATABASES:
        build_database(db_id, ddl, make_rows)
    write_json("tables.json", [read_schema(db_id) for db_id, _, _ in DATABASES])
    for split in ("train", "dev"):
        records = [
            {
                "db_id": db_id,
                "query": query,
                "query_toks": [],
                "query_toks_no_value": [],
                "question": question,
                "question_toks": [],
                "sql": {},
            }
            for s, db_id, question, query, _ in QUESTIONS
            if s == split
        ]
        write_json(f"{split}.json", records)


# ---------------------------------------------------------------------------------------------
# Validate
# ---------------------------------------------------------------------------------------------


class Failures:
    def __init__(self) -> None:
        self.items: list[str] = []

    def __call__(self, msg: str) -> None:
        self.items.append(msg)
        print(f"  FAIL: {msg}")


def validate_tables(fail: Failures) -> None:
    print("checking tables.json against the sqlite files")
    with open(os.path.join(HERE, "tables.json"), encoding="utf-8") as f:
        records = json.load(f)
    expected_ids = [d for d, _, _ in DATABASES]
    if [r["db_id"] for r in records] != expected_ids:
        fail(f"tables.json db_ids {[r['db_id'] for r in records]} != {expected_ids}")
    keys = {"db_id", "table_names_original", "table_names", "column_names_original", "column_names",
            "column_types", "primary_keys", "foreign_keys"}
    for rec in records:
        db_id = rec["db_id"]
        if set(rec) != keys:
            fail(f"{db_id}: keys {sorted(rec)}")
            continue
        path = db_path(db_id)
        if not os.path.exists(path):
            fail(f"{db_id}: missing {path}")
            continue
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
            if sorted(tables) != sorted(rec["table_names_original"]):
                fail(f"{db_id}: tables {sorted(tables)} != {sorted(rec['table_names_original'])}")
                continue
            n = len(rec["column_names_original"])
            if not (len(rec["column_names"]) == len(rec["column_types"]) == n):
                fail(f"{db_id}: column list lengths differ")
            if rec["column_names_original"][0] != [-1, "*"] or rec["column_names"][0] != [-1, "*"]:
                fail(f"{db_id}: first column must be [-1, '*']")
            if len(rec["table_names"]) != len(rec["table_names_original"]):
                fail(f"{db_id}: table_names length")
            bad = [t for t in rec["column_types"] if t not in SPIDER_TYPES]
            if bad:
                fail(f"{db_id}: column types outside Spider's vocabulary: {bad}")
            cols = rec["column_names_original"]
            where = {(rec["table_names_original"][t], c): i for i, (t, c) in enumerate(cols) if t >= 0}
            # columns, order, types and primary keys, table by table
            pk_expected = []
            for ti, table in enumerate(rec["table_names_original"]):
                info = list(con.execute(f"PRAGMA table_info({quote(table)})"))
                mine = [(i, c) for i, (t, c) in enumerate(cols) if t == ti]
                if [c for _, c in mine] != [r[1] for r in info]:
                    fail(f"{db_id}.{table}: columns {[c for _, c in mine]} != {[r[1] for r in info]}")
                    continue
                if [i for i, _ in mine] != list(range(mine[0][0], mine[0][0] + len(mine))):
                    fail(f"{db_id}.{table}: columns not contiguous")
                for (i, c), r in zip(mine, info):
                    if rec["column_types"][i] != spider_type(r[2]):
                        fail(f"{db_id}.{table}.{c}: type {rec['column_types'][i]} vs declared {r[2]}")
                    if rec["column_names"][i] != [ti, natural(c)]:
                        fail(f"{db_id}.{table}.{c}: natural name {rec['column_names'][i]}")
                pk = [i for (i, _), r in sorted(zip(mine, info), key=lambda x: x[1][5]) if r[5]]
                if pk:
                    pk_expected.append(pk[0] if len(pk) == 1 else pk)
            if rec["primary_keys"] != pk_expected:
                fail(f"{db_id}: primary_keys {rec['primary_keys']} != {pk_expected}")
            fk_real = set()
            for table in rec["table_names_original"]:
                for r in con.execute(f"PRAGMA foreign_key_list({quote(table)})"):
                    fk_real.add((where[(table, r[3])], where[(r[2], r[4])]))
            fk_json = {tuple(p) for p in rec["foreign_keys"]}
            if fk_json != fk_real or len(fk_json) != len(rec["foreign_keys"]):
                fail(f"{db_id}: foreign_keys {sorted(fk_json)} != PRAGMA {sorted(fk_real)}")
            if list(con.execute("PRAGMA foreign_key_check")):
                fail(f"{db_id}: PRAGMA foreign_key_check reports violations")
            if con.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                fail(f"{db_id}: integrity_check failed")
            counts = {t: con.execute(f"SELECT count(*) FROM {quote(t)}").fetchone()[0]
                      for t in rec["table_names_original"]}
            empty = [t for t, c in counts.items() if c == 0]
            if empty:
                fail(f"{db_id}: empty tables {empty}")
            size = os.path.getsize(path)
            if size >= 300 * 1024:
                fail(f"{db_id}: {size} bytes, must stay under 300 KB")
            comps = fk_components(rec)
            print(f"  {db_id}: {len(tables)} tables, {n - 1} columns, {len(fk_real)} foreign keys, "
                  f"{sum(counts.values())} rows, {size // 1024} KB; FK groups "
                  + " | ".join(f"{len(c)}" for c in comps))
        finally:
            con.close()


def fk_components(rec: dict) -> list[list[str]]:
    names = rec["table_names_original"]
    parent = list(range(len(names)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    tab = [t for t, _ in rec["column_names_original"]]
    for a, b in rec["foreign_keys"]:
        parent[find(tab[a])] = find(tab[b])
    groups: dict[int, list[str]] = {}
    for i, n in enumerate(names):
        groups.setdefault(find(i), []).append(n)
    return sorted(groups.values(), key=len, reverse=True)


def validate_questions(fail: Failures, verbose: bool) -> None:
    print("executing every gold query")
    ids = {d for d, _, _ in DATABASES}
    on_disk = []
    for split in ("train", "dev"):
        with open(os.path.join(HERE, f"{split}.json"), encoding="utf-8") as f:
            for r in json.load(f):
                on_disk.append((split, r["db_id"], r["question"], r["query"]))
                for k in ("db_id", "question", "query", "query_toks", "sql"):
                    if k not in r:
                        fail(f"{split}.json record lacks {k}")
    if on_disk != [x[:4] for split in ("train", "dev") for x in QUESTIONS if x[0] == split]:
        fail("train.json/dev.json differ from the questions in build_demo.py: rebuild")
    seen = set()
    empty = 0
    for split, db_id, question, query, expected in QUESTIONS:
        if db_id not in ids:
            fail(f"unknown db_id {db_id}")
            continue
        if question in seen:
            fail(f"duplicate question: {question}")
        seen.add(question)
        con = sqlite3.connect(f"file:{db_path(db_id)}?mode=ro", uri=True)
        try:
            result = con.execute(query).fetchall()
        except sqlite3.Error as e:
            fail(f"[{split}] {db_id}: {question!r}: {e}\n    {query}")
            continue
        finally:
            con.close()
        empty += not result
        flag = "" if len(result) == expected else f"   <-- expected {expected} rows"
        print(f"  [{split:5}] {db_id:17} {len(result):3} rows  {question}{flag}")
        if verbose:
            for row in result[:8]:
                print(f"           {row}")
            if len(result) > 8:
                print(f"           ... ({len(result) - 8} more)")
        if len(result) != expected:
            fail(f"{question!r} returned {len(result)} rows, expected {expected}")
    if empty > len(QUESTIONS) // 10:
        fail(f"{empty} gold queries return no rows; at most {len(QUESTIONS) // 10} may")
    for split in ("train", "dev"):
        per = {}
        for s, d, *_ in QUESTIONS:
            if s == split:
                per[d] = per.get(d, 0) + 1
        print(f"  {split}: {sum(per.values())} questions " + ", ".join(f"{d} {n}" for d, n in per.items()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="validate existing files, do not rebuild")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the first rows of each result")
    args = ap.parse_args()
    if not args.check:
        build()
        print(f"built databases, tables.json, train.json and dev.json in {HERE}")
    fail = Failures()
    validate_tables(fail)
    validate_questions(fail, args.verbose)
    if fail.items:
        print(f"VALIDATION FAILED: {len(fail.items)} problem(s)", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The demo store as data: product types, products with variants, vendor questionnaires,
brand research, price lists and prices, launch plans and the storefront's first customer
events. Pure: no I/O; `loader` sends it through the gateway.

Every item has a natural key (a type code, an SKU, a title, an event id) so that loading
twice finds what the first run made instead of making it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

CURRENCY = "EUR"
WEB = "eu-web"
MARKETPLACE = "eu-marketplace"
# The owners the store's work is split between; four-eyes rules compare owners, and the
# bootstrap admin key's owner is "admin" (PRODUCTOPS_ADMIN_OWNER).
ANALYST = "pricing-analyst"
LAUNCH_MANAGER = "launch-manager"

Json = Any


@dataclass(frozen=True)
class ProductType:
    code: str
    name: str
    required_attributes: tuple[str, ...]
    # The axis its variants differ by, and the values the store stocks.
    axis: str
    axis_values: tuple[str, ...]

    def body(self) -> dict[str, Json]:
        return {
            "code": self.code,
            "name": self.name,
            "required_attributes": list(self.required_attributes),
        }


class LaunchState(StrEnum):
    """What the demo does to a plan, so that every readiness and status launch has shows."""

    PENDING = "pending"  # complete and priced; manual gates still open
    BLOCKED_INCOMPLETE = "blocked_incomplete"  # catalog_complete fails: attributes missing
    BLOCKED_PRICE = "blocked_price"  # price_approved fails: the price is only proposed
    BLOCKED_CRITICAL = "blocked_critical"  # no_critical_defects fails once triage has run
    READY = "ready"  # every gate passes
    READY_WAIVED = "ready_waived"  # every gate passes but regulatory_compliance, waived
    APPROVED = "approved"  # ready, approved by another owner, launching later
    LAUNCHED = "launched"  # ready, approved on its target date: launched at once
    CANCELLED = "cancelled"  # planned, then cancelled

    @property
    def readiness(self) -> str:
        """The readiness launch shows for the plan once the demo's facts have arrived."""
        if self.name.startswith("BLOCKED"):
            return "blocked"
        if self in (LaunchState.PENDING, LaunchState.CANCELLED):
            return "pending"
        return "ready"

    @property
    def status(self) -> str:
        """The plan's status once the demo is done with it."""
        if self in (LaunchState.APPROVED, LaunchState.LAUNCHED, LaunchState.CANCELLED):
            return self.value
        return "planned"

    @property
    def needs_approved_price(self) -> bool:
        return self not in (LaunchState.BLOCKED_PRICE, LaunchState.CANCELLED)

    @property
    def signs_off(self) -> bool:
        """Whether every manual gate gets its evidence (all but the waived one)."""
        return self in (
            LaunchState.READY,
            LaunchState.READY_WAIVED,
            LaunchState.APPROVED,
            LaunchState.LAUNCHED,
        )


@dataclass(frozen=True)
class Launch:
    state: LaunchState
    # Days from today to the target date when the plan is made.
    days_ahead: int
    price_list: str = WEB


@dataclass(frozen=True)
class Variant:
    sku: str
    axes: Mapping[str, str]

    def body(self) -> dict[str, Json]:
        return {"sku": self.sku, "axes": dict(self.axes)}


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    product_type: str
    brand: str
    vendor: str
    cost: str
    price: str
    attributes: Mapping[str, Json]
    description: str | None
    lifecycle: str = "active"
    launch: Launch | None = None
    variants: tuple[Variant, ...] = ()

    def body(self) -> dict[str, Json]:
        body: dict[str, Json] = {
            "sku": self.sku,
            "name": self.name,
            "product_type": self.product_type,
            "brand": self.brand,
            "vendor": self.vendor,
            "attributes": dict(self.attributes),
            "cost": {"amount": self.cost, "currency": CURRENCY},
        }
        if self.description is not None:
            body["description"] = self.description
        return body

    @property
    def lifecycle_path(self) -> tuple[str, ...]:
        """The moves from draft to the product's lifecycle, in order."""
        return {
            "draft": (),
            "incoming": ("incoming",),
            "active": ("incoming", "active"),
            "discontinued": ("discontinued",),
        }[self.lifecycle]


TYPES: tuple[ProductType, ...] = (
    ProductType(
        "electric_kettle",
        "Electric kettle",
        ("capacity_l", "wattage", "material"),
        "colour",
        ("black", "white"),
    ),
    ProductType(
        "blender", "Countertop blender", ("capacity_l", "wattage", "speeds"), "colour", ("black",)
    ),
    ProductType(
        "stroller",
        "Stroller",
        ("weight_kg", "max_child_kg", "foldable"),
        "colour",
        ("graphite", "sand"),
    ),
    ProductType(
        "desk_lamp",
        "Desk lamp",
        ("lumens", "colour_temperature_k", "dimmable"),
        "finish",
        ("matte-black", "brass"),
    ),
    ProductType("toaster", "Toaster", ("slots", "wattage"), "colour", ("steel", "cream")),
    ProductType(
        "air_purifier",
        "Air purifier",
        ("cadr_m3h", "room_m2", "noise_db"),
        "plug",
        ("EU", "UK"),
    ),
    ProductType(
        "headphones",
        "Wireless headphones",
        ("battery_h", "noise_cancelling", "driver_mm"),
        "colour",
        ("black", "silver"),
    ),
    ProductType(
        "office_chair",
        "Office chair",
        ("max_load_kg", "seat_height_cm"),
        "colour",
        ("charcoal", "blue"),
    ),
)
_TYPES = {t.code: t for t in TYPES}


# The kettle whose base sparks: one safety hazard, a critical finding that blocks its launch
# on the marketplace list.
HAZARD_SKU = "KT-220"
# The blender whose jar leaks: several similar reviews, one defect finding.
CLUSTER_SKU = "BL-300"

VENDORS: Mapping[str, str] = MappingProxyType(
    {
        "electric_kettle": "Hearth Supply Co.",
        "blender": "Mixworks GmbH",
        "stroller": "Little Wheels BV",
        "desk_lamp": "Brightside Ltd",
        "toaster": "Crumb & Co",
        "air_purifier": "Clearway AB",
        "headphones": "Soundfield Audio",
        "office_chair": "Sitwell Furniture",
    }
)

# Per product type, in the order of its required attributes: SKU, name (the brand first),
# cost, list price, then the attribute values (None: the vendor has not said yet).
# fmt: off
_ROWS: Mapping[str, tuple[tuple[Json, ...], ...]] = MappingProxyType({
    "electric_kettle": (
        ("KT-110", "Boilwell Classic 1.7", "12.40", "29.99", 1.7, 2200, "steel"),
        ("KT-150", "Boilwell Mini 1.0", "10.90", "24.99", 1.0, 1600, "steel"),
        (HAZARD_SKU, "Boilwell Glass 1.7", "15.20", "34.99", 1.7, 2400, "glass"),
        ("KT-310", "Teatime Vario 1.5", "21.00", "49.99", 1.5, 2200, "steel"),
        ("KT-420", "Teatime Gooseneck 0.9", "24.50", "59.00", 0.9, 1200, "steel"),
        ("KT-510", "Nordik Stone 1.5", "18.30", "44.90", 1.5, 2000, "ceramic"),
        ("KT-600", "Nordik Travel 0.5", "9.80", "22.90", 0.5, 1000, "plastic"),
    ),
    "blender": (
        ("BL-100", "Mixworks Base 1.2", "19.00", "44.99", 1.2, 600, 3),
        ("BL-200", "Mixworks Pro 1.5", "34.00", "79.99", 1.5, 1000, 5),
        (CLUSTER_SKU, "Mixworks Power 2.0", "48.00", "109.00", 2.0, 1500, 8),
        ("BL-400", "Vortexa Smoothie 0.6", "14.00", "34.99", 0.6, 350, 2),
        ("BL-500", "Vortexa Chef 1.8", "56.00", "129.00", 1.8, 1400, 10),
        ("BL-600", "Vortexa Hand 0.8", "11.50", "27.99", 0.8, 500, 2),
        ("BL-900", "Mixworks Vacuum 1.5", "82.00", "189.00", 1.5, 1200, 6),
    ),
    "stroller": (
        ("ST-100", "Roamer City", "120.00", "279.00", 8.9, 22, True),
        ("ST-200", "Roamer Terrain", "190.00", "429.00", 12.4, 22, True),
        ("ST-300", "Pebble Lite", "75.00", "169.00", 6.2, 15, True),
        ("ST-400", "Pebble Twin", "210.00", "469.00", 14.8, 30, True),
        ("ST-500", "Roamer Jogger", "230.00", "499.00", 11.0, 22, False),
        ("ST-600", "Pebble Cabin", "98.00", "219.00", 5.9, 22, True),
    ),
    "desk_lamp": (
        ("DL-100", "Lumo Task", "11.00", "29.90", 450, 4000, False),
        ("DL-200", "Lumo Flex", "17.50", "44.90", 600, 3000, True),
        ("DL-300", "Arkwright Architect", "32.00", "89.00", 800, 2700, True),
        ("DL-350", "Arkwright Banker", "28.00", "74.00", 500, 2700, False),
        ("DL-400", "Lumo Clip", "7.50", "19.90", 250, 5000, True),
        ("DL-450", "Lumo Arc", "24.00", "64.90", 900, 3500, True),
        ("DL-500", "Arkwright Studio", "38.00", "99.00", 1100, 4000, True),
    ),
    "toaster": (
        ("TS-100", "Crumb Duo", "13.00", "32.99", 2, 850),
        ("TS-200", "Crumb Quad", "22.00", "54.99", 4, 1600),
        ("TS-300", "Goldie Retro", "26.00", "64.00", 2, 1000),
        ("TS-400", "Goldie Long Slot", "29.00", "69.00", 2, 1400),
        ("TS-500", "Crumb Smart", "41.00", "99.00", 2, 1100),
        ("TS-600", "Goldie Glass", "35.00", "84.00", None, 1200),
    ),
    "air_purifier": (
        ("AP-100", "Clearway Room", "48.00", "119.00", 180, 20, 48),
        ("AP-200", "Clearway Home", "79.00", "189.00", 300, 36, 52),
        ("AP-300", "Breeze Mini", "29.00", "69.00", 90, 10, 40),
        ("AP-400", "Breeze Tower", "110.00", "259.00", 420, 50, 55),
        ("AP-500", "Clearway Pet", "92.00", "219.00", 350, 42, 50),
        ("AP-600", "Breeze Desk", "21.00", "49.00", 40, 6, 35),
    ),
    "headphones": (
        ("HP-100", "Soundfield Go", "18.00", "49.00", 30, False, 32),
        ("HP-200", "Soundfield Studio", "62.00", "149.00", 40, True, 40),
        ("HP-300", "Quietude One", "95.00", "229.00", 30, True, 40),
        ("HP-400", "Quietude Sport", "34.00", "79.00", 12, False, 10),
        ("HP-500", "Soundfield Kids", "12.00", "29.90", 20, False, 30),
        ("HP-600", "Quietude Travel", "70.00", "169.00", 35, True, 38),
        ("HP-700", "Soundfield Studio 2", "71.00", "169.00", 50, True, 40),
    ),
    "office_chair": (
        ("OC-100", "Sitwell Basic", "45.00", "119.00", 110, "42-52"),
        ("OC-200", "Sitwell Ergo", "98.00", "249.00", 130, "44-56"),
        ("OC-300", "Posturo Mesh", "120.00", "299.00", 135, "45-55"),
        ("OC-400", "Posturo Kneel", "55.00", "139.00", 100, "50-62"),
        ("OC-450", "Posturo Executive", "160.00", "389.00", 150, "46-56"),
        ("OC-500", "Sitwell Ergo 2", "105.00", "259.00", 140, "44-57"),
    ),
})
# fmt: on

# Products that are not simply on sale (the rest are `active`).
LIFECYCLES: Mapping[str, str] = MappingProxyType(
    {
        "BL-600": "incoming",
        "TS-500": "incoming",
        "HP-600": "incoming",
        "ST-400": "discontinued",
        "DL-400": "discontinued",
        "AP-600": "draft",
        **dict.fromkeys(
            [
                "KT-600",
                "BL-900",
                "ST-600",
                "DL-450",
                "DL-500",
                "TS-600",
                "AP-500",
                "HP-700",
                "OC-500",
            ],
            "draft",
        ),
    }
)
LAUNCHES: Mapping[str, Launch] = MappingProxyType(
    {
        HAZARD_SKU: Launch(LaunchState.BLOCKED_CRITICAL, 10, MARKETPLACE),
        "KT-600": Launch(LaunchState.CANCELLED, 40),
        "BL-900": Launch(LaunchState.APPROVED, 7),
        "ST-600": Launch(LaunchState.PENDING, 30),
        "DL-450": Launch(LaunchState.LAUNCHED, 0),
        "DL-500": Launch(LaunchState.PENDING, 21),
        # Its vendor has sent neither the slot count nor the copy: catalog_complete fails.
        "TS-600": Launch(LaunchState.BLOCKED_INCOMPLETE, 28),
        "AP-500": Launch(LaunchState.BLOCKED_PRICE, 35),
        "HP-700": Launch(LaunchState.READY, 14),
        "OC-500": Launch(LaunchState.READY_WAIVED, 18),
    }
)
UNDESCRIBED = frozenset({"TS-600"})


def _product(product_type: str, row: tuple[Json, ...]) -> Product:
    kind = _TYPES[product_type]
    sku, name, cost, price, *values = row
    attributes = {
        key: value
        for key, value in zip(kind.required_attributes, values, strict=True)
        if value is not None
    }
    details = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in attributes.items())
    variants = tuple(
        Variant(f"{sku}-{value.upper()[:3]}", MappingProxyType({kind.axis: value}))
        for value in kind.axis_values
    )
    brand = name.split()[0]
    return Product(
        sku=sku,
        name=name,
        product_type=product_type,
        brand=brand,
        vendor=VENDORS[product_type],
        cost=cost,
        price=price,
        attributes=MappingProxyType(attributes),
        description=None if sku in UNDESCRIBED else f"{name} by {brand}: {details}.",
        lifecycle=LIFECYCLES.get(sku, "active"),
        launch=LAUNCHES.get(sku),
        variants=variants,
    )


PRODUCTS: tuple[Product, ...] = tuple(
    _product(product_type, row) for product_type, rows in _ROWS.items() for row in rows
)
_BY_SKU: Mapping[str, Product] = MappingProxyType({p.sku: p for p in PRODUCTS})


def product(sku: str) -> Product:
    """The store's product with this SKU (KeyError when there is none)."""
    return _BY_SKU[sku]


def launches() -> list[tuple[Product, Launch]]:
    """The products the demo plans a launch of, with their plan."""
    return [(p, p.launch) for p in PRODUCTS if p.launch is not None]


def on_sale() -> list[Product]:
    """Active products without a launch plan: what the storefront sells and customers talk
    about (feedback on a planned product would reopen its manual gates)."""
    return [p for p in PRODUCTS if p.lifecycle == "active" and p.launch is None]


# --- launch ---------------------------------------------------------------------------------------

# Strollers need a child-safety test and a usability report besides the default gates.
GATE_TEMPLATES: Mapping[str, Mapping[str, list[str]]] = MappingProxyType(
    {"stroller": {"gates": ["child_safety_test"], "qa_kinds": ["qa", "usability"]}}
)
GOALS: Mapping[str, Json] = MappingProxyType(
    {"units": 800, "revenue": {"amount": "60000.00", "currency": CURRENCY}, "margin_pct": "35"}
)
DOCUMENTS = ({"title": "CE declaration of conformity", "ref": "DMS-2031"},)
MARKETING_TASKS = (
    {"title": "Product page copy and photos", "phase": "before", "offset_days": -7},
    {"title": "Launch newsletter", "phase": "during", "offset_days": 0},
)
WAIVED_GATE = "regulatory_compliance"

# --- pricing --------------------------------------------------------------------------------------

PRICE_LISTS: tuple[Mapping[str, Json], ...] = (
    {"code": WEB, "currency": CURRENCY, "channel": "web", "guardrails": {"min_margin_pct": "30"}},
    {
        "code": MARKETPLACE,
        "currency": CURRENCY,
        "channel": "marketplace",
        "guardrails": {"min_margin_pct": "40", "max_change_pct": "25"},
    },
)


@dataclass(frozen=True)
class Price:
    """A base price the analyst proposes; `approve` says whether the admin approves it."""

    sku: str
    price_list: str
    amount: str
    approve: bool
    reason: str


# Marketplace proposals left waiting for a decision; the last one is under the list's
# minimum margin, so its approver will have to give a reason.
_WAITING = (
    ("KT-110", "32.99"),
    ("BL-200", "84.99"),
    ("DL-300", "94.00"),
    ("HP-200", "159.00"),
    ("OC-200", "264.00"),
    ("AP-100", "69.00"),
)


def prices() -> list[Price]:
    """Every proposal the demo makes: the web price of each product on sale or soon to be,
    the launch lists' prices, and the marketplace proposals left waiting."""
    made = [
        Price(p.sku, WEB, p.price, approve=True, reason="list price")
        for p in PRODUCTS
        if p.lifecycle in ("active", "incoming")
    ]
    for p, launch in launches():
        on_list = p.lifecycle in ("active", "incoming") and launch.price_list == WEB
        if on_list or launch.state == LaunchState.CANCELLED:
            continue
        approve = launch.state.needs_approved_price
        made.append(Price(p.sku, launch.price_list, p.price, approve, "launch price"))
    made += [
        Price(sku, MARKETPLACE, amount, approve=False, reason="marketplace listing")
        for sku, amount in _WAITING
    ]
    return made


# --- research and questionnaires ------------------------------------------------------------------

CRITERIA: Mapping[str, list[Mapping[str, Json]]] = MappingProxyType(
    {
        "electric_kettle": [
            {"name": "boil_speed", "weight": 3.0, "description": "1 l from 15 to 100 °C"},
            {"name": "build_quality", "weight": 2.0},
            {"name": "noise", "weight": 1.0},
        ],
        "blender": [
            {"name": "smoothie_texture", "weight": 3.0},
            {"name": "jar_seal", "weight": 2.0, "description": "no leak at full speed"},
            {"name": "noise", "weight": 1.0},
        ],
    }
)


@dataclass(frozen=True)
class Benchmark:
    product_type: str
    brand: str
    scores: Mapping[str, float]
    source: str
    sku: str | None = None
    competitor_ref: str | None = None


# fmt: off
BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("electric_kettle", "Boilwell", {"boil_speed": 8, "build_quality": 6.5, "noise": 5},
              "in-house test lab, March", sku="KT-110"),
    Benchmark("electric_kettle", "Teatime", {"boil_speed": 7, "build_quality": 8.5, "noise": 7.5},
              "in-house test lab, March", sku="KT-310"),
    Benchmark("electric_kettle", "Nordik", {"boil_speed": 6, "build_quality": 9, "noise": 8},
              "in-house test lab, March", sku="KT-510"),
    Benchmark("electric_kettle", "Hotpot", {"boil_speed": 9, "build_quality": 5, "noise": 4},
              "consumer magazine 04/2025", competitor_ref="Hotpot Turbo 1.7"),
    Benchmark("blender", "Mixworks", {"smoothie_texture": 8.5, "jar_seal": 4, "noise": 5.5},
              "in-house test lab, April", sku=CLUSTER_SKU),
    Benchmark("blender", "Vortexa", {"smoothie_texture": 7.5, "jar_seal": 8, "noise": 6.5},
              "in-house test lab, April", sku="BL-500"),
)
# fmt: on


@dataclass(frozen=True)
class Questionnaire:
    title: str
    product_type: str
    questions: tuple[Mapping[str, Json], ...]
    # Vendor answers per SKU (the vendor is the product's).
    answers: Mapping[str, Mapping[str, Json]]


QUESTIONNAIRES: tuple[Questionnaire, ...] = (
    Questionnaire(
        "Kettle vendor sheet",
        "electric_kettle",
        (
            {"key": "capacity", "text": "Capacity", "type": "number", "unit": "l",
             "required": True, "attribute": "capacity_l"},
            {"key": "power", "text": "Rated power", "type": "number", "unit": "W",
             "required": True, "attribute": "wattage"},
            {"key": "auto_off", "text": "Does it switch off when dry?", "type": "yes_no",
             "required": True},
            {"key": "limescale_filter", "text": "Removable limescale filter?", "type": "yes_no"},
            {"key": "cord_storage", "text": "Cord storage", "type": "single_choice",
             "choices": ["base", "none"]},
        ),
        {
            "KT-110": {"capacity": 1.7, "power": 2200, "auto_off": True, "cord_storage": "base"},
            # The vendor's sheet says 2200 W where the catalog says 2400 W: a difference to check.
            HAZARD_SKU: {"capacity": 1.7, "power": 2200, "auto_off": True,
                         "limescale_filter": True},
            "KT-310": {"capacity": 1.5, "power": 2200, "auto_off": True, "limescale_filter": True,
                       "cord_storage": "base"},
        },
    ),
    Questionnaire(
        "Stroller safety sheet",
        "stroller",
        (
            {"key": "weight", "text": "Weight without accessories", "type": "number",
             "unit": "kg", "required": True, "attribute": "weight_kg"},
            {"key": "max_child", "text": "Maximum child weight", "type": "number", "unit": "kg",
             "required": True, "attribute": "max_child_kg"},
            {"key": "standard", "text": "Tested to", "type": "single_choice",
             "choices": ["EN 1888-1:2018", "EN 1888-2:2018", "not tested"], "required": True},
            {"key": "one_hand_fold", "text": "Folds with one hand?", "type": "yes_no"},
        ),
        {
            "ST-100": {"weight": 8.9, "max_child": 22, "standard": "EN 1888-1:2018",
                       "one_hand_fold": True},
            "ST-600": {"weight": 5.9, "max_child": 22, "standard": "EN 1888-2:2018",
                       "one_hand_fold": True},
        },
    ),
)  # fmt: skip


# --- customer events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerEvent:
    """A storefront event; its `event_id` makes sending it again a duplicate."""

    event_id: str
    kind: str
    hours_ago: float
    sku: str | None = None
    fields: Mapping[str, Json] = field(default_factory=lambda: MappingProxyType({}))

    def body(self, now: datetime, customer: str) -> dict[str, Json]:
        body: dict[str, Json] = {
            "event_id": self.event_id,
            "kind": self.kind,
            "occurred_at": (now - timedelta(hours=self.hours_ago)).isoformat(),
            "customer_ref": customer,
            **self.fields,
        }
        if self.sku is not None:
            body["sku"] = self.sku
        return body


# Paraphrases of one defect (the jar leaks at its base), so triage groups them into one finding.
LEAKS = (
    "The jar leaks at the base every time I blend anything liquid.",
    "Leaks from the bottom of the jar, there is a puddle under the blender after each smoothie.",
    "After two weeks the jar started leaking around the blade seal at the bottom.",
    "Liquid seeps out of the jar base onto the counter whenever it runs on high.",
    "The seal under the jar leaks, smoothie all over the motor base.",
)
HAZARD_TEXT = (
    "Sparks came out of the base the second time I switched it on, and the plug smelled of "
    "burning plastic."
)
PRAISE = (
    "Really happy with it, great purchase.",
    "Great value for the money, looks lovely in the kitchen.",
    "Quiet, quick and well made. I love it.",
    "Love it, works perfectly and looks great.",
    "Excellent quality, my whole family loves it.",
)
QUESTIONS = (
    "Is the cable long enough to reach a socket a metre away?",
    "Does it come with a spare filter?",
    "Can the parts go in the dishwasher?",
    "Are replacement parts available to buy?",
)
REQUESTS = (
    "Lovely, but I wish it came in a smaller size for my flat.",
    "Please add a timer, that would make it perfect.",
)
SEARCH_MISSES = (
    "cordless kettle with temperature control",
    "double stroller for twins",
    "smart desk lamp with app",
    "cold press juicer",
    "kettle with temperature control",
    "juicer slow",
)


def _event(
    event_id: str, kind: str, hours_ago: float, sku: str | None, **fields: Json
) -> CustomerEvent:
    return CustomerEvent(event_id, kind, hours_ago, sku, MappingProxyType(fields))


def _events() -> tuple[CustomerEvent, ...]:
    sale = on_sale()
    made = [
        _event(
            f"demo-leak-{n + 1}", "review", 70 - n * 12, CLUSTER_SKU, rating=1 + n % 2, text=text
        )
        for n, text in enumerate(LEAKS)
    ]
    made.append(_event("demo-spark-1", "review", 5, HAZARD_SKU, rating=1, text=HAZARD_TEXT))
    made += [
        _event(f"demo-review-{n + 1}", "review", 100 - n * 4, p.sku, rating=4 + n % 2,
               text=PRAISE[n % len(PRAISE)])
        for n, p in enumerate(sale[:20])
    ]  # fmt: skip
    made += [
        _event(f"demo-question-{n + 1}", "question", 50 - n * 5, p.sku,
               text=QUESTIONS[n % len(QUESTIONS)])
        for n, p in enumerate(sale[3::5])
    ]  # fmt: skip
    made += [
        _event(f"demo-request-{n + 1}", "review", 30 - n * 5, p.sku, rating=4, text=text)
        for n, (p, text) in enumerate(zip(sale[1:3], REQUESTS, strict=True))
    ]
    made += [
        _event(f"demo-miss-{n + 1}", "search_miss", 48 - n * 3, None,
               query=SEARCH_MISSES[n % len(SEARCH_MISSES)])
        for n in range(12)
    ]  # fmt: skip
    made += [
        _event(f"demo-purchase-{n + 1}", "purchase", 96 - n * 2, p.sku, quantity=1 + n % 3,
               unit_price={"amount": p.price, "currency": CURRENCY})
        for n, p in ((n, sale[(n * 7) % len(sale)]) for n in range(40))
    ]  # fmt: skip
    return tuple(made)


CUSTOMER_EVENTS: tuple[CustomerEvent, ...] = _events()

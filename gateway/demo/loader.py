"""Load the demo store (`store`) through the gateway, as its people would: the admin builds
the catalog and plans launches for the launch manager, a pricing analyst with a key of their
own proposes prices, the admin approves them, the storefront sends its first customer events.

Idempotent: every item is looked up by its natural key first (an SKU, a code, a title, an
event id) and a 409 "already exists" counts as done, so a second run makes nothing twice and
finishes what an interrupted one left.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from gateway.demo import store
from gateway.demo.client import DemoError, Gateway, Json, until
from gateway.demo.store import LaunchState

ANALYST_KEY_NAME = "demo pricing analyst"
ANALYST_SCOPES = ["catalog:read", "pricing:read", "pricing:write"]
# Plans are made by their manager, so the admin who waives and approves is another person.
MANAGER_KEY_NAME = "demo launch manager"
MANAGER_SCOPES = ["catalog:read", "launch:read", "launch:write"]
# How long a service may take to hear of a change another one made (an event's way).
EVENTUAL_S = 60.0
_CLOSED_PRICES = ("rejected", "withdrawn", "expired")
# Manual gates that pass on their own evidence rather than a sign-off: qa_signoff on its
# reports (it cannot be signed), marketing_plan on its "before" tasks being done.
_PASS_ON_EVIDENCE = ("qa_signoff", "marketing_plan")


class Tally:
    """What a run made and what it found already there, per kind."""

    def __init__(self) -> None:
        self.made: Counter[str] = Counter()
        self.found: Counter[str] = Counter()

    def count(self, kind: str, *, made: bool, n: int = 1) -> None:
        # Both counters get the kind, so the summary lists kinds in the order they came.
        self.made[kind] += n if made else 0
        self.found[kind] += 0 if made else n

    def lines(self) -> list[str]:
        kinds = list(self.made)
        width = max(map(len, kinds), default=0)
        return [
            f"  {kind:<{width}}  {self.made[kind] + self.found[kind]:>4}  ({self.made[kind]} new)"
            for kind in kinds
        ]


class Loader:
    """One run of loading the store; `run` does it all, each step may be run again."""

    def __init__(
        self,
        admin: Gateway,
        *,
        say: Callable[[str], None] = print,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.admin = admin
        self.say = say
        self.clock = clock
        self.tally = Tally()
        self.products: dict[str, Json] = {}
        self.plans: dict[tuple[str, str], Json] = {}
        self._people: dict[str, Gateway] = {}

    def run(self) -> Tally:
        """Load everything, in the order the services need it."""
        steps: list[tuple[str, Callable[[], None]]] = [
            ("catalog", self.catalog),
            ("research and vendor answers", self.research),
            ("prices", self.pricing),
            ("launch plans", self.launches),
            ("customer events", self.customer_events),
            ("approvals", self.approvals),
        ]
        try:
            for what, step in steps:
                self.say(f"loading {what} ...")
                step()
        finally:
            for person in self._people.values():
                person.close()
        return self.tally

    @property
    def today(self) -> date:
        return self.clock().date()

    # --- catalog ----------------------------------------------------------------------------

    def catalog(self) -> None:
        for kind in store.TYPES:
            answer = self.admin.call("POST", "/v1/catalog/product-types", json=kind.body(),
                                     ok=(201, 409))  # fmt: skip
            self.tally.count("product types", made=answer.status_code == 201)
        self.products = {p["sku"]: p for p in self.admin.items("/v1/catalog/products")}
        for item in store.PRODUCTS:
            found = self.products.get(item.sku)
            made = found is None
            if found is None:
                found = self.admin.post("/v1/catalog/products", item.body(), ok=(201,))
            self.tally.count("products", made=made)
            self._variants(item, found["id"], new_product=made)
            self._lifecycle(item, found)

    def _variants(self, item: store.Product, product_id: str, *, new_product: bool) -> None:
        path = f"/v1/catalog/products/{product_id}/variants"
        # A product made a moment ago has none yet: no need to ask.
        have = set() if new_product else {v["sku"] for v in self.admin.items(path)}
        for variant in item.variants:
            if variant.sku in have:
                self.tally.count("variants", made=False)
                continue
            made = self.admin.call("POST", path, json=variant.body(), ok=(201, 409))
            self.tally.count("variants", made=made.status_code == 201)

    def _lifecycle(self, item: store.Product, found: Json) -> None:
        path, current = item.lifecycle_path, found["lifecycle"]
        # Only forward from where it is: a product launch has since activated stays active.
        if current != "draft":
            path = path[path.index(current) + 1 :] if current in path else ()
        for to in path:
            found = self.admin.post(
                f"/v1/catalog/products/{found['id']}/lifecycle", {"to": to}, ok=(200,)
            )
        self.products[item.sku] = found

    # --- research and questionnaires ----------------------------------------------------------

    def research(self) -> None:
        for code, criteria in store.CRITERIA.items():
            path = f"/v1/catalog/product-types/{code}/criteria"
            if self.admin.get(path)["version"] == 0:
                self.admin.call("PUT", path, json=criteria, headers={"If-Match": "0"})
                self.tally.count("research criteria", made=True)
            else:
                self.tally.count("research criteria", made=False)
        for bench in store.BENCHMARKS:
            path = f"/v1/catalog/product-types/{bench.product_type}/benchmarks"
            product_id = self.products[bench.sku]["id"] if bench.sku else None
            have = {
                (b["brand"], b["product_id"], b["competitor_ref"])
                for b in self.admin.items(path, brand=bench.brand)
            }
            if (bench.brand, product_id, bench.competitor_ref) in have:
                self.tally.count("benchmarks", made=False)
                continue
            body: dict[str, Json] = {
                "brand": bench.brand,
                "scores": dict(bench.scores),
                "source": bench.source,
            }
            if product_id:
                body["product_id"] = product_id
            if bench.competitor_ref:
                body["competitor_ref"] = bench.competitor_ref
            self.admin.post(path, body, ok=(201,))
            self.tally.count("benchmarks", made=True)
        for sheet in store.QUESTIONNAIRES:
            questionnaire = self._questionnaire(sheet)
            path = f"/v1/catalog/questionnaires/{questionnaire['id']}/responses"
            for sku, answers in sheet.answers.items():
                item = store.product(sku)
                body = {
                    "vendor": item.vendor,
                    "product_id": self.products[sku]["id"],
                    "answers": dict(answers),
                }
                made = self.admin.call("POST", path, json=body, ok=(201, 409))
                self.tally.count("vendor answers", made=made.status_code == 201)

    def _questionnaire(self, sheet: store.Questionnaire) -> Json:
        for found in self.admin.items(
            "/v1/catalog/questionnaires", product_type=sheet.product_type
        ):
            if found["title"] == sheet.title:
                self.tally.count("questionnaires", made=False)
                return found
        self.tally.count("questionnaires", made=True)
        body = {
            "title": sheet.title,
            "product_type": sheet.product_type,
            "questions": [dict(q) for q in sheet.questions],
        }
        return self.admin.post("/v1/catalog/questionnaires", body, ok=(201,))

    # --- pricing -------------------------------------------------------------------------------

    def pricing(self) -> None:
        for price_list in store.PRICE_LISTS:
            made = self.admin.call("POST", "/v1/pricing/price-lists", json=dict(price_list),
                                   ok=(201, 409))  # fmt: skip
            self.tally.count("price lists", made=made.status_code == 201)
        # Valid from the start of today, so a launch today counts it (launch's price gate).
        valid_from = datetime.combine(self.today, time.min, UTC).isoformat()
        listed = {
            (p["product_id"], p["price_list"]): p
            for p in self.admin.items("/v1/pricing/prices", kind="base")
            if p["status"] not in _CLOSED_PRICES
        }
        for spec in store.prices():
            product_id = self.products[spec.sku]["id"]
            price = listed.get((product_id, spec.price_list))
            self.tally.count("prices", made=price is None)
            if price is None:
                body = {
                    "product_id": product_id,
                    "price_list": spec.price_list,
                    "amount": spec.amount,
                    "valid_from": valid_from,
                    "reason": spec.reason,
                }
                price = self._propose(body)
            if spec.approve and price["status"] == "proposed":
                self.admin.post(f"/v1/pricing/prices/{price['id']}/approve", {}, ok=(200,))

    def _propose(self, body: Json) -> Json:
        """The analyst's proposal, once pricing has heard of the product (422 until then)."""
        analyst = self.analyst()

        def proposed() -> Json:
            response = analyst.call("POST", "/v1/pricing/prices", json=body, ok=(201, 422))
            return response.json() if response.status_code == 201 else None

        return until(proposed, f"pricing to know product {body['product_id']}",
                     timeout_s=EVENTUAL_S)  # fmt: skip

    def analyst(self) -> Gateway:
        """The pricing analyst, who proposes the prices the admin approves."""
        return self._person(ANALYST_KEY_NAME, store.ANALYST, ANALYST_SCOPES)

    def manager(self) -> Gateway:
        """The launch manager, who plans the launches the admin waives and approves."""
        return self._person(MANAGER_KEY_NAME, store.LAUNCH_MANAGER, MANAGER_SCOPES)

    def _person(self, name: str, owner: str, scopes: list[str]) -> Gateway:
        """Logged in with a key of their own, made on first need (a key is shown once only,
        so a later run makes a new one and revokes the old)."""
        if name not in self._people:
            for key in self.admin.items("/v1/api-keys"):
                if key["name"] == name and key["revoked_at"] is None:
                    self.admin.call("DELETE", f"/v1/api-keys/{key['id']}", ok=(204, 409))
            made = self.admin.post(
                "/v1/api-keys", {"name": name, "owner": owner, "scopes": scopes}, ok=(201,)
            )
            self._people[name] = Gateway(self.admin.base_url, made["api_key"])
        return self._people[name]

    # --- launch --------------------------------------------------------------------------------

    def launches(self) -> None:
        for product_type, template in store.GATE_TEMPLATES.items():
            self.admin.call("PUT", f"/v1/launch/gate-templates/{product_type}", json=dict(template))
        self.plans = {
            (plan["product_id"], plan["price_list"]): plan
            for plan in self.admin.items("/v1/launch/launches")
        }
        for item, launch in store.launches():
            key = (self.products[item.sku]["id"], launch.price_list)
            plan = self.plans.get(key)
            self.tally.count("launch plans", made=plan is None)
            if plan is None:
                plan = self._plan(item, launch)
            if plan["status"] == "planned":
                plan = self._evidence(plan, launch.state)
            self.plans[key] = plan

    def _plan(self, item: store.Product, launch: store.Launch) -> Json:
        product_id = self.products[item.sku]["id"]
        body = {
            "product_id": product_id,
            "price_list": launch.price_list,
            "target_date": (self.today + timedelta(days=launch.days_ahead)).isoformat(),
            "owner": store.LAUNCH_MANAGER,
        }

        manager = self.manager()

        def planned() -> Json:
            response = manager.call("POST", "/v1/launch/launches", json=body, ok=(201, 422))
            return response.json() if response.status_code == 201 else None

        return until(planned, f"launch to know product {item.sku}", timeout_s=EVENTUAL_S)

    def _evidence(self, plan: Json, state: LaunchState) -> Json:
        """What the plan's people have done so far, by the state the demo wants it in; the
        plan after it."""
        base = f"/v1/launch/launches/{plan['id']}"
        if state == LaunchState.CANCELLED:
            reason = {"reason": "the vendor cannot deliver in volume"}
            return self.admin.post(f"{base}/cancel", reason)
        if state == LaunchState.PENDING or state.signs_off:
            if plan["goals"] is None:
                plan = self.admin.call("PATCH", base, json={"goals": dict(store.GOALS)}).json()
            plan = self._sign(plan, "spec_improvements")
        if not state.signs_off:
            return plan
        plan = self._sign(plan, "business_documents")
        for task in store.MARKETING_TASKS:
            if not any(t["title"] == task["title"] for t in plan["tasks"]):
                body = {**task, "owner": store.LAUNCH_MANAGER}
                plan = self.admin.post(f"{base}/tasks", body, ok=(201,))
        for task in plan["tasks"]:
            if task["phase"] == "before" and task["status"] != "done":
                plan = self.admin.post(f"{base}/tasks/{task['id']}/complete", {})
        passed = {r["kind"] for r in plan["qa_reports"] if r["result"] == "passed"}
        for kind in plan["qa_kinds"]:
            if kind not in passed:
                report = {"kind": kind, "result": "passed", "notes": "no findings"}
                plan = self.admin.post(f"{base}/qa-reports", report, ok=(201,))
        for gate in plan["gates"]:
            if gate["kind"] == "manual" and gate["name"] not in _PASS_ON_EVIDENCE:
                if state == LaunchState.READY_WAIVED and gate["name"] == store.WAIVED_GATE:
                    plan = self._waive(plan, gate)
                else:
                    plan = self._sign(plan, gate["name"])
        return plan

    def _sign(self, plan: Json, name: str) -> Json:
        gate = next(g for g in plan["gates"] if g["name"] == name)
        if gate["signoff"] is not None:
            return plan
        body = {
            "evidence": f"{name.replace('_', ' ')} reviewed",
            "documents": list(store.DOCUMENTS),
        }
        return self.admin.post(f"/v1/launch/launches/{plan['id']}/gates/{name}/signoff", body)

    def _waive(self, plan: Json, gate: Json) -> Json:
        if gate["waived"]:
            return plan
        body = {
            "gate": gate["name"],
            "reason": "the notified body's certificate arrives after the soft launch",
            "expires_at": (self.clock() + timedelta(days=60)).isoformat(),
        }
        return self.admin.post(f"/v1/launch/launches/{plan['id']}/waivers", body, ok=(201,))

    def approvals(self) -> None:
        """Approve the plans meant to be approved once launch has heard of their prices (the
        admin is not the plans' owner: four eyes)."""
        for item, launch in store.launches():
            if launch.state not in (LaunchState.APPROVED, LaunchState.LAUNCHED):
                continue
            plan = self.plans[(self.products[item.sku]["id"], launch.price_list)]
            if plan["status"] != "planned":
                continue
            path = f"/v1/launch/launches/{plan['id']}"
            self._until_ready(path, item.sku)
            self.admin.post(f"{path}/approve", {})

    def _until_ready(self, path: str, sku: str) -> None:
        until(lambda: self.admin.get(path)["readiness"] == "ready",
              f"the launch of {sku} to be ready", timeout_s=EVENTUAL_S)  # fmt: skip

    # --- storefront ----------------------------------------------------------------------------

    def customer_events(self) -> None:
        now = self.clock()
        events = [
            event.body(now, customer=f"demo-customer-{n % 17 + 1}")
            for n, event in enumerate(store.CUSTOMER_EVENTS)
        ]
        answer = self.admin.post("/v1/customer-events", {"events": events}, ok=(202,))
        if answer["rejected"]:
            raise DemoError(f"the storefront's events were refused: {answer['rejected'][:3]}")
        self.tally.count("customer events", made=True, n=answer["accepted"])
        self.tally.count("customer events", made=False, n=answer["duplicates"])


def summary(tally: Tally, gateway: str) -> str:
    """What was loaded, and where to look at it."""
    return "\n".join(
        [
            f"Demo store at {gateway}:",
            *tally.lines(),
            f"Dashboard: {gateway}/dashboard (figures: {gateway}/v1/dashboard/summary)",
        ]
    )

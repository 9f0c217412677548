"""A scripted company history: managers, leads, duplicates, bad input, sales, activities, a departure,
monthly sweeps and notification requests, with the facts a reference computation needs.

The story is made from a seed, so the same arguments give the same history byte for byte. Events carry
simulated times; what needs a client id (activities, notification requests) is an intent the player
resolves against what the services published.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from clientbase import topics

NAMESPACE = uuid.UUID("6f1c2a4e-9d5b-4c1e-8a37-2b0f5e9d7c13")


@dataclass(frozen=True)
class Country:
    """Where clients and managers live: names, phone habits, currency, language."""

    code: str
    language: str
    locale: str
    currency: str
    offset_h: int
    prefixes: tuple[str, ...]
    subscriber_digits: int
    formats: tuple[Callable[[str], str], ...]
    people: tuple[tuple[str, str], ...]
    regions: tuple[str, ...]
    amounts: tuple[int, int]

    @property
    def zone(self) -> timezone:
        """The fixed offset the story stamps this country's events with."""
        return timezone(timedelta(hours=self.offset_h))


def _ru(fmt: str) -> Callable[[str], str]:
    """A Russian way of writing a 10-digit national number."""
    return lambda n: fmt.format(a=n[:3], b=n[3:6], c=n[6:8], d=n[8:], all=n)


def _short(fmt: str) -> Callable[[str], str]:
    """A Bulgarian or Romanian way of writing a 9-digit national number."""
    return lambda n: fmt.format(a=n[:3], b=n[3:6], c=n[6:], x=n[:2], y=n[2:5], z=n[5:], all=n)


COUNTRIES: tuple[Country, ...] = (
    Country("RU", "ru", "ru-RU", "RUB", 3, ("916", "903", "925", "977", "905"), 7,
            (_ru("8 ({a}) {b}-{c}-{d}"), _ru("+7 {a} {b}-{c}-{d}"), _ru("8{all}"), _ru("+7 ({a}) {b}-{c}-{d}"),
             _ru("+7-{a}-{b}-{c}-{d}"), _ru("({a}) {b}-{c}-{d}")),
            (("Иван Петров", "ivan.petrov"), ("Ольга Смирнова", "olga.smirnova"), ("Алексей Соколов", "aleksey.sokolov"),
             ("Наталья Морозова", "natalya.morozova"), ("Сергей Лебедев", "sergey.lebedev"),
             ("Екатерина Новикова", "ekaterina.novikova"), ("Андрей Козлов", "andrey.kozlov"),
             ("Татьяна Павлова", "tatyana.pavlova"), ("Михаил Волков", "mikhail.volkov"), ("Анна Фёдорова", "anna.fedorova")),
            ("Москва", "Санкт-Петербург", "Казань", "Екатеринбург"), (5_000, 90_000)),
    Country("BG", "bg", "bg-BG", "EUR", 2, ("888", "878", "898", "887"), 6,
            (_short("0{a} {b} {c}"), _short("+359 {x} {y} {z}"), _short("00359{all}"), _short("0{x}-{y}-{z}"),
             _short("00359 {x} {y} {z}")),
            (("Георги Иванов", "georgi.ivanov"), ("Мария Димитрова", "maria.dimitrova"), ("Петър Стоянов", "petar.stoyanov"),
             ("Елена Николова", "elena.nikolova"), ("Димитър Георгиев", "dimitar.georgiev"),
             ("Десислава Петрова", "desislava.petrova"), ("Николай Тодоров", "nikolay.todorov"), ("Йорданка Колева", "yordanka.koleva")),
            ("София", "Пловдив", "Варна", "Бургас"), (80, 2_400)),
    Country("RO", "ro", "ro-RO", "RON", 2, ("722", "745", "765", "731"), 6,
            (_short("0{a} {b} {c}"), _short("+40 {a} {b} {c}"), _short("0040{all}"), _short("0{a}-{b}-{c}"),
             _short("0040 {a} {b} {c}")),
            (("Andrei Popescu", "andrei.popescu"), ("Elena Ionescu", "elena.ionescu"), ("Mihai Popa", "mihai.popa"),
             ("Ioana Stan", "ioana.stan"), ("Alexandru Dumitru", "alexandru.dumitru"), ("Maria Constantin", "maria.constantin"),
             ("Cristina Munteanu", "cristina.munteanu"), ("Radu Georgescu", "radu.georgescu")),
            ("București", "Cluj-Napoca", "Iași", "Timișoara"), (400, 12_000)),
)
BY_CODE = {country.code: country for country in COUNTRIES}
CONSENT_TEXTS = {"ru": "Согласен получать сообщения", "bg": "Съгласен съм да получавам съобщения",
                 "ro": "Sunt de acord să primesc mesaje"}
FORMS = (("landing-spring", "google", "cpc", "spring"), ("catalog", "yandex", "cpc", "catalog"),
         ("newsletter", "email", "newsletter", "monthly"), ("b2b-request", "partner", "referral", "b2b"))


@dataclass
class Person:
    """Someone who becomes a lead: what they type and what they consent to."""

    key: str
    country: Country
    name: str
    handle: str
    national: str
    email: str | None
    kind: str
    company: str | None
    sms_consent: bool
    email_consent: bool
    arrives: date
    channel: str

    @property
    def e164(self) -> str:
        """The phone in E.164, as intake normalizes it."""
        return {"RU": "+7", "BG": "+359", "RO": "+40"}[self.country.code] + self.national


@dataclass(frozen=True)
class Purchase:
    """One order as the figures count it: its first order event's time and amount."""

    person: str
    order_id: str
    at: datetime
    amount: int
    currency: str


@dataclass(frozen=True)
class Edge:
    """One event published at the edges: the raw bytes on a public topic, keyed as its producer would."""

    topic: str
    value: bytes
    key: bytes | None
    note: str
    person: str | None = None  # set on a lead, so the player learns which client the person became

    @property
    def event_id(self) -> str | None:
        """The event id of a well-formed event."""
        try:
            return json.loads(self.value).get("event_id")
        except ValueError:
            return None


@dataclass(frozen=True)
class Intent:
    """Something that needs a client id: an activity by the owner or a notification request."""

    person: str
    kind: str  # "activity" or "notification"
    details: dict[str, Any]


@dataclass
class Day:
    """One simulated day: what is published, what is asked of known clients, and whether the month closes."""

    day: date
    edges: list[Edge] = field(default_factory=list)
    intents: list[Intent] = field(default_factory=list)
    sweep_as_of: datetime | None = None


@dataclass
class Story:
    """The whole scripted history and the facts a reference computation reads."""

    seed: int
    managers: list[dict[str, Any]]
    persons: dict[str, Person]
    days: list[Day]
    purchases: list[Purchase]
    rejected: int
    departed: str
    head: str
    split_persons: list[str]

    def edge_count(self) -> int:
        """Events published at the edges over the whole story."""
        return len(self.managers) + sum(len(d.edges) for d in self.days)


class _Writer:
    """Builds the story's events with ids derived from the seed, so replays of the story dedupe."""

    def __init__(self, seed: int) -> None:
        self.seed, self.count = seed, 0

    def event_id(self) -> str:
        """The next deterministic event id."""
        self.count += 1
        return str(uuid.uuid5(NAMESPACE, f"{self.seed}:{self.count}"))

    def envelope(self, at: datetime, **payload: Any) -> dict[str, Any]:
        """An inbound event with its id and time."""
        return {"event_id": self.event_id(), "occurred_at": at.isoformat(), **payload}


def _edge(topic: topics.Topic, payload: dict[str, Any], key: str | None, note: str, person: str | None = None) -> Edge:
    return Edge(topic.name, json.dumps(payload, ensure_ascii=False).encode(), key.encode() if key else None, note, person)


def _at(day: date, country: Country, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=country.zone)


def roster(writer: _Writer, start: date) -> tuple[list[dict[str, Any]], str]:
    """Two grade-1 managers and one grade-2 manager per country, and a head of sales."""
    at = datetime.combine(start - timedelta(days=7), time(9), tzinfo=UTC)
    names = {"RU": (("Анна Кузнецова", "anna"), ("Павел Орлов", "pavel"), ("Дмитрий Волков", "dmitry")),
             "BG": (("Светла Маринова", "svetla"), ("Христо Пеев", "hristo"), ("Весела Ангелова", "vesela")),
             "RO": (("Ana Marinescu", "ana"), ("Bogdan Enache", "bogdan"), ("Irina Vasilescu", "irina"))}
    managers = []
    for country in COUNTRIES:
        for n, (name, handle) in enumerate(names[country.code], start=1):
            managers.append(writer.envelope(
                at, manager_id=f"m-{country.code.lower()}-{n}", name=name, email=f"{handle}@company.example",
                grade=1 if n < 3 else 2, status="active", capacity=200, regions=[country.code],
                languages=[country.language] + (["en"] if n == 3 else [])))
    head = "m-head"
    managers.append(writer.envelope(at, manager_id=head, name="Елена Соколова", email="head@company.example", grade=3,
                                    status="active", capacity=0, regions=[c.code for c in COUNTRIES],
                                    languages=["ru", "en"], is_head=True))
    return managers, head


def make_persons(rng: random.Random, count: int, start: date, arrival_days: int, tag: str) -> dict[str, Person]:
    """The leads-to-be, spread over the countries and over the arrival window (`tag` keeps their emails apart)."""
    persons: dict[str, Person] = {}
    used: set[str] = set()
    for n in range(count):
        country = COUNTRIES[n % len(COUNTRIES)]
        name, handle = country.people[(n // len(COUNTRIES)) % len(country.people)]
        while True:
            national = rng.choice(country.prefixes) + "".join(rng.choice("0123456789")
                                                              for _ in range(country.subscriber_digits))
            if national not in used:
                used.add(national)
                break
        company = rng.random() < 0.2
        channel = "form" if rng.random() < 0.7 else "call"
        persons[f"p{n:03}"] = Person(
            key=f"p{n:03}", country=country, name=name, handle=f"{handle}{n}", national=national,
            email=f"{handle}{n}@mail{tag}.example" if channel == "form" else None,
            kind="company" if company else "person", company=f"{name.split()[-1]} Trade {n}" if company else None,
            sms_consent=channel == "form" and rng.random() < 0.6, email_consent=channel == "form" and rng.random() < 0.7,
            arrives=start + timedelta(days=rng.randrange(arrival_days)), channel=channel)
    return persons


def form_lead(writer: _Writer, person: Person, at: datetime, rng: random.Random, *, phone: str | None,
              email: str | None) -> dict[str, Any]:
    """A web form as the person fills it in."""
    form_id, source, medium, campaign = FORMS[3] if person.kind == "company" else rng.choice(FORMS[:3])
    consents = [{"channel": channel, "granted": True, "text": CONSENT_TEXTS[person.country.language],
                 "text_version": "2026-01"}
                for channel, given in (("sms", person.sms_consent), ("email", person.email_consent)) if given]
    fields: dict[str, Any] = {"name": person.name if rng.random() < 0.7 else f"  {person.name.upper()} ",
                              "region": rng.choice(person.country.regions)}
    if phone:
        fields["phone"] = phone
    if email:
        fields["email"] = email if rng.random() < 0.7 else f" {email.title()} "
    if person.company:
        fields.update(company=person.company, position="Procurement")
    return writer.envelope(at, form_id=form_id, page_url=f"https://shop.example/{form_id}",
                           utm={"source": source, "medium": medium, "campaign": campaign}, fields=fields,
                           consents=consents, client_ip=f"198.51.100.{rng.randrange(1, 250)}",
                           locale=person.country.locale)


def call_lead(writer: _Writer, person: Person, at: datetime, rng: random.Random, phone: str) -> dict[str, Any]:
    """An inbound call as the switch reports it."""
    answered = rng.random() < 0.75
    return writer.envelope(
        at, call_id=f"c-{person.key}-{writer.count}", direction="inbound", caller=phone,
        callee="+74951332043", status="answered" if answered else "missed",
        duration_s=rng.randrange(30, 600) if answered else 0, default_region=person.country.code)


def bad_inputs(writer: _Writer, day: date) -> list[Edge]:
    """Input intake must reject with a reason and keep: broken JSON, no usable contact, a bot, a bad call."""
    at = datetime.combine(day, time(12), tzinfo=UTC)
    return [
        Edge(topics.LEADS_FORM_SUBMITTED.name, b'{"event_id": "broken-json", "form_id": ', None, "bad: broken json"),
        _edge(topics.LEADS_FORM_SUBMITTED, writer.envelope(at, form_id="landing-spring", fields={
            "name": "Без Контакта", "phone": "12345"}, consents=[]), None, "bad: no valid contact"),
        _edge(topics.LEADS_FORM_SUBMITTED, writer.envelope(at, form_id="catalog", fields={
            "name": "Bot", "email": "bot@spam.example", "website": "http://spam.example"}, consents=[]), None,
            "bad: honeypot"),
        _edge(topics.LEADS_CALL_RECEIVED, writer.envelope(at, call_id="c-anon", direction="inbound", caller="anonymous",
                                                          callee="+74951332043", status="missed"), None,
              "bad: no caller number"),
    ]


def build_story(seed: int = 7, persons: int = 48, months: int = 10, start: date = date(2026, 1, 5),
                marketing_months: tuple[int, ...] = (4,), tag: str = "") -> Story:
    """The scripted history: `persons` leads over the first two thirds of `months` simulated months.

    `tag` goes into emails and order ids, so two plays on one SMTP server can be told apart.
    """
    rng, writer = random.Random(seed), _Writer(seed)
    end = date(start.year + (start.month - 1 + months) // 12, (start.month - 1 + months) % 12 + 1, 1)
    managers, head = roster(writer, start)
    people = make_persons(rng, persons, start, max(1, (end - start).days * 2 // 3), tag)
    days = {start + timedelta(days=n): Day(start + timedelta(days=n)) for n in range((end - start).days)}
    purchases: list[Purchase] = []
    split = [key for key, p in people.items() if p.channel == "form"][:2]

    def at_day(day: date) -> Day | None:
        return days.get(day)

    for person in people.values():
        country, formats = person.country, person.country.formats
        first = _at(person.arrives, country, rng.randrange(9, 18), rng.randrange(60))
        phone = rng.choice(formats)(person.national)
        if person.key in split:  # two records at first (phone only, then email only), joined by a third lead
            steps = [(first, phone, None), (first + timedelta(days=3), None, person.email),
                     (first + timedelta(days=9), rng.choice(formats)(person.national), person.email)]
            for moment, ph, em in steps:
                if (day := at_day(moment.date())) is not None:
                    day.edges.append(_edge(topics.LEADS_FORM_SUBMITTED,
                                           form_lead(writer, person, moment, rng, phone=ph, email=em), None,
                                           f"lead {person.key} (split)", person.key))
        elif person.channel == "form":
            days[person.arrives].edges.append(_edge(topics.LEADS_FORM_SUBMITTED, form_lead(
                writer, person, first, rng, phone=phone, email=person.email), None, f"lead {person.key}", person.key))
        else:
            days[person.arrives].edges.append(_edge(topics.LEADS_CALL_RECEIVED, call_lead(
                writer, person, first, rng, phone), None, f"lead {person.key}", person.key))
        if rng.random() < 0.25:  # comes back later, writing the number another way
            again = first + timedelta(days=rng.randrange(5, 40))
            if (day := at_day(again.date())) is not None:
                other = rng.choice(formats)(person.national)
                edge = (_edge(topics.LEADS_FORM_SUBMITTED, form_lead(writer, person, again, rng, phone=other,
                                                                     email=person.email), None, f"duplicate {person.key}",
                                  person.key)
                        if person.channel == "form" else
                        _edge(topics.LEADS_CALL_RECEIVED, call_lead(writer, person, again, rng, other), None,
                              f"duplicate {person.key}", person.key))
                day.edges.append(edge)
        if rng.random() < 0.5:
            purchases.extend(_sales(writer, rng, person, first, days, tag))
        for offset in (35, 95, 160):  # the owner keeps in touch with some clients
            if rng.random() < 0.4 and (day := at_day((first + timedelta(days=offset)).date())) is not None:
                day.intents.append(Intent(person.key, "activity", {"kind": rng.choice(["call", "email", "meeting"])}))
    for number, month_start in enumerate(_month_starts(start, end)):
        if number in marketing_months and (day := at_day(month_start + timedelta(days=9))) is not None:
            for person in people.values():
                for channel in ("sms", "email"):
                    day.intents.append(Intent(person.key, "notification", {
                        "channel": channel, "category": "marketing", "template": "promo_generic",
                        "params": {"offer": "-10%"}, "dedupe_key": f"promo-{number}-{person.key}-{channel}"}))
    days[start + timedelta(days=20)].edges.extend(bad_inputs(writer, start + timedelta(days=20)))
    departed = "m-ru-1"
    leave = start + timedelta(days=(end - start).days // 2)
    departure = next(m for m in managers if m["manager_id"] == departed)
    days[leave].edges.append(_edge(topics.MANAGERS_CHANGED, {
        **departure, "event_id": writer.event_id(), "occurred_at": _at(leave, BY_CODE["RU"], 10).isoformat(),
        "status": "departed"}, departed, f"manager {departed} leaves"))
    for month_start in _month_starts(start, end)[1:] + [end]:
        closing = month_start - timedelta(days=1)
        days[closing].sweep_as_of = datetime.combine(month_start, time(0), tzinfo=UTC)
    rejected = sum(1 for d in days.values() for e in d.edges if e.note.startswith("bad:"))
    return Story(seed, managers, people, [days[d] for d in sorted(days)], purchases, rejected, departed, head, split)


def _month_starts(start: date, end: date) -> list[date]:
    """The first day of each month from the start's month up to (not including) the end."""
    firsts, current = [], date(start.year, start.month, 1)
    while current < end:
        firsts.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return firsts


def _sales(writer: _Writer, rng: random.Random, person: Person, first: datetime,
           days: dict[date, Day], tag: str) -> list[Purchase]:
    """A customer's orders, each followed by its shipment and payment, and a status message per shipment."""
    made: list[Purchase] = []
    moment = first + timedelta(days=rng.randrange(3, 50))
    low, high = person.country.amounts
    for n in range(1 + (rng.randrange(1, 4) if rng.random() < 0.35 else 0)):
        order_day = days.get(moment.date())
        if order_day is None:
            break
        order_id = f"SO-{tag}{person.key}-{n + 1}"
        amount = rng.randrange(low, high)
        at = _at(moment.date(), person.country, 13)
        # the accounting system keeps numbers in international form (a national one is ambiguous across countries)
        reference = {"phone": person.e164} if person.email is None or rng.random() < 0.6 else {"email": person.email}
        for kind, later in (("order", 0), ("shipment", 2), ("payment", 5)):
            day = days.get((at + timedelta(days=later)).date())
            if day is None:
                continue
            event = writer.envelope(at + timedelta(days=later), order_id=order_id, kind=kind, amount=amount,
                                    currency=person.country.currency, **reference)
            day.edges.append(_edge(topics.SALES_RECORDED, event, reference.get("phone") or reference.get("email"),
                                   f"{kind} {order_id}"))
            if kind == "shipment":
                day.intents.append(Intent(person.key, "notification", {
                    "channel": "email" if person.email else "sms", "category": "service", "template": "order_status",
                    "params": {"order_id": order_id, "status": "shipped"}, "dedupe_key": f"shipped-{order_id}"}))
        made.append(Purchase(person.key, order_id, at, amount, person.country.currency))
        moment += timedelta(days=rng.randrange(20, 90))
    return made

"""Attributes a recorded sale to its client: by our client id (following merges), else by phone, else by email."""

from __future__ import annotations

from collections.abc import Sequence

from clientbase.events.envelope import Envelope, derived_event_id
from clientbase.events.inbound import SaleRecorded
from clientbase.events.outbound import SaleAttributed
from clientbase.topics import Topic

from intake.domain import IntakePolicy, Reason, Rejected, email_key, phone_key
from intake.normalize import normalize_email, normalize_phone
from intake.repository import IntakeRepository
from intake.store import IDENTITIES, MERGES, REGISTRATIONS, BatchStore

SOURCE = "intake"


async def resolve_sale_client(repo: IntakeRepository, sale: SaleRecorded, policy: IntakePolicy) -> str | None:
    """The surviving client a sale refers to, by id first, then phone, then email."""
    if sale.client_id:
        resolved = await repo.resolve(sale.client_id)
        if await repo.is_registered(resolved):
            return resolved
    phone = normalize_phone(sale.phone, policy.default_region)
    if phone and (owner := await repo.owner_of(phone_key(phone.e164))):
        return owner
    email = normalize_email(sale.email)
    if email and (owner := await repo.owner_of(email_key(email))):
        return owner
    return None


async def sale_lookups(repo: IntakeRepository, sales: Sequence[SaleRecorded], policy: IntakePolicy) -> BatchStore:
    """A store holding, read in bulk, what attributing these sales looks up: identities, merges, registrations."""
    store = BatchStore(repo.mongo)
    reads, db = repo.mongo.reads, repo.db
    keys = set()
    for sale in sales:
        if phone := normalize_phone(sale.phone, policy.default_region):
            keys.add(phone_key(phone.e164))
        if email := normalize_email(sale.email):
            keys.add(email_key(email))
    identities = await reads.by_ids(db[IDENTITIES], keys, projection={"client_id": 1})
    store.load(IDENTITIES, identities, keys)
    clients = {s.client_id for s in sales if s.client_id} | {str(d["client_id"]) for d in identities.values()}
    seen: set[str] = set()
    while clients - seen:
        frontier = clients - seen
        merges = await reads.by_ids(db[MERGES], frontier)
        store.load(MERGES, merges, frontier)
        seen |= frontier
        clients |= {str(m["survivor"]) for m in merges.values()}
    store.load(REGISTRATIONS, await reads.by_ids(db[REGISTRATIONS], clients, projection={"_id": 1}), clients)
    return store


async def attribute_sale(repo: IntakeRepository, sale: SaleRecorded, policy: IntakePolicy, topic: Topic
                         ) -> tuple[str, list[tuple[Topic, Envelope, str]]]:
    """The client and the `sales.attributed` event for a sale; raise Rejected when no client matches."""
    client_id = await resolve_sale_client(repo, sale, policy)
    if client_id is None:
        fields = [name for name in ("client_id", "phone", "email") if getattr(sale, name)]
        raise Rejected([Reason("unresolved_client", name, "no known client matches") for name in fields],
                       sale.event_id)
    event = SaleAttributed.create(
        source=SOURCE, correlation_id=sale.correlation_id or sale.event_id, causation_id=sale.event_id,
        event_id=derived_event_id(sale.event_id, "sale-attributed"), occurred_at=sale.occurred_at,
        client_id=client_id, sale_event_id=sale.event_id, order_id=sale.order_id, kind=sale.kind,
        amount=sale.amount, currency=sale.currency.upper(), manager_id=sale.manager_id, sold_at=sale.occurred_at,
    )
    return client_id, [(topic, event, client_id)]

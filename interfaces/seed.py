"""`ledgerdesk seed`: realistic omnichannel support traffic, sent through the application.

Every change is a command to `Ledger.execute`, as a channel connector or an agent would send
it. The traffic is a function of the seed alone: message ids and command ids come from the
rng, so a second run with the same seed on the same database is all duplicates and appends nothing.
"""
from __future__ import annotations

import heapq
import itertools
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from uuid import UUID

import phonenumbers
from tqdm import tqdm

from ledgerdesk.application import commands as c
from ledgerdesk.application.ledger import Ledger, Outcome
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.channel import Channel as Ch
from ledgerdesk.domain.errors import DomainError
from ledgerdesk.domain.ticket_values import ALLOWED_TRANSITIONS, REOPENED_BY_CUSTOMER, Priority
from ledgerdesk.domain.ticket_values import Category as Cat, TicketStatus as St

from .email_message import UnparseableEmail, parse_email

# tenant: languages, phone prefixes (+ digits to draw), channels, agents by team
TENANTS = {
    "acme-tea": (("zh",), (("+86138", 8), ("+86150", 8)),
                 (Ch.TAOBAO, Ch.JD, Ch.PINDUODUO, Ch.DOUYIN, Ch.WECHAT, Ch.WEIBO, Ch.APP, Ch.PHONE),
                 {"logistics": ("li.na", "wang.wei"), "refunds": ("zhang.min",), "vip-desk": ("chen.jing",)}),
    "nordic-knits": (("en", "es"), (("+4670", 7), ("+4792", 6), ("+346", 8)),
                     (Ch.EMAIL, Ch.WEB_CHAT, Ch.WHATSAPP, Ch.APP, Ch.PHONE),
                     {"logistics": ("astrid", "lars"), "refunds": ("ingrid",), "vip-desk": ("sofia",)}),
    "shenzhen-gadgets": (("zh", "en", "ja"), (("+86139", 8), ("+86186", 8), ("+8190", 8)),
                         (Ch.JD, Ch.TAOBAO, Ch.PINDUODUO, Ch.WECHAT, Ch.EMAIL, Ch.WHATSAPP, Ch.WEB_CHAT, Ch.APP),
                         {"logistics": ("zhou.tao", "kenji"), "refunds": ("huang.li", "mike"), "vip-desk": ("lin.yu",)}),
}
TEMPLATES = [  # (category, language, text); {order} is filled with an order id of the channel
    (Cat.ORDER, "zh", "订单{order}什么时候发货？已经付款三天了"),
    (Cat.ORDER, "zh", "能改一下{order}的收货地址吗？我搬家了"),
    (Cat.LOGISTICS, "zh", "快递显示已签收，但我没有收到包裹，订单号{order}"),
    (Cat.LOGISTICS, "zh", "双十一买的{order}物流一直没更新，能帮忙查一下吗？"),
    (Cat.REFUND, "zh", "申请退款{order}已经一周了还没到账"),
    (Cat.REFUND, "zh", "仅退款申请被拒绝了，订单{order}，请给个说法"),
    (Cat.RETURN, "zh", "收到的包装破损了，想退货，订单{order}"),
    (Cat.RETURN, "zh", "{order}尺码不合适，可以换货吗？"),
    (Cat.PAYMENT, "zh", "付款时扣了两次钱，订单{order}"),
    (Cat.PAYMENT, "zh", "花呗分期付款失败，订单{order}怎么办"),
    (Cat.COMPLAINT, "zh", "客服态度太差了！订单{order}的问题三天没人处理，我要投诉"),
    (Cat.COMPLAINT, "zh", "收到的东西和描述完全不符，怀疑是假货，{order}"),
    (Cat.PRODUCT, "zh", "这款是今年的新品吗？想买两件送人"),
    (Cat.ORDER, "en", "Hi, can I still change the colour on order {order}?"),
    (Cat.LOGISTICS, "en", "Tracking for {order} hasn't moved in five days. Where is my parcel?"),
    (Cat.LOGISTICS, "en", "The courier says delivered but nothing arrived. Order {order}"),
    (Cat.REFUND, "en", "I returned {order} two weeks ago and still have no refund."),
    (Cat.REFUND, "en", "Please cancel {order} and refund me, it was ordered by mistake."),
    (Cat.RETURN, "en", "The item from {order} is too small, how do I return it?"),
    (Cat.PAYMENT, "en", "My card was charged twice for {order}."),
    (Cat.PAYMENT, "en", "Payment failed at checkout but the money left my account ({order})"),
    (Cat.COMPLAINT, "en", "This is the third time I'm writing about {order}. Unacceptable."),
    (Cat.COMPLAINT, "en", "The charger from {order} overheated and burnt my desk. Please escalate."),
    (Cat.ACCOUNT, "en", "I can't log in to the app since the update, please help"),
    (Cat.PRODUCT, "en", "Is the merino in the Fjord cardigan machine washable?"),
    (Cat.LOGISTICS, "ja", "注文{order}の配送状況を教えてください。まだ届いていません。"),
    (Cat.RETURN, "ja", "商品が不良品でした。{order}の返品をお願いします。"),
    (Cat.PAYMENT, "ja", "注文{order}で二重に請求されています。"),
    (Cat.LOGISTICS, "es", "Hola, mi pedido {order} todavía no ha llegado. ¿Pueden revisarlo?"),
    (Cat.REFUND, "es", "Devolví el pedido {order} hace diez días y no he recibido el reembolso."),
    (Cat.COMPLAINT, "es", "El jersey del pedido {order} llegó roto. Estoy muy decepcionada."),
]
NUDGES = {"zh": ("在吗？", "图片已经发给你们了", "还没解决，请尽快处理"), "en": ("Hello? Anyone there?", "Any update on this?"),
          "ja": ("まだですか？",), "es": ("¿Alguna novedad?",)}
REPLIES = {"zh": ("亲，非常抱歉给您带来不便，已为您加急处理。", "您好，已收到您的反馈，正在核实，有结果第一时间通知您。"),
           "en": ("Sorry for the trouble - I'm looking into this for you now.", "Thanks for your patience, I've escalated this today."),
           "ja": ("お問い合わせありがとうございます。確認いたします。",), "es": ("Gracias por escribirnos, ya lo estamos revisando.",)}
RATING_COMMENTS = {5: ("处理很快，非常满意！", "Super quick, thank you!"), 4: ("客服很耐心", "Sorted in the end, thanks."),
                   3: ("还行吧", None), 2: ("太慢了", "Took far too long."), 1: ("问题没解决", "Still not resolved.")}
NAMES = {"zh": ("王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄婷"),
         "en": ("Astrid Lund", "Emma Berg", "Oliver Smith", "Noah Hansen", "Freya Olsen"),
         "es": ("Lucía García", "Mateo López", "Carmen Ruiz"), "ja": ("佐藤花子", "鈴木一郎", "高橋美咲")}
ORDER_PREFIX = {Ch.TAOBAO: "TB-", Ch.JD: "JD-", Ch.PINDUODUO: "PDD-", Ch.DOUYIN: "DY-"}
SHOP_PREFIX = {"acme-tea": "AT-", "nordic-knits": "NK-", "shenzhen-gadgets": "SZG-"}  # the shop's own site and app
TEAM_FOR = {Cat.LOGISTICS: "logistics", Cat.ORDER: "logistics", Cat.REFUND: "refunds", Cat.RETURN: "refunds", Cat.PAYMENT: "refunds"}
CARRIES = {Ch.EMAIL: "e", Ch.PHONE: "p", Ch.WHATSAPP: "p", Ch.WEIBO: "", Ch.WEB_CHAT: "ep", Ch.APP: "ep"}  # else "p": order phone
CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 9, tzinfo=CST)  # traffic over four days, peaking on Double 11
# The share of tickets nobody has picked up when the seed ends: the routing policy routes them to
# the agents online, and, their SLA long missed, the escalation policy escalates them.
WAITING_SHARE = 0.15
BOUNCE = ("From: MAILER DAEMON <>\r\nTo: <service@{tenant}.example>\r\nMessage-ID: <{id}@mx.{tenant}.example>\r\n"
          "Subject: Undelivered Mail Returned to Sender\r\n\r\nAn attachment was of a blocked file type.\r\n")

# Each shop's SLA policies: urgent cases around the clock, the rest within its business hours.
BUSINESS_HOURS = {
    "acme-tea": ("Asia/Shanghai", ("mon", "tue", "wed", "thu", "fri", "sat"), ("09:00", "21:00"), "CN"),
    "nordic-knits": ("Europe/Stockholm", ("mon", "tue", "wed", "thu", "fri"), ("08:00", "17:00"), "SE"),
    "shenzhen-gadgets": ("Asia/Shanghai", ("mon", "tue", "wed", "thu", "fri"), ("09:00", "18:00"), "CN"),
}


def sla_policies(tenant: str) -> list[dict]:
    zone, days, window, country = BUSINESS_HOURS[tenant]
    calendar = {"kind": "business_hours", "timezone": zone, "weekly": {d: [list(window)] for d in days},
                "holiday_country": country, "holiday_subdivision": None, "holidays": []}
    hour = 3600
    return [
        {"name": "Urgent, around the clock", "rank": 10, "match": {"priorities": ["urgent"]},
         "targets": {"first_reply": hour // 2, "next_reply": hour, "periodic_update": 4 * hour, "resolution": 8 * hour},
         "calendar": {"kind": "24x7"}},
        {"name": "VIP customers", "rank": 20, "match": {"customer_tiers": ["vip"]},
         "targets": {"first_reply": hour, "next_reply": 2 * hour, "periodic_update": None, "resolution": 16 * hour},
         "calendar": calendar},
        {"name": "Standard", "rank": 100, "match": {},
         "targets": {"first_reply": 4 * hour, "next_reply": 8 * hour, "periodic_update": None, "resolution": 27 * hour},
         "calendar": calendar},
    ]


@dataclass
class SeedReport:
    tenants: list[str]
    tickets_opened: int = 0
    messages: int = 0
    commands: int = 0
    replayed: int = 0
    refused: int = 0
    merged: int = 0
    waiting: int = 0  # tickets left for routing: no agent has picked them up
    events_appended: int = 0
    elapsed_seconds: float = 0.0
    commands_per_second: float = 0.0
    sample_tickets: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Person:
    tenant: str
    lang: str
    name: str
    email: str | None
    phone: str | None
    tier: str | None
    user_ids: dict[Ch, str]  # the channels this person writes on, with their user id there


class _Seeder:
    def __init__(self, ledger: Ledger, rng: random.Random, report: SeedReport) -> None:
        self.ledger, self.rng, self.report = ledger, rng, report
        self.seen: set[str] = set()

    def uuid(self) -> str:
        return str(UUID(int=self.rng.getrandbits(128), version=4))

    def person(self, tenant: str) -> Person:
        langs, phones, channels, _ = TENANTS[tenant]
        rng, lang = self.rng, self.rng.choice(langs)
        email = f"{rng.choice(('buyer', 'shop', 'mail', 'hi'))}{rng.randrange(10**6)}@example.{rng.choice(('com', 'cn', 'se'))}"
        email = email if lang != "zh" or rng.random() < 0.4 else None
        phone, wants_phone = None, email is None or rng.random() < 0.7
        while wants_phone and phone is None:  # draw until phonenumbers agrees the number is valid
            prefix, digits = rng.choice(phones)
            raw = prefix + "".join(str(rng.randrange(10)) for _ in range(digits))
            phone = raw if phonenumbers.is_valid_number(phonenumbers.parse(raw)) else None
        has = {k for k, v in (("e", email), ("p", phone)) if v}
        usable = [ch for ch in channels if not CARRIES.get(ch, "p") or has & set(CARRIES.get(ch, "p"))]
        user_ids = {}
        for ch in rng.sample(usable, k=min(len(usable), rng.choice((1, 2, 2, 3)))):
            own = {Ch.EMAIL: email, Ch.PHONE: phone, Ch.WHATSAPP: (phone or "").lstrip("+")}.get(ch)
            user_ids[ch] = own or f"{ch}_{rng.getrandbits(40):010x}"
        return Person(tenant, lang, rng.choice(NAMES[lang]), email, phone, "vip" if rng.random() < 0.1 else None, user_ids)

    def at(self, moment: datetime) -> None:
        """Events carry the simulated time of the traffic, so SLA clocks and analytics see real delays."""
        self.ledger.clock = lambda: moment.astimezone(timezone.utc)

    def define_policies(self, tenant: str) -> None:
        admin = Actor(ActorKind.AGENT, "shop-admin")
        self.at(START - timedelta(days=1))
        for policy in sla_policies(tenant):
            ctx = c.CommandContext(tenant, admin, self.uuid(), self.uuid(), idempotent=True)
            self.run(c.DefineSlaPolicy(ctx, warning_percent=75, **policy))

    def define_agents(self, tenant: str, rng: random.Random) -> list[str]:
        """The shop's agents (one profile per agent, its teams from TENANTS), each online, away or
        offline as `rng` says; answers those online. `rng` is the agents' own, so the traffic's
        draws are the same with or without them."""
        langs, _, _, teams = TENANTS[tenant]
        hr = Actor(ActorKind.INTEGRATOR, "hr-sync")
        self.at(START - timedelta(days=1))
        members: dict[str, list[str]] = {}
        for team, agent_ids in teams.items():
            for agent_id in agent_ids:
                members.setdefault(agent_id, []).append(team)
        online = []
        for agent_id, agent_teams in sorted(members.items()):
            ctx = c.CommandContext(tenant, hr, str(UUID(int=rng.getrandbits(128), version=4)), f"agents-{tenant}", idempotent=True)
            categories = [str(Cat.COMPLAINT)] if "vip-desk" in agent_teams else []
            self.run(c.PutAgent(ctx, agent_id, agent_id.replace(".", " ").title(), tuple(agent_teams),
                                {"languages": list(langs), "categories": categories, "channels": []},
                                rng.choice((20, 25, 30))))
            presence = rng.choices(("online", "away", "offline"), weights=(6, 2, 2))[0]
            ctx = c.CommandContext(tenant, Actor(ActorKind.AGENT, agent_id), str(UUID(int=rng.getrandbits(128), version=4)),
                                   f"agents-{tenant}", idempotent=True)
            self.run(c.ChangeAgentPresence(ctx, agent_id, presence))  # before the traffic, like the rest of the set-up
            if presence == "online":
                online.append(agent_id)
        return online

    def run(self, command: object) -> Outcome | None:
        self.report.commands += 1
        try:
            outcome = self.ledger.execute(command)
        except DomainError:  # the script only sends legal commands, so this stays at 0
            self.report.refused += 1
            return None
        self.report.replayed += outcome.replayed
        return outcome

    def say(self, p: Person, ch: Ch, thread: str, text: str, at: datetime, order: str | None, corr: str) -> str | None:
        """A customer message, as the channel's connector delivers it; answers the ticket id."""
        carries = CARRIES.get(ch, "p")
        hints = c.CustomerHints(email=p.email if "e" in carries else None, phone=p.phone if "p" in carries else None,
                                name=p.name, tier=p.tier)
        ctx = c.CommandContext(p.tenant, Actor(ActorKind.INTEGRATOR, f"{ch}-connector"), self.uuid(), corr)
        self.at(at)
        outcome = self.run(c.ReceiveInboundMessage(ctx, ch, thread, p.user_ids[ch], f"{ch}-{self.rng.getrandbits(64):016x}",
                                                   text, at, hints, order_id=order))
        if outcome is None:
            return None
        result = outcome.result
        if not result["duplicate"]:
            self.report.messages += 1
            self.report.tickets_opened += result["ticket_id"] not in self.seen
        self.seen.add(result["ticket_id"])
        samples = self.report.sample_tickets.setdefault(p.tenant, [])
        if result["ticket_id"] not in samples and len(samples) < 3:
            samples.append(result["ticket_id"])
        return result["ticket_id"]

    def bounce(self, tenant: str) -> Iterator[datetime]:
        """A mailer daemon's bounce with a null sender: no message comes of it, so intake quarantines it."""
        at = START + timedelta(days=2)
        yield at
        raw = BOUNCE.format(tenant=tenant, id=self.uuid()).encode()
        ctx = c.CommandContext(tenant, Actor(ActorKind.INTEGRATOR, "email-connector"), self.uuid(), self.uuid(), idempotent=True)
        try:
            parse_email(raw, received_at=at)
        except UnparseableEmail as refused:
            self.at(at)
            self.run(c.QuarantineMail(ctx, raw, refused.message, refused.field, at))

    def ticket(self, p: Person, spare: Callable[[], bool]) -> Iterator[datetime]:
        """One case from first message to rating, as the times of its steps: each `yield` says when
        its next step happens, which runs once the traffic reaches that time (seed_traffic runs
        every case's steps in time order, so the log's times rise with its positions). `spare()`
        takes a ticket from the budget for a duplicate on another channel, if any is left."""
        rng = self.rng
        cat, _, text = rng.choice([t for t in TEMPLATES if t[1] == p.lang])
        ch = rng.choice(list(p.user_ids))
        order = f"{ORDER_PREFIX.get(ch, SHOP_PREFIX[p.tenant])}{rng.randrange(10**11, 10**12)}" if "{order}" in text else None
        at = START + timedelta(seconds=rng.triangular(0, 4 * 86400, 2.2 * 86400))
        yield at
        thread, corr = f"{ch}-{rng.getrandbits(48):012x}", self.uuid()
        linked = order if rng.random() < 0.8 else None
        tid = self.say(p, ch, thread, text.format(order=order), at, linked, corr)
        if tid is None:
            return
        status = St.NEW
        team = "vip-desk" if p.tier == "vip" or cat is Cat.COMPLAINT else TEAM_FOR.get(cat, rng.choice(("logistics", "refunds")))
        agent = Actor(ActorKind.AGENT, rng.choice(TENANTS[p.tenant][3][team]))

        def later() -> datetime:
            nonlocal at
            at += timedelta(minutes=rng.randint(3, 600))
            return at

        def act(cls: type, *args: object, actor: Actor = agent, on: str = tid, **kw: object) -> Outcome | None:
            ctx = c.CommandContext(p.tenant, actor, self.uuid(), corr, idempotent=True)  # a re-run replays the receipt
            self.at(at)
            return self.run(cls(ctx, UUID(on), *args, **kw))

        def move(target: St) -> None:
            nonlocal status
            if target in ALLOWED_TRANSITIONS[status]:  # only legal moves are sent
                act(c.ChangeTicketStatus, target)
                status = target

        def nudge() -> None:  # a customer writes again in the thread: pending or solved goes back to open
            nonlocal status
            self.say(p, ch, thread, rng.choice(NUDGES[p.lang]), at, None, corr)
            status = St.OPEN if status in REOPENED_BY_CUSTOMER else status

        if rng.random() < 0.3:
            yield later()
            nudge()
        if len(p.user_ids) > 1 and rng.random() < 0.12 and spare():  # the same question on another channel
            other = rng.choice([x for x in p.user_ids if x != ch])
            yield later()
            dup = self.say(p, other, f"{other}-{rng.getrandbits(48):012x}", text.format(order=order), at, None, corr)
            if dup is not None:
                merged = act(c.MergeTicket, on=dup, into_ticket_id=UUID(tid))
                self.report.merged += bool(merged and not merged.replayed)
        if rng.random() < WAITING_SHARE:  # nobody has picked it up yet: routing and escalation will
            self.report.waiting += 1
            return
        yield later()
        act(c.AssignTicket, agent_id=agent.id, team_id=team)
        if cat in (Cat.COMPLAINT, Cat.REFUND):
            act(c.ChangeTicketPriority, Priority.URGENT if cat is Cat.COMPLAINT and rng.random() < 0.4 else Priority.HIGH)
        if rng.random() < 0.7:
            act(c.RetagTicket, add=tuple(t for t in (str(cat), str(ch), "double-11", p.tier) if t))
        if order and not linked:
            act(c.LinkOrder, order)
        yield later()
        act(c.ReplyToTicket, rng.choice(REPLIES[p.lang]))
        status = St.OPEN
        if rng.random() < 0.45:
            move(St.PENDING)
            if rng.random() < 0.6:
                yield later()
                nudge()
                act(c.ReplyToTicket, rng.choice(REPLIES[p.lang]))
        if rng.random() < 0.85:
            yield later()
            move(St.SOLVED)
            if rng.random() < 0.15:
                yield later()
                nudge()
                act(c.ReplyToTicket, rng.choice(REPLIES[p.lang]))
                move(St.SOLVED)
            if rng.random() < 0.75:
                score = rng.choices((5, 4, 3, 2, 1), weights=(55, 25, 10, 5, 5))[0]
                comment = RATING_COMMENTS[score][p.lang != "zh"] if rng.random() < 0.7 else None
                act(c.RateTicket, score, comment, actor=Actor(ActorKind.INTEGRATOR, f"{ch}-connector"))
            if rng.random() < 0.2:
                move(St.CLOSED)


def seed_traffic(ledger: Ledger, tickets: int, seed: int = 11) -> SeedReport:
    rng = random.Random(seed)
    report = SeedReport(tenants=list(TENANTS))
    seeder = _Seeder(ledger, rng, report)
    clock = ledger.clock
    people = [seeder.person(tenant) for tenant in TENANTS for _ in range(max(1, tickets // 3 // len(TENANTS)))]
    head = ledger.recorder.max_notification_id() or 0
    started = time.perf_counter()
    # The cases whose first message is still to come, with its time: a duplicate on another
    # channel takes the place of the latest of them, so that `tickets` tickets are opened in all.
    unbegun: dict[int, datetime] = {}
    given_up: set[int] = set()

    def spare() -> bool:
        if not unbegun:
            return False
        latest = max(unbegun, key=lambda n: (unbegun[n], n))
        del unbegun[latest]
        given_up.add(latest)
        return True

    try:
        agents_rng = random.Random(f"agents-{seed}")  # its own draws: the traffic is the same as without agents
        for tenant in TENANTS:
            seeder.define_policies(tenant)
            seeder.define_agents(tenant, agents_rng)
        # Every step of every case, in time order: (its time, the case's number, the case's steps).
        steps: list[tuple[datetime, int, Iterator[datetime]]] = []

        def step(n: int, case: Iterator[datetime]) -> datetime | None:
            at = next(case, None)  # runs the case's step due now, and learns when its next is
            if at is not None:
                heapq.heappush(steps, (at, n, case))
            return at

        cases = itertools.count()
        for tenant in TENANTS:
            if Ch.EMAIL in TENANTS[tenant][2]:
                step(next(cases), seeder.bounce(tenant))
        for _ in range(tickets):
            n = next(cases)
            unbegun[n] = step(n, seeder.ticket(rng.choice(people), spare))  # type: ignore[assignment]
        with tqdm(total=tickets, unit="ticket", desc="seeding", mininterval=0.5, file=sys.stderr) as bar:
            while steps:
                _at, n, case = heapq.heappop(steps)
                if n in given_up:
                    continue
                unbegun.pop(n, None)
                opened = report.tickets_opened
                step(n, case)
                bar.update(report.tickets_opened - opened)
    finally:
        ledger.clock = clock
    report.elapsed_seconds = time.perf_counter() - started
    report.events_appended = (ledger.recorder.max_notification_id() or 0) - head
    report.commands_per_second = report.commands / report.elapsed_seconds if report.elapsed_seconds else 0.0
    print(f"seeded {', '.join(report.tenants)} (seed {seed}): {report.tickets_opened} tickets opened "
          f"({report.merged} merged as duplicates, {report.waiting} waiting for an agent), {report.messages} customer messages")
    print(f"{report.commands} commands ({report.replayed} replayed, {report.refused} refused), "
          f"{report.events_appended} events appended in {report.elapsed_seconds:.1f} s: {report.commands_per_second:.0f} commands/s")
    return report

"""The county as set up in late December: leagues, units, people, settings.

Each function is one step of ``CountyBuilder.build`` and draws its dice from
the builder in the order the steps run.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from werkzeug.security import generate_password_hash

from portal.documents.layout import KEYS as DOCUMENT_KEYS
from portal.models import Category, CountySetting, League, ScoringPolicy, Theme, Unit, User
from portal.ops.demo.data import (
    ACCOUNTS,
    CATEGORIES,
    COUNTY,
    DEMO_PASSWORD,
    EXTRA_SUPERVISORS,
    GOVERNMENT,
    LEADERS,
    LEAGUES,
    OFFICE,
    STAFF_PER_UNIT,
    STAFF_TITLES,
    STAFF_UNIT,
    THEMES,
)

if TYPE_CHECKING:
    from portal.ops.demo.builder import CountyBuilder


class _Roster:
    """The users made so far; all of them were created when the plan was set up."""

    def __init__(self, created_at: datetime) -> None:
        self.created_at = created_at
        self.users: list[User] = []

    def add(self, username: str, name: str, title: str, unit: Unit, roles: Sequence[str], pw: str) -> User:
        account = User(
            username=username, display_name=name, title=title, unit=unit,
            password_hash=pw, created_at=self.created_at,
        )
        account.roles = roles
        self.users.append(account)
        return account


def build_org(county: CountyBuilder) -> None:
    """The leagues, the units and everyone who works in them."""
    plan_at = county.at(county.plan_day, 9)
    # scrypt is slow on purpose: hash each password once and share the
    # string. Generated people never log in; their password is unknown.
    unusable = generate_password_hash(secrets.token_urlsafe(), method="scrypt")
    demo_hash = generate_password_hash(DEMO_PASSWORD, method="scrypt")
    kinds = build_units(county)
    roster = _Roster(plan_at)
    add_accounts(county, roster, demo_hash)
    add_supervisors(county, roster, unusable)
    add_leaders(county, roster, unusable)
    add_unit_staff(county, roster, kinds, unusable)
    county.rows.extend(roster.users)
    county.summary.users = len(roster.users)


def build_units(county: CountyBuilder) -> dict[str, str]:
    """The two offices, then the leagues and their units; returns each ranked unit's kind."""
    sort = 0
    for name in (OFFICE, GOVERNMENT):  # not ranked: no league
        sort += 1
        county.units[name] = Unit(name=name, short_name=name, head_name=county.person(), sort_order=sort)
    kinds: dict[str, str] = {}
    leagues = []
    for order, spec in enumerate(LEAGUES, start=1):
        league = League(name=spec.name, description=spec.description, sort_order=order)
        leagues.append(league)
        for unit_name, short in spec.units:
            sort += 1
            county.units[short] = Unit(
                name=unit_name, short_name=short, league=league, head_name=county.person(), sort_order=sort
            )
            kinds[short] = spec.kind
    county.rows.extend(leagues)
    county.rows.extend(county.units.values())
    county.summary.leagues = len(leagues)
    county.summary.units = len(county.units)
    return kinds


def add_accounts(county: CountyBuilder, roster: _Roster, demo_hash: str) -> None:
    """The demo accounts, which log in with DEMO_PASSWORD."""
    for account in ACCOUNTS:
        county.accounts[account.username] = roster.add(
            account.username, account.display_name, account.title,
            county.units[account.unit], (account.role,), demo_hash,
        )


def add_supervisors(county: CountyBuilder, roster: _Roster, unusable: str) -> None:
    """The office's supervisors: the demo one and the 督查专员."""
    county.supervisors = [county.accounts["supervisor"]]
    for k in range(1, EXTRA_SUPERVISORS + 1):
        county.supervisors.append(
            roster.add(f"duchayuan-{k}", county.person(), "督查专员", county.units[OFFICE], ("supervisor",), unusable)
        )


def add_leaders(county: CountyBuilder, roster: _Roster, unusable: str) -> None:
    """The county leaders and the units of the leagues in their charge."""
    league_units = {spec.name: [short for _, short in spec.units] for spec in LEAGUES}
    for username, name, title, in_charge in LEADERS:
        leader = county.accounts.get(username) or roster.add(
            username, name, title, county.units[GOVERNMENT], ("leader",), unusable
        )
        for league_name in in_charge:
            for short in league_units[league_name]:
                leader.units_in_charge.append(county.units[short])
                county.leader_of[short] = leader


def add_unit_staff(county: CountyBuilder, roster: _Roster, kinds: dict[str, str], unusable: str) -> None:
    """A few staff for every ranked unit, titled by its kind; the demo "staff" joins its unit."""
    for number, (short, kind) in enumerate(kinds.items(), start=1):
        low, high = STAFF_PER_UNIT[kind]
        titles = STAFF_TITLES[kind]
        members = [
            roster.add(f"u{number:02d}-{k}", county.person(), titles[k % len(titles)], county.units[short],
                       ("unit_staff",), unusable)
            for k in range(1, county.rng.randint(low, high) + 1)
        ]
        county.staff[short] = members
    staff_account = county.accounts["staff"]
    county.staff[STAFF_UNIT].insert(0, staff_account)


def build_settings(county: CountyBuilder) -> None:
    """Categories, timeline themes and the scoring policy in force from 1 January."""
    county.categories = {
        name: Category(name=name, sort_order=order) for order, (name, _, _) in enumerate(CATEGORIES, 1)
    }
    county.themes = {name: Theme(name=name, sort_order=order) for order, name in enumerate(THEMES, 1)}
    county.policy = ScoringPolicy(
        effective_from=county.year_start,
        note="演示数据：默认计分规则",
        created_at=county.at(county.plan_day, 9),
    )
    county.rows.extend([*county.categories.values(), *county.themes.values(), county.policy])
    # The county's printed documents (GB/T 9704): the issuing organ's full name and who gets a copy.
    now = county.at(county.plan_day, 9)
    county.rows.extend([
        CountySetting(key=DOCUMENT_KEYS["office"], value=f"{COUNTY}委县政府督查室", updated_at=now),
        CountySetting(key=DOCUMENT_KEYS["cc"], value=f"{COUNTY}委办公室，{COUNTY}人民政府办公室", updated_at=now),
    ])

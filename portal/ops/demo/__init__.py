"""The demo county (``flask --app wsgi demo``): a realistic year of node work.

清溪县 is fictional. Its ten leagues, ~56 units, ~80 projects and ~1,900
nodes are generated around an anchor date *D* (``today``): the node plan
covers the whole calendar year of D, and every node's status, card, card
events and re-commitments are what the rules of SPEC section 3 would have
produced by D. The same D always gives the same county: the dice are a
seeded ``random.Random`` and nothing here reads the wall clock (only the one
audit entry takes its time from the app's clock).

The full variety of cases (green, late, yellow, pending and rejected
re-commitments, red, waiting for sign-off, due soon) needs a D far enough into
the year, from about mid-February to mid-December; near the ends of the year
the cases that cannot fit are simply absent.

The package: ``data`` holds the fixed tables, ``builder`` runs the steps of
``organisation`` and ``history`` and issues the cards by the real rules,
``reset`` checks for and wipes existing data.
"""

from portal.ops.demo.builder import DemoSummary as DemoSummary
from portal.ops.demo.builder import build as build
from portal.ops.demo.data import ACCOUNTS as ACCOUNTS
from portal.ops.demo.data import CATEGORIES as CATEGORIES
from portal.ops.demo.data import DEMO_PASSWORD as DEMO_PASSWORD
from portal.ops.demo.data import THEMES as THEMES
from portal.ops.demo.reset import erase as erase
from portal.ops.demo.reset import has_data as has_data

"""The password rule: every password a person chooses or an administrator sets passes it.

10 to 200 characters; not the username and not containing it; not digits
only; not one character repeated; not on the list of passwords too common to
allow (``common-passwords.txt``), nor a common word (password, qwerty, admin,
woaini, …) with digits or symbols added. One-time passwords of the bulk
import are random and pass it; the password each new user then chooses is
checked here too.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from flask_babel import gettext as _

MIN_PASSWORD, MAX_PASSWORD = 10, 200

# Words people dress up with a year or "123": Password2026!, admin@123456, Woaini1314…
_BASE_WORDS = ("password", "passw0rd", "p@ssw0rd", "p@ssword", "qwerty", "qwertyuiop", "asdfgh", "asdfghjkl",
               "zxcvbn", "zxcvbnm", "admin", "administrator", "welcome", "iloveyou", "woaini", "woaiwojia",
               "abc", "abcd", "abcdef", "abcdefg", "aaa", "qaz", "qazwsx", "1qaz2wsx", "letmein", "monkey",
               "dragon", "jiedian", "changeme", "test", "root", "user", "guest", "default")
_DRESSING = re.compile(r"[\d\W_]*")


@cache
def _common() -> frozenset[str]:
    text = resources.files("portal.auth").joinpath("common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _dressed_word(folded: str) -> bool:
    """A base word with only digits or symbols around it (Admin@2026, 2026password!)."""
    return any(
        word in folded and _DRESSING.fullmatch(folded.replace(word, "", 1)) is not None
        for word in _BASE_WORDS
    )


def password_problem(username: str, password: str) -> str | None:
    """Why a chosen password is refused (in the user's language), or None."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return _("Between %(min)d and %(max)d characters.", min=MIN_PASSWORD, max=MAX_PASSWORD)
    folded = password.strip().casefold()
    name = (username or "").strip().casefold()
    if folded == name:
        return _("The password must not be your username.")
    if len(name) >= 3 and name in folded:
        return _("The password must not contain your username.")
    if password.isdigit():
        return _("The password must not be digits only.")
    if len(set(folded)) == 1:
        return _("The password must not be one character repeated.")
    if folded in _common() or _dressed_word(folded):
        return _("This password is among the most common ones and easy to guess; choose another.")
    return None

"""What redaction looks for: the built-in kinds, custom patterns, and the card check.

A pattern is ``lead`` + ``body``: the body is replaced by ``[redacted:KIND]``, the lead (a
keyword such as ``Bearer`` or ``api_key=``) is kept so the text stays readable. Every
pattern is written in the syntax RE2 (pyarrow) and Python's ``re`` share: the fast path runs
it with RE2 over a whole column, the rare slow path (card checks, JSON repairs) with ``re``.

Each pattern is compiled in two variants, both with capture group 1 in front of the lead
(group 2) and re-emitted by the replacement:

- text (``input``, ``output``, ``status_message``): group 1 is a boundary, the start of the
  text or one character that is not a letter or digit, so ``x4111...`` or the middle of a
  longer number never starts a match. Custom patterns get an empty group 1 (they match
  anywhere, as a regex does).
- JSON (messages, attributes, metadata, events, resource): group 1 may also be a run of whole
  JSON escapes (``\\n``, ``\\"``, ``\\u001f``), so a match after an escaped newline starts
  after the escape, never inside it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

BUILTIN_KINDS = ("api_key", "secret", "email", "card", "phone")
REPLACEMENT = "[redacted:{kind}]"

# One whole JSON escape: \uXXXX or a backslash and one character.
_JSON_ESCAPE = r"\\(?:u[0-9a-fA-F]{4}|[^u])"
# A literal "\n" (backslash, letter) in the text is a boundary too: text that holds escaped
# JSON (tool call arguments, say) puts it right before a value.
_LITERAL_ESCAPE = r"\\(?:[nrtbf]|u[0-9a-fA-F]{4})"
_TEXT_BOUNDARY = r"(^|[^A-Za-z0-9]|" + _LITERAL_ESCAPE + ")"
_JSON_BOUNDARY = (
    r"(^|[^\\A-Za-z0-9]|(?:"
    + _JSON_ESCAPE
    + r")*\\"
    + _LITERAL_ESCAPE
    + "|(?:"
    + _JSON_ESCAPE
    + ")+)"
)
_PY_TEXT_BOUNDARY = r"(?:(?<![A-Za-z0-9])|(?<=\\[nrtbf])|(?<=\\u[0-9a-fA-F]{4}))()"
_PY_JSON_BOUNDARY = r"(?:(?<![A-Za-z0-9\\])|(?<=\\[nrtbf\"/\\])|(?<=\\u[0-9a-fA-F]{4}))()"
# Where a glued pattern may end: at a word boundary or right before a letter (RE2 has no
# lookahead, so the letter is matched and put back).
_GLUED_END = r"\b|[A-Za-z_]"
_JSON_ANYWHERE = r"((?:\\(?:u[0-9a-fA-F]{4}|[^u]))*)"

_SECRET_WORDS = (
    r"(?i:[a-z0-9_.-]*(?:api[_.-]?key|apikey|secret|token|access[_.-]?key|private[_.-]?key"
    r"|credentials?|passw(?:or)?d|passphrase|pwd))"
)
# Looser words for the "nearby" form, which needs a long hex or base64 value after them.
_NEARBY_WORDS = r"(?i:" + _SECRET_WORDS + r"|[a-z0-9_.-]*(?:key|signature|hmac|salt))"
_QUOTE = r"(?:\\?[\"'])?"

_KEY_SHAPES = "|".join(
    (
        r"sk-(?:proj-|ant-|live-|test-|lf-)?[A-Za-z0-9_-]{20,}",
        r"(?:sk|pk)-lf-[A-Za-z0-9-]{8,}",
        r"(?:AKIA|ASIA)[0-9A-Z]{16}",
        r"gh[pousr]_[A-Za-z0-9]{36,}",
        r"github_pat_[A-Za-z0-9_]{40,}",
        r"xox[abprs]-[A-Za-z0-9-]{10,}",
        r"AIza[0-9A-Za-z_-]{35}",
        r"(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
        r"glpat-[A-Za-z0-9_-]{20,}",
        r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
    )
)
_PHONES = "|".join(
    (
        # +44 20 7946 0958, +1 (415) 555-0132, +14155550132
        r"\+[1-9][0-9]{0,2}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{1,4}(?:[ .-]?[0-9]{2,4}){2,4}",
        # (415) 555-0132, 415-555-0132, 1-415-555-0132, 415.555.0132
        r"(?:1[ .-])?(?:\([0-9]{3}\)[ .-]?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}",
        # 020 7946 0958, 030-1234-5678
        r"0[0-9]{1,4}[ .-][0-9]{3,4}[ .-][0-9]{3,4}",
    )
)


_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # 2*d, minus 9 past 9


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits holds."""
    odd = sum(map(int, digits[-1::-2]))
    even = sum(_DOUBLED[int(char)] for char in digits[-2::-2])
    return (odd + even) % 10 == 0


_SEPARATOR = re.compile(r"[ -]")


def redact_cards(run: str, replacement: str) -> tuple[str, int]:
    """A run of digit groups (single spaces or dashes between them) with every card number
    in it replaced, and how many there were. A card is a span of whole groups, the leftmost
    and then the longest first: ``415 555 0132 4111 1111 1111 1111 123`` holds one (after a
    phone number, before a CVV)."""
    starts = [0] + [m.end() for m in _SEPARATOR.finditer(run)]
    ends = [m.start() for m in _SEPARATOR.finditer(run)] + [len(run)]
    out: list[str] = []
    count = 0
    done = 0  # run[:done] is already in out
    i = 0
    while i < len(starts):
        start = starts[i]
        found = next(
            (end for end in reversed(ends) if end > start and is_card_number(run[start:end])),
            None,
        )
        if found is None:
            i += 1
            continue
        out += [run[done:start], replacement]
        count += 1
        done = found
        i = next((k for k, s in enumerate(starts) if s > found), len(starts))
    out.append(run[done:])
    return "".join(out), count


def is_card_number(candidate: str) -> bool:
    """A payment card number: 13-19 digits (spaces and dashes ignored) with an issuer's
    prefix and length (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay) and a valid
    Luhn checksum. Order ids, timestamps and other long numbers fail one of the three."""
    digits = candidate.replace(" ", "").replace("-", "")
    n = len(digits)
    if not (13 <= n <= 19 and digits.isascii() and digits.isdigit()):
        return False
    two, four, six = int(digits[:2]), int(digits[:4]), int(digits[:6])
    issued = (
        (digits[0] == "4" and n in (13, 16, 19))  # Visa
        or ((51 <= two <= 55 or 2221 <= four <= 2720) and n == 16)  # Mastercard
        or (two in (34, 37) and n == 15)  # American Express
        or ((four == 6011 or two == 65 or 644 <= four // 10 <= 649) and n >= 16)  # Discover
        or (622126 <= six <= 622925 and n >= 16)  # Discover / UnionPay co-brand
        or (two == 62 and n >= 16)  # UnionPay
        or ((300 <= four // 10 <= 305 or two in (36, 38, 39)) and n >= 14)  # Diners
        or (3528 <= four <= 3589 and n >= 16)  # JCB
    )
    return issued and luhn_valid(digits)


@dataclass(frozen=True)
class Pattern:
    """One thing to redact: ``body`` is replaced by ``[redacted:KIND]``; ``lead``, matched just
    before it, is kept. ``validate`` (cards) rewrites each candidate body in Python,
    given the replacement, and says how many it replaced (0: none);
    ``bounded`` patterns only start at a word boundary (and end at one, or, when ``glued``,
    before any letter: a card number directly followed by text); ``builtin`` ones never match
    the replacement text itself (custom patterns might)."""

    kind: str
    body: str
    lead: str = ""
    bounded: bool = True
    validate: Callable[[str, str], tuple[str, int]] | None = None
    builtin: bool = True
    glued: bool = False

    @property
    def replacement(self) -> str:
        """The text that takes the body's place."""
        return REPLACEMENT.format(kind=self.kind)

    def regex(self, *, json: bool, capture_body: bool = False) -> str:
        """The RE2 regex for text columns or for JSON text (see the module doc); with
        ``capture_body`` the body is group 3 (and, when ``glued``, a letter after it group 4)."""
        if json:
            prefix = _JSON_BOUNDARY if self.bounded else _JSON_ANYWHERE
        else:
            prefix = _TEXT_BOUNDARY if self.bounded else "()"
        body = f"({self.body})" if capture_body else f"(?:{self.body})"
        if self.glued and capture_body:
            return f"{prefix}({self.lead}){body}({_GLUED_END})"
        return f"{prefix}({self.lead}){body}{self._end}"

    @property
    def rewrite(self) -> str:
        """The replacement with the boundary and lead groups put back (RE2 and ``re``)."""
        return r"\1\2" + self.replacement

    def detect(self, *, json: bool) -> str:
        """The regex without capture groups (for finding which rows hold a match)."""
        if json:
            prefix = _JSON_BOUNDARY if self.bounded else ""
        else:
            prefix = _TEXT_BOUNDARY if self.bounded else ""
        prefix = prefix.replace("(", "(?:", 1)
        end = f"(?:{_GLUED_END})" if self.glued else self._end
        return f"{prefix}{self.lead}(?:{self.body}){end}"

    def python(self, *, json: bool) -> re.Pattern[str]:
        """The same pattern for Python's ``re`` (the slow path), with the boundary as a
        lookbehind (group 1 is empty) so the scan does not try a group at every position."""
        if not self.bounded:
            prefix = "()"
        elif json:
            prefix = _PY_JSON_BOUNDARY
        else:
            prefix = _PY_TEXT_BOUNDARY
        end = "(?![0-9])" if self.glued else self._end
        return _compiled(f"{prefix}({self.lead})(?:{self.body}){end}")

    @property
    def _end(self) -> str:
        return r"\b" if self.bounded else ""


_PY_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(regex: str) -> re.Pattern[str]:
    found = _PY_CACHE.get(regex)
    if found is None:
        # ASCII: \b, \s and \d mean what they mean in RE2 (the fast path).
        found = _PY_CACHE[regex] = re.compile(regex, re.ASCII)
    return found


# Order matters: keys and secrets first (they may contain digits and '@'), cards before
# phones (a card's digit groups never form a phone, but the reverse order would cost a scan).
BUILTIN_PATTERNS: dict[str, tuple[Pattern, ...]] = {
    "api_key": (
        Pattern("api_key", _KEY_SHAPES),
        Pattern("api_key", r"[A-Za-z0-9._~+/=-]{16,}", lead=r"(?i:bearer)\s+"),
        Pattern("api_key", r"[A-Za-z0-9+/]{12,}={0,2}", lead=r"(?i:basic)\s+"),
    ),
    "secret": (
        # api_key=..., "password": "...", client_secret: ...
        Pattern(
            "secret",
            r"[A-Za-z0-9+/_.~=!@#$%^&*-]{8,}",
            lead=_SECRET_WORDS + _QUOTE + r"\s*[:=]\s*" + _QUOTE,
        ),
        # "the signing key is 3f9a...", "hmac 3f9a...": long hex or base64 right after a
        # keyword (a window of words in between made the scan three times slower)
        Pattern(
            "secret",
            r"[0-9a-fA-F]{32,}|[A-Za-z0-9+/]{40,}={0,2}",
            lead=_NEARBY_WORDS + r"(?:\s+is\s+|\s*[:=]\s*|\s+)" + _QUOTE,
        ),
        Pattern(
            "secret",
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[A-Za-z0-9+/=\s\\:,-]*?"
            r"-----END [A-Z ]*PRIVATE KEY-----",
            bounded=False,
        ),
    ),
    # Unbounded: the local part's characters run as far left as they go and the top-level
    # domain's letters end the match, so an email glued to other text is still found.
    "email": (
        Pattern(
            "email",
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            bounded=False,
        ),
    ),
    "card": (
        # The whole run of digit groups around a group that starts like a card (2-6 and 12
        # more digits): redact_cards finds the cards in it, so a phone number or an id just
        # before a card cannot hide it. A lone 19-digit timestamp starts with 1: no candidate.
        Pattern(
            "card",
            r"(?:[0-9]+[ -])*[2-6][0-9](?:[ -]?[0-9]){11,}",
            validate=redact_cards,
            glued=True,
        ),
    ),
    "phone": (Pattern("phone", _PHONES),),
}

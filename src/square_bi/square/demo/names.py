"""Names for the demo's people (team members and customers); all e-mail domains are reserved
example domains (RFC 2606), so no address can reach a real inbox."""

from __future__ import annotations

GIVEN_NAMES = (
    "Amara", "Ben", "Carmen", "Dev", "Elena", "Felix", "Grace", "Hiro", "Isla", "Jonah", "Keiko", "Liam",
    "Maya", "Noah", "Olivia", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor", "Wen", "Ximena",
    "Yusuf", "Zoe", "Aaron", "Bea", "Chloe", "Diego", "Emma", "Finn", "Gabriel", "Hannah", "Ivan", "Jade",
    "Kai", "Lena", "Mateo", "Nina", "Omar", "Paige", "Rafael", "Sofia", "Theo", "Valentina", "Will", "Yara",
)  # fmt: skip
FAMILY_NAMES = (
    "Adeyemi", "Bauer", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Johnson", "Kowalski",
    "Lopez", "Murphy", "Nakamura", "Okafor", "Patel", "Quintero", "Rossi", "Schmidt", "Tanaka", "Usman",
    "Vasquez", "Walker", "Xu", "Yamamoto", "Zhang", "Anders", "Brooks", "Costa", "Dimitrov", "Eriksen",
    "Fernandes", "Gupta", "Hansen", "Ibrahim", "Jensen", "Kim", "Larsen", "Martin", "Nguyen", "O'Brien",
    "Park", "Reyes", "Silva", "Thompson", "Varga", "Wong", "Young",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
STAFF_EMAIL_DOMAIN = "junipercrumb.example"


def email_local_part(given: str, family: str) -> str:
    """``given.family`` in lower case, letters only (``O'Brien`` -> ``obrien``)."""
    return ".".join("".join(ch for ch in part.lower() if ch.isalpha()) for part in (given, family))

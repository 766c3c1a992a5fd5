"""The demo merchant's staff: Square ``TeamMember`` objects and who took which payment.

* one owner (``is_owner: true``, assigned to ``ALL_CURRENT_AND_FUTURE_LOCATIONS``), there since
  the first shop opened, who takes a payment now and then;
* 4 to 6 staff per shop (``EXPLICIT_LOCATIONS``): three long-standing baristas who stay active,
  one who leaves during the window (``status: INACTIVE``, ``updated_at`` = the day they left) and,
  for the rest, a mix of long-standing staff and new hires (``created_at`` inside the window);
  one barista of the second shop also covers shifts at the first;
* :class:`TeamRoster` attributes each payment to a member assigned to the payment's location and
  active at that moment (hired at or before it, not yet left).

Team member timestamps are whole seconds (``2025-01-05T16:02:11Z``), as Square writes them.
"""

from __future__ import annotations

import itertools
import random
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from .draws import pick
from .ids import IdFactory
from .names import FAMILY_NAMES, GIVEN_NAMES, STAFF_EMAIL_DOMAIN, email_local_part
from .timefmt import format_ms, parse_rfc3339_us

JSONObject = dict[str, Any]

DAY_MS = 86_400_000
CORE_STAFF = 3  # per location, active for the whole window
OWNER_WEIGHT = 0.15  # how often the owner rings a sale, relative to one barista


@dataclass(frozen=True)
class Shift:
    """When a member can take payments: ``[start_ms, end_ms)`` (``end_ms`` None: still active)."""

    member_id: str
    location_ids: frozenset[str] | None  # None: every location
    start_ms: int
    end_ms: int | None
    weight: float

    def covers(self, location_id: str, at_ms: int) -> bool:
        in_place = self.location_ids is None or location_id in self.location_ids
        return in_place and self.start_ms <= at_ms and (self.end_ms is None or at_ms < self.end_ms)


def _seconds(ms: int) -> int:
    return ms - ms % 1000


class TeamRoster:
    """Picks the team member who took a payment."""

    def __init__(self, members: list[JSONObject]) -> None:
        self._shifts: list[Shift] = []
        for member in members:
            assigned = member["assigned_locations"]
            locations = (
                None
                if assigned["assignment_type"] == "ALL_CURRENT_AND_FUTURE_LOCATIONS"
                else frozenset(assigned["location_ids"])
            )
            end = parse_rfc3339_us(member["updated_at"]) // 1000 if member["status"] == "INACTIVE" else None
            weight = OWNER_WEIGHT if member["is_owner"] else 1.0
            start = parse_rfc3339_us(member["created_at"]) // 1000
            self._shifts.append(Shift(member["id"], locations, start, end, weight))
        # Who can be picked only changes when a shift starts or ends: cache the draw per interval.
        ends = {shift.end_ms for shift in self._shifts if shift.end_ms is not None}
        self._boundaries = sorted({shift.start_ms for shift in self._shifts} | ends)
        self._draws: dict[tuple[str, int], tuple[list[str], list[float]]] = {}

    def pick(self, rng: random.Random, location_id: str, at_ms: int) -> str:
        """A member assigned to ``location_id`` and active at ``at_ms`` (the owner always is)."""
        key = (location_id, bisect_right(self._boundaries, at_ms))
        draw = self._draws.get(key)
        if draw is None:
            candidates = [shift for shift in self._shifts if shift.covers(location_id, at_ms)]
            cum_weights = list(itertools.accumulate(shift.weight for shift in candidates))
            draw = self._draws[key] = ([shift.member_id for shift in candidates], cum_weights)
        members, cum_weights = draw
        return pick(rng, members, cum_weights)


def build_team(
    rng: random.Random, ids: IdFactory, locations: list[JSONObject], *, window_start_ms: int, window_end_ms: int
) -> list[JSONObject]:
    """The owner and every shop's staff, oldest first (``locations`` oldest first too)."""
    window = max(DAY_MS, window_end_ms - window_start_ms)
    used: set[tuple[str, str]] = set()

    def member(location_ids: list[str] | None, created_ms: int, left_ms: int | None, *, owner: bool) -> JSONObject:
        while True:
            given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
            if (given, family) not in used:
                used.add((given, family))
                break
        created_ms = _seconds(created_ms)
        if left_ms is not None:
            updated_ms = _seconds(left_ms)
        else:
            updated_ms = min(_seconds(created_ms + rng.randrange(DAY_MS, 30 * DAY_MS)), _seconds(window_start_ms))
            updated_ms = max(updated_ms, created_ms)
        assigned: JSONObject = (
            {"assignment_type": "ALL_CURRENT_AND_FUTURE_LOCATIONS"}
            if location_ids is None
            else {"assignment_type": "EXPLICIT_LOCATIONS", "location_ids": location_ids}
        )
        return {
            "id": ids.team_member(),
            "is_owner": owner,
            "status": "INACTIVE" if left_ms is not None else "ACTIVE",
            "given_name": given,
            "family_name": family,
            "email_address": f"{email_local_part(given, family)}@{STAFF_EMAIL_DOMAIN}",
            "created_at": format_ms(created_ms, fraction=False),
            "updated_at": format_ms(updated_ms, fraction=False),
            "assigned_locations": assigned,
        }

    def opened(location: JSONObject) -> int:
        return parse_rfc3339_us(location["created_at"]) // 1000

    members = [member(None, opened(locations[0]) - 30 * DAY_MS, None, owner=True)]
    for index, location in enumerate(locations):
        since = opened(location)
        before = max(1, window_start_ms - since)
        staff = []
        for slot in range(rng.randint(4, 6)):
            hired = since + rng.randrange(before)
            kind = "core" if slot < CORE_STAFF else "leaver" if slot == CORE_STAFF else rng.choice(("hire", "core"))
            if kind == "hire":
                staff.append(member([location["id"]], window_start_ms + rng.randrange(window // 2), None, owner=False))
            elif kind == "leaver":
                left = window_start_ms + window // 4 + rng.randrange(window // 2)
                staff.append(member([location["id"]], hired, left, owner=False))
            else:
                staff.append(member([location["id"]], hired, None, owner=False))
        if index == 1:  # a barista of the second shop also covers shifts at the first
            staff[0]["assigned_locations"]["location_ids"] = [location["id"], locations[0]["id"]]
        members.extend(staff)
    return sorted(members, key=lambda m: (parse_rfc3339_us(m["created_at"]), m["id"]))

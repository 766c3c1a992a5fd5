"""The demo merchant's locations: Square ``Location`` objects in several time zones.

Square returns every location of the seller from ``GET /v2/locations`` (active and inactive),
each with its own IANA ``timezone``, ``currency`` and ``business_hours``. The demo picks the
first ``DemoConfig.locations`` entries of :data:`LOCATION_TEMPLATES`, so a small demo spans
the US West coast, the US East coast and London (USD and GBP) and a large one reaches zones
with a different DST calendar (Australia, New Zealand) and a zero-decimal currency (JPY).

Opening hours are local wall-clock hours; orders are generated inside them (see ``orders``).

Each shop also has one sales tax (:data:`SALES_TAXES`, by shop name), rendered as a catalog
``TAX`` present at that location only: additive in the US and Canada (the tax is added on top of
menu prices), inclusive elsewhere (VAT/GST is already inside the menu price).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .ids import IdFactory
from .timefmt import format_ms

JSONObject = dict[str, Any]

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True)
class LocationTemplate:
    """Static facts about one demo shop."""

    name: str
    locality: str
    district: str  # administrative_district_level_1 (state / region)
    postal_code: str
    address_line_1: str
    country: str
    timezone: str
    currency: str
    language_code: str
    phone_number: str
    latitude: float
    longitude: float
    weekday_hours: tuple[int, int]  # local opening hour, local closing hour
    weekend_hours: tuple[int, int]
    traffic: float  # relative order volume

    def hours_for(self, weekday: int) -> tuple[int, int]:
        """Opening and closing hour (local) for ``weekday`` (0 = Monday)."""
        return self.weekend_hours if weekday >= 5 else self.weekday_hours


# name, locality, district, postal code, street, country, time zone, currency, language, phone,
# latitude, longitude, weekday hours, weekend hours, relative traffic
_LOCATION_ROWS = (
    ("Mission", "San Francisco", "CA", "94110", "2301 Mission St", "US", "America/Los_Angeles", "USD",
     "en-US", "+1 415-555-0142", 37.7599, -122.4187, (7, 19), (8, 18), 1.25),
    ("SoHo", "New York", "NY", "10012", "112 Prince St", "US", "America/New_York", "USD",
     "en-US", "+1 212-555-0178", 40.7250, -73.9990, (7, 20), (8, 19), 1.1),
    ("Shoreditch", "London", "", "E1 6JE", "45 Redchurch St", "GB", "Europe/London", "GBP",
     "en-GB", "+44 20 7946 0321", 51.5246, -0.0766, (7, 19), (9, 18), 0.9),
    ("Wicker Park", "Chicago", "IL", "60622", "1520 N Milwaukee Ave", "US", "America/Chicago", "USD",
     "en-US", "+1 312-555-0119", 41.9088, -87.6776, (6, 18), (8, 17), 0.8),
    ("RiNo", "Denver", "CO", "80205", "2736 Larimer St", "US", "America/Denver", "USD",
     "en-US", "+1 303-555-0164", 39.7597, -104.9837, (7, 18), (8, 16), 0.7),
    ("Kaimuki", "Honolulu", "HI", "96816", "3458 Waialae Ave", "US", "Pacific/Honolulu", "USD",
     "en-US", "+1 808-555-0137", 21.2847, -157.8018, (6, 17), (7, 16), 0.6),
    ("Kitsilano", "Vancouver", "BC", "V6K 2G6", "2210 W 4th Ave", "CA", "America/Vancouver", "CAD",
     "en-CA", "+1 604-555-0153", 49.2684, -123.1568, (7, 19), (8, 18), 0.7),
    ("Fitzroy", "Melbourne", "VIC", "3065", "231 Brunswick St", "AU", "Australia/Melbourne", "AUD",
     "en-AU", "+61 3 5550 1234", -37.8010, 144.9785, (7, 16), (8, 15), 0.8),
    ("Ponsonby", "Auckland", "AUK", "1011", "148 Ponsonby Rd", "NZ", "Pacific/Auckland", "NZD",
     "en-NZ", "+64 9 555 0102", -36.8568, 174.7466, (7, 16), (8, 15), 0.5),
    ("Kreuzberg", "Berlin", "BE", "10999", "Oranienstr. 24", "DE", "Europe/Berlin", "EUR",
     "de-DE", "+49 30 5550 1234", 52.5010, 13.4190, (8, 19), (9, 18), 0.7),
    ("Le Marais", "Paris", "IDF", "75004", "18 Rue Vieille du Temple", "FR", "Europe/Paris", "EUR",
     "fr-FR", "+33 1 55 50 12 34", 48.8570, 2.3580, (8, 19), (9, 19), 0.7),
    ("Shimokitazawa", "Tokyo", "13", "155-0031", "2-14-3 Kitazawa", "JP", "Asia/Tokyo", "JPY",
     "ja-JP", "+81 3-5550-1234", 35.6618, 139.6681, (8, 20), (9, 20), 0.8),
)  # fmt: skip
LOCATION_TEMPLATES: tuple[LocationTemplate, ...] = tuple(LocationTemplate(*row) for row in _LOCATION_ROWS)

MAX_LOCATIONS = len(LOCATION_TEMPLATES)


@dataclass(frozen=True)
class SalesTax:
    """One shop's sales tax: ``percentage`` is Square's decimal string (``"8.875"`` = 8.875 %)."""

    name: str
    percentage: str
    inclusion_type: str  # "ADDITIVE" (added on top) or "INCLUSIVE" (already inside the price)


# shop name -> its jurisdiction's sales tax (rates as of 2024, rounded to what a POS would hold)
SALES_TAXES: dict[str, SalesTax] = {
    "Mission": SalesTax("San Francisco Sales Tax", "8.625", "ADDITIVE"),
    "SoHo": SalesTax("New York City Sales Tax", "8.875", "ADDITIVE"),
    "Shoreditch": SalesTax("VAT", "20", "INCLUSIVE"),
    "Wicker Park": SalesTax("Chicago Sales Tax", "10.25", "ADDITIVE"),
    "RiNo": SalesTax("Denver Sales Tax", "9.15", "ADDITIVE"),
    "Kaimuki": SalesTax("Hawaii GET", "4.712", "ADDITIVE"),
    "Kitsilano": SalesTax("GST + PST", "12", "ADDITIVE"),
    "Fitzroy": SalesTax("GST", "10", "INCLUSIVE"),
    "Ponsonby": SalesTax("GST", "15", "INCLUSIVE"),
    "Kreuzberg": SalesTax("MwSt", "19", "INCLUSIVE"),
    "Le Marais": SalesTax("TVA", "10", "INCLUSIVE"),
    "Shimokitazawa": SalesTax("Consumption Tax", "10", "INCLUSIVE"),
}


def business_hours(template: LocationTemplate) -> JSONObject:
    """Square ``BusinessHours``: one period per weekday, local ``HH:MM:SS`` times."""
    periods = []
    for weekday, day in enumerate(WEEKDAYS):
        opens, closes = template.hours_for(weekday)
        periods.append(
            {
                "day_of_week": day,
                "start_local_time": f"{opens:02d}:00:00",
                "end_local_time": f"{closes:02d}:00:00",
            }
        )
    return {"periods": periods}


def build_location(
    template: LocationTemplate, *, location_id: str, merchant_id: str, business_name: str, created_ms: int
) -> JSONObject:
    """Render one template as a Square ``Location`` JSON object."""
    address: JSONObject = {
        "address_line_1": template.address_line_1,
        "locality": template.locality,
        "postal_code": template.postal_code,
        "country": template.country,
    }
    if template.district:
        address["administrative_district_level_1"] = template.district
    return {
        "id": location_id,
        "name": template.name,
        "address": address,
        "timezone": template.timezone,
        "capabilities": ["CREDIT_CARD_PROCESSING"],
        "status": "ACTIVE",
        "created_at": format_ms(created_ms, fraction=False),
        "merchant_id": merchant_id,
        "country": template.country,
        "language_code": template.language_code,
        "currency": template.currency,
        "phone_number": template.phone_number,
        "business_name": business_name,
        "type": "PHYSICAL",
        "business_hours": business_hours(template),
        "coordinates": {"latitude": template.latitude, "longitude": template.longitude},
        "mcc": "5814",
    }


def build_locations(
    count: int, ids: IdFactory, *, merchant_id: str, business_name: str, first_created_ms: int
) -> list[tuple[LocationTemplate, JSONObject]]:
    """Build ``count`` locations, opened 45 days apart, oldest first."""
    day_ms = 86_400_000
    result = []
    for index, template in enumerate(LOCATION_TEMPLATES[:count]):
        created_ms = first_created_ms + index * 45 * day_ms + index * 3_600_000 * 5 + 1234_000
        location = build_location(
            template,
            location_id=ids.location(),
            merchant_id=merchant_id,
            business_name=business_name,
            created_ms=created_ms,
        )
        result.append((template, location))
    return result

"""The person's profile: name, country, currency, time zone, units and RV, changed field by field.

Only the fields given change, and the result shows the profile before and after, so nothing is
overwritten silently. The database holds the rules (migration
20261202000100_profile_units_and_rv.sql): codes' shapes, the time zone through
``public.is_time_zone_name``, units and fuel types, the tank's size.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from pam_mcp.errors import PamError
from pam_mcp.tools.common import Input, Output, ToolContext
from pam_mcp.tools.spec import ToolSpec

DistanceUnit = Literal["km", "mi"]
VolumeUnit = Literal["L", "gal"]
FuelType = Literal["diesel", "petrol", "lpg", "electric", "other"]
Clearable = Literal["display_name", "country_code", "timezone", "rv_make", "rv_model", "fuel_type", "tank_size"]
FIELDS = (
    "display_name", "country_code", "currency", "timezone", "distance_unit", "volume_unit",
    "rv_make", "rv_model", "fuel_type", "tank_size",
)  # fmt: skip


def _letters(count: int, what: str, example: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if len(text) != count or not text.isascii() or not text.isalpha():
                raise ValueError(f"must be {what}: {count} letters, e.g. {example}")
            return text.upper()
        return value

    return BeforeValidator(check)


CountryCode = Annotated[str, _letters(2, "an ISO 3166-1 alpha-2 country code", "AU")]
CurrencyCode = Annotated[str, _letters(3, "an ISO 4217 currency code", "AUD")]


class UpdateProfileInput(Input):
    display_name: str | None = Field(default=None, min_length=1, max_length=100, description="What PAM calls them")
    country_code: CountryCode | None = Field(
        default=None, description="Country they are based in: ISO 3166-1 alpha-2, e.g. AU, NZ, US"
    )
    currency: CurrencyCode | None = Field(
        default=None, description="Currency their money is in: ISO 4217, e.g. AUD, USD"
    )
    timezone: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="IANA time zone name, e.g. Australia/Sydney (sets what 'today' is for every dated tool)",
    )
    distance_unit: DistanceUnit | None = Field(default=None, description="km or mi")
    volume_unit: VolumeUnit | None = Field(
        default=None, description="L or gal (US gallon); a stored tank_size is converted to the new unit"
    )
    rv_make: str | None = Field(default=None, min_length=1, max_length=100, description="The RV's make, e.g. Jayco")
    rv_model: str | None = Field(default=None, min_length=1, max_length=100, description="The RV's model")
    fuel_type: FuelType | None = Field(default=None, description="What the RV runs on")
    tank_size: Decimal | None = Field(
        default=None, gt=0, le=2000, decimal_places=2, description="Fuel tank size in the volume unit, e.g. 120"
    )
    clear: list[Clearable] = Field(
        default_factory=list, max_length=7, description="Fields to empty (omitted or null fields are left as they are)"
    )

    @model_validator(mode="after")
    def _something_to_do(self) -> UpdateProfileInput:
        given = {name for name in FIELDS if getattr(self, name) is not None}
        if not given and not self.clear:
            raise ValueError(f"give at least one field to change ({', '.join(FIELDS)}) or a field to clear")
        if both := sorted(given & set(self.clear)):
            raise ValueError(f"{', '.join(both)}: given a value and also asked to clear; do one or the other")
        return self


class Profile(Output):
    display_name: str | None
    country_code: str | None = Field(description="ISO 3166-1 alpha-2")
    currency: str = Field(description="ISO 4217; every amount PAM shows is in it")
    timezone: str | None = Field(description="IANA name; null means UTC")
    distance_unit: DistanceUnit
    volume_unit: VolumeUnit
    rv_make: str | None
    rv_model: str | None
    fuel_type: str | None
    tank_size: Decimal | None = Field(description="In volume_unit")
    home_base: str | None
    rv_type: str | None
    rv_length_m: Decimal | None


class UpdateProfileResult(Output):
    created: bool = Field(description="True when the person had no profile and this call created it")
    before: Profile | None = Field(description="The profile before this call; null when it was just created")
    after: Profile
    changed: list[str] = Field(description="The fields whose value changed")
    today: dt.date = Field(description="The person's today in their (possibly new) time zone")
    summary: str


def profile_from(doc: Any) -> Profile | None:
    """A profile document from the database (``public.profile_document``), as tools show it."""
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise PamError("The database answered in a form pam-mcp cannot read; apply pam-mcp's migrations.")
    return Profile.model_validate({name: doc.get(name) for name in Profile.model_fields})


async def read_profile(ctx: ToolContext) -> Profile | None:
    """The person's profile (pam://profile), or None until they have one."""
    return profile_from(await ctx.store.call(ctx.user, "pam_profile"))


async def update_profile(ctx: ToolContext, args: UpdateProfileInput) -> UpdateProfileResult:
    values = {f"p_{name}": getattr(args, name) for name in FIELDS}
    doc = await ctx.store.call(ctx.user, "pam_update_profile", saved="the profile", **values, p_clear=list(args.clear),
                               p_now=ctx.now())  # fmt: skip
    before, after = profile_from(doc["before"]), profile_from(doc["after"])
    assert after is not None
    if before is None:  # a new profile: what this call set (the rest are the table's defaults)
        changed = [name for name in FIELDS if getattr(args, name) is not None]
    else:
        changed = [name for name in Profile.model_fields if getattr(before, name) != getattr(after, name)]
    if doc["created"]:
        summary = "Profile created" + (f" with {', '.join(changed)}." if changed else ".")
    elif changed:
        summary = "Changed " + ", ".join(f"{name} to {getattr(after, name)}" for name in changed) + "."
    else:
        summary = "Nothing changed: the profile already held these values."
    return UpdateProfileResult(
        created=bool(doc["created"]),
        before=before,
        after=after,
        changed=changed,
        today=dt.date.fromisoformat(doc["today"]),
        summary=summary,
    )


# -- declarations (registered by the server layer) -------------------------------------------------

UPDATE_PROFILE = ToolSpec(
    name="update_profile",
    title="Update the person's profile",
    description="""
        Change the person's own profile: display_name, country_code (ISO 3166-1 alpha-2, e.g. AU),
        currency (ISO 4217, e.g. AUD), timezone (IANA, e.g. Australia/Sydney: it decides what
        'today' is for every dated tool), distance_unit (km|mi), volume_unit (L|gal) and their RV
        (rv_make, rv_model, fuel_type diesel|petrol|lpg|electric|other, tank_size in the volume
        unit). Pass only what changes: omitted or null fields stay as they are; list fields to
        empty in clear. Creates the profile if they have none. Returns the profile before and
        after, the fields that changed and the person's today. Safe to repeat with the same values.""",
    run=update_profile,
    input=UpdateProfileInput,
    output=UpdateProfileResult,
    read_only=False,
    destructive=True,
    idempotent=True,
)

# One sentence for the server's instructions to the model, naming every tool declared here.
GUIDE = "The person's profile, time zone, currency, units and RV: update_profile."

TOOLS = (UPDATE_PROFILE,)

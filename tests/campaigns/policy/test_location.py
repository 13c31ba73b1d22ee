"""Where the callee is: the contact's fields win, then the number, then the campaign."""

from __future__ import annotations

from dialtone.campaigns.policy.location import CalleeLocation, resolve


def test_the_number_says_state_and_zone() -> None:
    found = resolve(phone="+14055550123", zone=None, country=None, region=None, campaign_zone="UTC")
    assert found == CalleeLocation(
        zone="America/Chicago",
        country="US",
        region="OK",
        source="zone=number country=number region=number",
    )


def test_a_city_description_gives_its_state() -> None:
    found = resolve(phone="+12125550123", zone=None, country=None, region=None, campaign_zone="UTC")
    assert (found.country, found.region, found.zone) == ("US", "NY", "America/New_York")


def test_the_contact_s_own_fields_win_over_the_number() -> None:
    # A Miami number whose owner moved to Oklahoma City.
    found = resolve(
        phone="+13055550123",
        zone="America/Chicago",
        country="us",
        region="ok",
        campaign_zone="UTC",
    )
    assert (found.zone, found.country, found.region) == ("America/Chicago", "US", "OK")
    assert found.source == "zone=contact country=contact region=contact"


def test_a_region_from_the_number_is_dropped_when_the_contact_names_another_country() -> None:
    found = resolve(phone="+13055550123", zone=None, country="GB", region=None, campaign_zone="UTC")
    assert (found.country, found.region) == ("GB", None)


def test_a_number_that_says_nothing_takes_its_code_s_country_and_the_campaign_zone() -> None:
    found = resolve(
        phone="+15550200001", zone=None, country=None, region=None, campaign_zone="America/Denver"
    )
    assert found == CalleeLocation(
        zone="America/Denver", country="US", region=None, source="zone=campaign country=number"
    )


def test_a_uk_number() -> None:
    found = resolve(
        phone="+442071234567", zone=None, country=None, region=None, campaign_zone="UTC"
    )
    assert (found.country, found.zone) == ("GB", "Europe/London")

from datetime import datetime, timezone

from actors.models import DomainBlock


async def test_migrated_database_round_trips_a_row(db):
    await DomainBlock.create(domain="spam.example", created_at=datetime.now(timezone.utc))
    assert [b.domain for b in await DomainBlock.all()] == ["spam.example"]

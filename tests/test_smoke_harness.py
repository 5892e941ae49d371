from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def test_runs_on_real_postgresql(session: AsyncSession) -> None:
    version = await session.scalar(text("SHOW server_version_num"))
    assert int(version) >= 150000


async def test_each_test_is_rolled_back_first(session: AsyncSession) -> None:
    await session.execute(text("INSERT INTO regions (slug, name) VALUES ('iso-check', 'I')"))
    assert await session.scalar(text("SELECT count(*) FROM regions WHERE slug='iso-check'")) == 1


async def test_each_test_is_rolled_back_second(session: AsyncSession) -> None:
    assert await session.scalar(text("SELECT count(*) FROM regions WHERE slug='iso-check'")) == 0

"""Row ids in paths: only numbers an id column can hold match a route."""

from __future__ import annotations

import re

import httpx
import pytest

from server.routing import MAX_ID, IdConvertor


@pytest.mark.parametrize(
    "number", [0, 7, 999_999_999, 1_000_000_000, 2_000_000_000, 2_147_483_639, MAX_ID]
)
def test_ids_up_to_the_column_limit_match(number: int) -> None:
    assert re.fullmatch(IdConvertor.regex, str(number))


@pytest.mark.parametrize(
    "number", [MAX_ID + 1, 2_147_483_650, 2_147_490_000, 2_200_000_000, 9_999_999_999, 10**12]
)
def test_larger_numbers_do_not(number: int) -> None:
    assert not re.fullmatch(IdConvertor.regex, str(number))


@pytest.mark.parametrize("path", ["/ideas/99999999999", "/ideas/2147483648", "/votes/21474836470"])
async def test_an_impossible_id_is_a_404_not_a_500(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404

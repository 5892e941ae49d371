"""The ``{name:id}`` path parameter: a row id, as PostgreSQL's ``integer`` holds them.

Starlette's ``int`` takes any number of digits, and an id past 2,147,483,647 then fails inside
the database (a 500 instead of a 404). ``id`` matches only what an id column can hold, so a
larger number is a path that does not exist. Registered when the ``server`` package is imported,
before any module builds its routes.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

MAX_ID = 2_147_483_647  # PostgreSQL integer


class IdConvertor(Convertor[int]):
    # 0 to 2147483647, digit by digit: a regex cannot compare numbers.
    regex = (
        "[0-9]{1,9}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
        "|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]"
        "|214748364[0-7]"
    )

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        if not 0 <= value <= MAX_ID:
            raise ValueError(f"{value} is not a row id")
        return str(value)


def register() -> None:
    register_url_convertor("id", IdConvertor())

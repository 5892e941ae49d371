"""Statement voting: opinion map, groups, consensus and divisive statements."""

from __future__ import annotations

import json
import random

import pytest

from server.votes.methods import opinion_groups, to_jsonable

STATEMENT_A, STATEMENT_B, STATEMENT_C = 1, 2, 3


def two_camps() -> dict[int | str, dict[int, int]]:
    """20 people agree with A and disagree with B, 20 the reverse; everyone agrees with C."""
    votes: dict[int | str, dict[int, int]] = {}
    for i in range(20):
        votes[f"a{i:02d}"] = {STATEMENT_A: 1, STATEMENT_B: -1, STATEMENT_C: 1}
        votes[f"b{i:02d}"] = {STATEMENT_A: -1, STATEMENT_B: 1, STATEMENT_C: 1}
    return votes


def noisy_camps(seed: int) -> dict[int | str, dict[int, int]]:
    """Two camps of 25 over 10 statements: each side agrees with its five and disagrees with the
    other five (statement 10 excepted: everyone agrees), with 20% of answers flipped or passed
    and 10% missing, so the silhouette has real choices to make."""
    rng = random.Random(seed)
    votes: dict[int | str, dict[int, int]] = {}
    for camp, sign in (("a", 1), ("b", -1)):
        for i in range(25):
            row = {}
            for s in range(1, 11):
                base = 1 if s == 10 else (sign if s <= 5 else -sign)
                r = rng.random()
                vote = base if r < 0.8 else (0 if r < 0.9 else -base)
                if rng.random() < 0.9:
                    row[s] = vote
            votes[f"{camp}{i:02d}"] = row
    return votes


def camp_of(participants: tuple[int | str, ...]) -> set[str]:
    return {str(p)[0] for p in participants}


def test_two_clearly_separated_groups_a_consensus_and_two_divisive_statements() -> None:
    result = opinion_groups(two_camps(), min_votes=3)
    assert result.k == 2
    assert [g.size for g in result.groups] == [20, 20]
    assert sorted(camp_of(g.participants).pop() for g in result.groups) == ["a", "b"]
    assert all(len(camp_of(g.participants)) == 1 for g in result.groups)
    assert [(c.statement, c.direction, c.consensus) for c in result.consensus] == [
        (STATEMENT_C, "agree", 1.0)
    ]
    assert [(d.statement, d.divisiveness) for d in result.divisive] == [
        (STATEMENT_A, 1.0),
        (STATEMENT_B, 1.0),
    ]
    first = result.groups[0]  # "A": the group holding participant a00
    assert "a00" in first.participants
    assert [(s.statement, s.agree_share, s.disagree_share) for s in first.statements] == [
        (STATEMENT_A, 1.0, 0.0),
        (STATEMENT_B, 0.0, 1.0),
        (STATEMENT_C, 1.0, 0.0),
    ]
    assert result.explained_variance[0] == pytest.approx(1.0)


def test_silhouette_chooses_two_groups_among_noisy_camps() -> None:
    result = opinion_groups(noisy_camps(3), min_votes=5)
    assert set(result.silhouettes) == {2, 3, 4, 5}
    assert result.k == 2
    assert sorted(len(g.participants) for g in result.groups) == [25, 25]
    assert all(len(camp_of(g.participants)) == 1 for g in result.groups)
    assert [c.statement for c in result.consensus] == [10]
    assert 10 not in {d.statement for d in result.divisive}
    assert {1, 2, 3, 6, 7, 8} <= {d.statement for d in result.divisive}


def test_three_camps_are_found_as_three_groups() -> None:
    rng = random.Random(11)
    votes: dict[int | str, dict[int, int]] = {}
    for camp in range(3):
        for i in range(20):
            votes[f"{camp}{i:02d}"] = {
                s: (1 if (s - 1) // 3 == camp else -1) if rng.random() < 0.85 else 0
                for s in range(1, 10)
            }
    result = opinion_groups(votes)
    assert result.k == 3
    assert all(len(camp_of(g.participants)) == 1 for g in result.groups)


def test_participants_with_too_few_votes_are_left_out() -> None:
    votes = two_camps()
    votes["lurker"] = {STATEMENT_A: 1}
    votes[7] = {STATEMENT_A: 1, STATEMENT_C: 0}
    result = opinion_groups(votes, min_votes=3)
    assert result.excluded == (7, "lurker")  # ints sort before strings
    assert sum(g.size for g in result.groups) == 40
    assert result.min_votes == 3
    # min_votes is capped at the number of statements
    assert opinion_groups(votes, min_votes=50).min_votes == 3


def test_same_input_same_map_whatever_the_order() -> None:
    votes = noisy_camps(5)
    reordered = dict(reversed(list(votes.items())))
    first = to_jsonable(opinion_groups(votes, min_votes=5))
    assert first == to_jsonable(opinion_groups(reordered, min_votes=5))
    assert json.loads(json.dumps(first)) == first


def test_fixed_k_and_small_inputs() -> None:
    result = opinion_groups(noisy_camps(3), min_votes=5, k=3)
    assert result.k == 3
    assert result.silhouettes == {}
    alone = opinion_groups({"x": {1: 1}}, min_votes=1)
    assert (alone.k, alone.groups[0].size) == (1, 1)
    nobody = opinion_groups({})
    assert (nobody.k, nobody.groups, nobody.points) == (0, (), ())


def test_bad_votes_are_refused() -> None:
    with pytest.raises(ValueError, match="votes are -1, 0 or 1"):
        opinion_groups({"x": {1: 2}})
    with pytest.raises(ValueError, match="unknown statement"):
        opinion_groups({"x": {9: 1}}, statements=[1, 2])

"""Table 1 of Choi, Brunet & How (2009), row by row: receiver i=0, sender k=1, third drones m=2 and n=3."""

from __future__ import annotations

import numpy as np
import pytest

from skyhive.autonomy._kernels import LEAVE, RESET, UPDATE, _action

I, K, M, N, NONE = 0, 1, 2, 3, -1  # noqa: E741 (the paper's names)


def act(zk: int, zi: int, yk: float = 5.0, yi: float = 5.0, newer_m: bool | None = None,
        newer_n: bool | None = None) -> int:
    """Action for one task; newer_m: sender's timestamp for m is newer (True), older (False) or equal (None)."""
    s_i = np.full(4, 10, np.int32)
    s_k = np.full(4, 10, np.int32)
    for who, newer in ((M, newer_m), (N, newer_n)):
        if newer is True:
            s_k[who] = 11
        elif newer is False:
            s_i[who] = 11
    return int(_action(I, K, np.float32(yk), zk, np.float32(yi), zi, s_i, s_k))  # type: ignore[arg-type]  # float32 on purpose


@pytest.mark.parametrize(("args", "want"), [
    # sender thinks k wins
    ((K, I, 6.0, 5.0), UPDATE), ((K, I, 4.0, 5.0), LEAVE), ((K, I, 5.0, 5.0), LEAVE),  # tie: lower id (i=0) keeps
    ((K, K), UPDATE),
    ((K, M, 4.0, 5.0, True), UPDATE), ((K, M, 6.0, 5.0, False), UPDATE), ((K, M, 4.0, 5.0, False), LEAVE),
    ((K, NONE), UPDATE),
    # sender thinks i wins
    ((I, I), LEAVE), ((I, K), RESET), ((I, M, 5.0, 5.0, True), RESET), ((I, M, 5.0, 5.0, False), LEAVE),
    ((I, NONE), LEAVE),
    # sender thinks m wins
    ((M, I, 6.0, 5.0, True), UPDATE), ((M, I, 6.0, 5.0, False), LEAVE), ((M, I, 4.0, 5.0, True), LEAVE),
    ((M, K, 5.0, 5.0, True), UPDATE), ((M, K, 5.0, 5.0, False), RESET),
    ((M, M, 5.0, 5.0, True), UPDATE), ((M, M, 5.0, 5.0, False), LEAVE),
    ((M, N, 1.0, 5.0, True, True), UPDATE),
    ((M, N, 6.0, 5.0, True, False), UPDATE), ((M, N, 4.0, 5.0, True, False), LEAVE),
    ((M, N, 6.0, 5.0, False, True), RESET), ((M, N, 6.0, 5.0, False, False), LEAVE),
    ((M, NONE, 5.0, 0.0, True), UPDATE), ((M, NONE, 5.0, 0.0, False), LEAVE),
    # sender thinks nobody wins
    ((NONE, I), LEAVE), ((NONE, K), UPDATE), ((NONE, M, 0.0, 5.0, True), UPDATE),
    ((NONE, M, 0.0, 5.0, False), LEAVE), ((NONE, NONE), LEAVE),
])
def test_table_row(args: tuple, want: int) -> None:
    assert act(*args) == want


def test_tie_break_only_where_table_leaves_and_news_is_not_older() -> None:
    from skyhive.autonomy._kernels import _tie_newer

    eq = np.full(4, 10, np.int32)
    newer_i = eq.copy()
    newer_i[N] = 11
    # equal news of both claimed winners, sender's entry decided later: take it
    assert _tie_newer(I, M, N, 7, 5, eq, eq)
    assert _tie_newer(I, NONE, N, 7, 5, eq, eq)  # a later "nobody" (a release) also travels
    # entry not later, or the receiver has strictly newer news of a claimed winner: keep the table's LEAVE
    assert not _tie_newer(I, M, N, 5, 5, eq, eq)
    assert not _tie_newer(I, M, N, 7, 5, newer_i, eq)
    # the receiver's own claim, or a claim that the receiver wins, is never overridden by the tie rule
    assert not _tie_newer(I, M, I, 7, 5, eq, eq)
    assert not _tie_newer(I, I, N, 7, 5, eq, eq)

"""Vectorized JSON text for thousands of records of identical shape (one drone = one record).

Why by hand: ``json.dumps`` and ``%``-formatting build the text number by number in
Python (about 2 us per drone for a SceneUpdate sphere); no library formats NumPy
columns into JSON.  Here every number becomes a fixed-width, right-aligned decimal
field written as bytes by NumPy digit arithmetic; JSON allows the padding spaces
before a number, so each record has the same length and all records are one
``(n, L)`` uint8 array joined by one ``tobytes()``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

U8 = NDArray[np.uint8]

_SPACE, _MINUS, _DOT, _ZERO = ord(" "), ord("-"), ord("."), ord("0")


def decimal_fields(values: ArrayLike, frac_digits: int) -> U8:
    """Numbers -> (n, W) ASCII fields such as ``"  -12.35"`` (W is the widest value's width).

    Non-finite values are not JSON; they raise ``ValueError``.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(v).all():
        raise ValueError("cannot write NaN or infinity as JSON")
    scale = 10**frac_digits
    q = np.rint(np.abs(v) * scale).astype(np.int64)
    ip = q // scale
    fp = q - ip * scale
    neg = (v < 0) & (q > 0)
    top = int(ip.max(initial=0))
    int_w = max(1, len(str(top)))
    width = 1 + int_w + (1 + frac_digits if frac_digits > 0 else 0)  # sign slot, digits, dot, fraction
    out = np.full((v.size, width), _SPACE, dtype=np.uint8)
    # integer part, right-aligned in columns 1..int_w; leading zeros become spaces (except the units digit)
    ndig = np.ones(v.size, dtype=np.int64)
    for k in range(1, int_w):
        ndig += ip >= 10**k
    rest = ip.copy()
    for k in range(int_w):
        col = int_w - k  # column of the 10^k digit
        digit = (rest % 10).astype(np.uint8)
        rest //= 10
        out[:, col] = np.where(k < ndig, _ZERO + digit, _SPACE)
    rows = np.nonzero(neg)[0]
    out[rows, int_w - ndig[rows]] = _MINUS
    if frac_digits > 0:
        out[:, int_w + 1] = _DOT
        rest = fp.copy()
        for k in range(frac_digits):
            out[:, width - 1 - k] = _ZERO + (rest % 10).astype(np.uint8)
            rest //= 10
    return out


def const(text: str | bytes, n: int) -> U8:
    """A constant piece repeated on n rows."""
    b = np.frombuffer(text.encode() if isinstance(text, str) else text, dtype=np.uint8)
    return np.broadcast_to(b, (n, b.size))


def padded_choices(options: Sequence[str], index: ArrayLike) -> U8:
    """Row i gets ``options[index[i]]``, right-padded with spaces to the longest option (valid after a value)."""
    width = max(len(o) for o in options)
    table = np.array([list(o.ljust(width).encode()) for o in options], dtype=np.uint8).reshape(len(options), width)
    return table[np.asarray(index, dtype=np.intp)]


def join_rows(pieces: Sequence[U8], sep: bytes = b",") -> bytes:
    """Concatenate the pieces column-wise, then the rows with ``sep`` between them."""
    if not pieces or pieces[0].shape[0] == 0:
        return b""
    n = pieces[0].shape[0]
    rows = np.concatenate([*pieces, const(sep, n)], axis=1) if sep else np.concatenate(pieces, axis=1)
    data = rows.tobytes()
    return data[: len(data) - len(sep)] if sep else data

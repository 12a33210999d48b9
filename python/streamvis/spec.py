"""What a logger call means and when it is refused.

These are the checks of the Rust logger (``src/spec``), made in the same
order and with the same messages, so that a call refused by one logger is
refused by the other.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np

from .errors import CallError

__all__ = [
    "ColorSpec",
    "GridSpec",
    "parse_palette",
    "integer_arg",
    "normalize_layout",
    "check_layout",
    "check_in_layout",
    "check_data_call",
    "check_tandem_call",
    "MAX_RANK",
    "U32_MAX",
]

#: The largest tensor rank a reader accepts.
MAX_RANK = 16
U32_MAX = 0xFFFFFFFF

# (family, categorical): categorical names put "_" before the size.
_FAMILIES = (
    ("Viridis", False),
    ("Magma", False),
    ("Inferno", False),
    ("Plasma", False),
    ("Cividis", False),
    ("Turbo", False),
    ("Greys", False),
    ("Category10", True),
    ("Category20", True),
)

_KNOWN_PALETTES = (
    "Viridis, Magma, Inferno, Plasma, Cividis, Turbo, Greys with 3..11 or 256 colours "
    "(e.g. Viridis256), Category10_3..Category10_10, Category20_3..Category20_20"
)


def _accepts_size(family: str, size: int) -> bool:
    if family == "Category10":
        return 3 <= size <= 10
    if family == "Category20":
        return 3 <= size <= 20
    return 3 <= size <= 11 or size == 256


def parse_palette(name: str) -> tuple[str, int]:
    """Parses a Bokeh palette name (``Viridis256``, ``Greys9``,
    ``Category10_10``) into its family and size; raises :class:`CallError`
    for any other name."""
    if isinstance(name, str):
        for family, categorical in _FAMILIES:
            if not name.startswith(family):
                continue
            digits = name[len(family):]
            if categorical:
                if not digits.startswith("_"):
                    continue
                digits = digits[1:]
            if not digits or digits[0] == "0" or not all("0" <= c <= "9" for c in digits):
                continue
            size = int(digits)
            if _accepts_size(family, size):
                return family, size
            break
    raise CallError(f"unknown palette {name!r}; known: {_KNOWN_PALETTES}")


def integer_arg(value, what: str) -> int:
    """An integer argument (a Python or numpy int; not a bool or float)."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {value!r}") from None


@dataclass(frozen=True)
class ColorSpec:
    """How points are coloured.

    With ``dim``, a point's colour is its index along dimension ``dim`` of
    the data, mapped onto the palette from 0 to 1. Without it, the spatial
    dimension holds three entries: x, y and the colour value.

    ``palette`` is a Bokeh palette name such as ``"Viridis256"``.
    """

    palette: str
    dim: Optional[int] = None

    def __post_init__(self) -> None:
        if not isinstance(self.palette, str):
            raise TypeError(f"ColorSpec.palette must be a palette name, got {self.palette!r}")
        if self.dim is not None:
            object.__setattr__(self, "dim", integer_arg(self.dim, "ColorSpec.dim"))


@dataclass(frozen=True)
class GridSpec:
    """Tiles the slices of the data along ``dim`` into a grid of
    ``num_columns`` columns, ``padding_factor`` times the data's range
    apart."""

    dim: int
    num_columns: int
    padding_factor: float = 1.2

    def __post_init__(self) -> None:
        object.__setattr__(self, "dim", integer_arg(self.dim, "GridSpec.dim"))
        object.__setattr__(self, "num_columns", integer_arg(self.num_columns, "GridSpec.num_columns"))
        try:
            padding = float(self.padding_factor)
        except (TypeError, ValueError):
            raise TypeError(f"GridSpec.padding_factor must be a number, got {self.padding_factor!r}") from None
        object.__setattr__(self, "padding_factor", padding)

    @property
    def padding_factor_f32(self) -> np.float32:
        """The padding factor as the float32 the log stores."""
        with np.errstate(over="ignore"):
            return np.float32(self.padding_factor)


#: The most plots a layout may hold (as the viewer and the Rust logger).
MAX_LAYOUT_PLOTS = 10_000
#: The largest grid a layout may span: top + height and left + width.
MAX_GRID_SPAN = 10_000


def check_layout(cells: Sequence[tuple[str, tuple[int, int, int, int]]]) -> None:
    """Checks a layout (plot name, ``(top, left, height, width)``) before it
    replaces the current one."""
    if len(cells) > MAX_LAYOUT_PLOTS:
        raise CallError(
            f"number of plots in the layout {len(cells)} is too large (at most {MAX_LAYOUT_PLOTS})"
        )
    seen = set()
    for plot, cell in cells:
        if not plot:
            raise CallError("plot names must not be empty")
        top, left, height, width = cell
        if height == 0 or width == 0:
            raise CallError(
                f"layout cell for plot {plot} must have height and width of at least 1, "
                f"got (top={top}, left={left}, height={height}, width={width})"
            )
        if top + height > MAX_GRID_SPAN or left + width > MAX_GRID_SPAN:
            raise CallError(
                f"layout cell for plot {plot} lies outside the largest grid ({MAX_GRID_SPAN} rows and columns), "
                f"got (top={top}, left={left}, height={height}, width={width})"
            )
        if plot in seen:
            raise CallError(f"layout names plot {plot} twice")
        seen.add(plot)


def normalize_layout(grid_map) -> list[tuple[str, tuple[int, int, int, int]]]:
    """The cells of a ``grid_map`` (a mapping, or pairs, of plot name to
    ``(top, left, height, width)``), in the caller's order, with their types
    checked."""
    items = grid_map.items() if hasattr(grid_map, "items") else grid_map
    cells = []
    for plot, cell in items:
        if not isinstance(plot, str):
            raise TypeError(f"plot names must be strings, got {plot!r}")
        try:
            values = tuple(cell)
        except TypeError:
            values = ()
        if len(values) != 4:
            raise CallError(f"layout cell for plot {plot} must be (top, left, height, width), got {cell!r}")
        values = tuple(integer_arg(v, f"layout cell for plot {plot}") for v in values)
        if any(v < 0 or v > U32_MAX for v in values):
            raise CallError(f"layout cell for plot {plot} must hold integers from 0 to {U32_MAX}, got {cell!r}")
        cells.append((plot, values))
    return cells


def check_in_layout(plot: str, layout_plots: Iterable[str]) -> None:
    """Checks that ``plot`` is one of the layout's plots."""
    if plot in layout_plots:
        return
    known = list(layout_plots)
    names = ", ".join(known[:20]) if known else "no plots"
    if len(known) > 20:
        names += f" and {len(known) - 20} more"
    raise CallError(f"plot {plot} not in layout (the layout has: {names}); call set_layout first")


def _shape_str(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def check_data_call(
    kind: str,
    shape: Sequence[int],
    spatial_dim: int,
    color: Optional[ColorSpec],
    grid: Optional[GridSpec],
    line_dims: Sequence[int] = (),
) -> None:
    """Checks a ``scatter`` or ``multi_lines`` (``kind``) call's spec against
    the shape of its data."""
    if len(shape) == 0:
        raise CallError("data must have at least one dimension")
    rank = len(shape)
    if rank > MAX_RANK:
        raise CallError(f"data of shape {_shape_str(shape)} has {rank} dimensions; the log holds at most {MAX_RANK}")
    d = spatial_dim
    if not 0 <= d < rank:
        raise CallError(f"spatial_dim {d} out of range for data of shape {_shape_str(shape)}")
    if color is not None and color.dim is None:
        expected, why = 3, "x, y and colour value, for colour by value"
    else:
        expected, why = 2, "x and y"
    if shape[d] != expected:
        raise CallError(f"spatial dimension {d} has size {shape[d]}, expected {expected} ({why})")
    if color is not None:
        parse_palette(color.palette)
        if color.dim is not None:
            if color.dim == d:
                raise CallError(f"color.dim == spatial_dim ({d}): colour by a non-spatial dimension")
            if not 0 <= color.dim < rank:
                raise CallError(f"color.dim out of range ({color.dim} for data of shape {_shape_str(shape)})")
    if grid is not None:
        if grid.dim == d:
            raise CallError(f"grid.dim == spatial_dim ({d}): tile along a non-spatial dimension")
        if not 0 <= grid.dim < rank:
            raise CallError(f"grid.dim out of range ({grid.dim} for data of shape {_shape_str(shape)})")
        if grid.num_columns < 1:
            raise CallError("grid.num_columns must be at least 1")
        if grid.num_columns > U32_MAX:
            raise CallError(f"grid.num_columns must be at most {U32_MAX}")
        if not math.isfinite(grid.padding_factor_f32):
            raise CallError(f"grid.padding_factor must be finite, got {grid.padding_factor}")
    if kind == "multi_lines":
        if len(line_dims) == 0:
            raise CallError("line_dims must name at least one dimension")
        for i, dim in enumerate(line_dims):
            if not 0 <= dim < rank or dim == d:
                raise CallError(
                    f"line_dims entry {dim} is out of range or the spatial dim, for data of shape "
                    f"{_shape_str(shape)} with spatial_dim {d}"
                )
            if dim in line_dims[:i]:
                raise CallError(f"line_dims names dimension {dim} twice")


def check_line_names(names, num_lines: int) -> list[str]:
    """Checks line names given with a lines call of ``num_lines`` lines (one
    str per line) and returns them as a list."""
    if isinstance(names, (str, bytes)):
        raise TypeError(f"names must be a sequence of str, one per line, got {names!r}")
    names = list(names)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"names must be str, got {name!r}")
    if len(names) != num_lines:
        raise CallError(f"names gives {len(names)} names for {num_lines} lines")
    return names


def check_tandem_call(palette: Optional[str], num_ys: int) -> None:
    """Checks a ``tandem_lines`` call."""
    if num_ys == 0:
        raise CallError("tandem_lines needs at least one y value")
    if palette is not None:
        parse_palette(palette)

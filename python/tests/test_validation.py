"""Refused calls: the same checks as the Rust logger, raising ValueError
(CallError) with a clear message, writing nothing and using no sequence
number."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _helpers import frames, record_summary
from streamvis import CallError, ColorSpec, DataLogger, GridSpec, NoSinkError
from streamvis.spec import parse_palette

LAYOUT = {"p": (0, 0, 1, 1), "q": (0, 1, 1, 1)}
CLOUD = np.zeros((3, 4, 2), dtype=np.float32)
BY_VALUE = np.zeros((5, 3), dtype=np.float32)

# (call, expected message pattern)
REFUSED = {
    "plot not in layout": (
        lambda lg: lg.scatter("nope", CLOUD, 2, False),
        r"plot nope not in layout \(the layout has: p, q\); call set_layout first",
    ),
    "color.dim == spatial_dim": (
        lambda lg: lg.scatter("p", CLOUD, 2, False, color=ColorSpec("Viridis256", 2)),
        r"color\.dim == spatial_dim \(2\)",
    ),
    "color.dim out of range": (
        lambda lg: lg.scatter("p", CLOUD, 2, False, color=ColorSpec("Viridis256", 3)),
        r"color\.dim out of range \(3 for data of shape \[3, 4, 2\]\)",
    ),
    "grid.dim == spatial_dim": (
        lambda lg: lg.scatter("p", CLOUD, 2, False, grid=GridSpec(2, 5)),
        r"grid\.dim == spatial_dim \(2\)",
    ),
    "grid.dim out of range": (
        lambda lg: lg.scatter("p", CLOUD, 2, False, grid=GridSpec(7, 5)),
        r"grid\.dim out of range \(7 for data of shape \[3, 4, 2\]\)",
    ),
    "grid.num_columns < 1": (
        lambda lg: lg.scatter("p", CLOUD, 2, False, grid=GridSpec(0, 0)),
        r"grid\.num_columns must be at least 1",
    ),
    "grid.padding_factor not finite": (
        lambda lg: lg.scatter("p", CLOUD, 2, False, grid=GridSpec(0, 2, float("inf"))),
        r"grid\.padding_factor must be finite",
    ),
    "grid.padding_factor overflows float32": (
        lambda lg: lg.scatter("p", CLOUD, 2, False, grid=GridSpec(0, 2, 1e39)),
        r"grid\.padding_factor must be finite",
    ),
    "spatial size not 2": (
        lambda lg: lg.scatter("p", BY_VALUE, 1, False),
        r"spatial dimension 1 has size 3, expected 2 \(x and y\)",
    ),
    "spatial size not 3 with colour by value": (
        lambda lg: lg.scatter("p", CLOUD, 2, False, color=ColorSpec("Viridis256")),
        r"spatial dimension 2 has size 2, expected 3 \(x, y and colour value, for colour by value\)",
    ),
    "spatial size 3 with colour by dim": (
        lambda lg: lg.scatter("p", BY_VALUE, 1, False, color=ColorSpec("Viridis256", 0)),
        r"spatial dimension 1 has size 3, expected 2",
    ),
    "spatial_dim out of range": (
        lambda lg: lg.scatter("p", CLOUD, 3, False),
        r"spatial_dim 3 out of range for data of shape \[3, 4, 2\]",
    ),
    "negative spatial_dim": (
        lambda lg: lg.scatter("p", CLOUD, -1, False),
        r"spatial_dim -1 out of range",
    ),
    "scalar data": (
        lambda lg: lg.scatter("p", np.float32(1.0), 0, False),
        r"data must have at least one dimension",
    ),
    "rank over 16": (
        lambda lg: lg.scatter("p", np.zeros((1,) * 16 + (2,)), 16, False),
        r"has 17 dimensions; the log holds at most 16",
    ),
    "unknown palette": (
        lambda lg: lg.scatter("p", CLOUD, 2, False, color=ColorSpec("Rainbow256", 0)),
        r"unknown palette 'Rainbow256'; known: Viridis",
    ),
    "unknown tandem palette": (
        lambda lg: lg.tandem_lines("p", 0, [1.0], palette="Viridis12"),
        r"unknown palette 'Viridis12'",
    ),
    "tandem_lines without ys": (
        lambda lg: lg.tandem_lines("p", 0, []),
        r"tandem_lines needs at least one y value",
    ),
    "tandem_lines with 2-D ys": (
        lambda lg: lg.tandem_lines("p", 0, [[1.0, 2.0]]),
        r"ys must hold one value per line",
    ),
    "tandem_lines plot not in layout": (
        lambda lg: lg.tandem_lines("nope", 0, [1.0]),
        r"plot nope not in layout",
    ),
    "multi_lines without line_dims": (
        lambda lg: lg.multi_lines("p", CLOUD, [], 2, False),
        r"line_dims must name at least one dimension",
    ),
    "multi_lines line dim out of range": (
        lambda lg: lg.multi_lines("p", CLOUD, [3], 2, False),
        r"line_dims entry 3 is out of range or the spatial dim, for data of shape \[3, 4, 2\] with spatial_dim 2",
    ),
    "multi_lines line dim is the spatial dim": (
        lambda lg: lg.multi_lines("p", CLOUD, 2, 2, False),
        r"line_dims entry 2 is out of range or the spatial dim",
    ),
    "multi_lines repeated line dim": (
        lambda lg: lg.multi_lines("p", CLOUD, [0, 1, 0], 2, False),
        r"line_dims names dimension 0 twice",
    ),
    "empty plot name in layout": (
        lambda lg: lg.set_layout({"": (0, 0, 1, 1)}),
        r"plot names must not be empty",
    ),
    "duplicate plot in layout": (
        lambda lg: lg.set_layout([("a", (0, 0, 1, 1)), ("a", (0, 1, 1, 1))]),
        r"layout names plot a twice",
    ),
    "zero-height cell": (
        lambda lg: lg.set_layout({"a": (0, 0, 0, 1)}),
        r"layout cell for plot a must have height and width of at least 1",
    ),
    "zero-width cell": (
        lambda lg: lg.set_layout({"a": (0, 0, 1, 0)}),
        r"layout cell for plot a must have height and width of at least 1",
    ),
    "negative cell": (
        lambda lg: lg.set_layout({"a": (-1, 0, 1, 1)}),
        r"layout cell for plot a must hold integers from 0 to 4294967295",
    ),
    "cell past the largest grid": (
        lambda lg: lg.set_layout({"a": (9_999, 0, 2, 1)}),
        r"layout cell for plot a lies outside the largest grid \(10000 rows and columns\)",
    ),
    "layout of too many plots": (
        lambda lg: lg.set_layout({f"p{i}": (i // 100, i % 100, 1, 1) for i in range(10_001)}),
        r"number of plots in the layout 10001 is too large \(at most 10000\)",
    ),
    "cell of three numbers": (
        lambda lg: lg.set_layout({"a": (0, 0, 1)}),
        r"layout cell for plot a must be \(top, left, height, width\)",
    ),
    "text ys": (
        lambda lg: lg.tandem_lines("p", 0, ["one"]),
        r"ys cannot be read as a float32 array",
    ),
    "ragged data": (
        lambda lg: lg.scatter("p", [[1.0, 2.0], [3.0]], 1, False),
        r"data cannot be read as a float32 array",
    ),
    "fewer names than tandem lines": (
        lambda lg: lg.tandem_lines("p", 0, [1.0, 2.0], names=["train"]),
        r"names gives 1 names for 2 lines",
    ),
    "more names than multi lines": (
        lambda lg: lg.multi_lines("p", CLOUD, 0, 2, False, names=["a", "b", "c", "d"]),
        r"names gives 4 names for 3 lines",
    ),
    "a line name UTF-8 cannot hold": (
        lambda lg: lg.tandem_lines("p", 0, [1.0], names=["bad\udcff"]),
        r"line name 'bad\\udcff' cannot be stored as UTF-8",
    ),
}


@pytest.fixture
def logger(tmp_path: Path):
    with DataLogger("validation") as logger:
        logger.init_write_log(tmp_path / "v.log")
        logger.set_layout(LAYOUT)
        yield logger


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_refused_calls_write_nothing(logger: DataLogger, tmp_path: Path, case: str):
    call, message = REFUSED[case]
    log = tmp_path / "v.log"
    logger.flush()
    before = log.read_bytes()
    with pytest.raises(ValueError, match=message):
        call(logger)
    logger.flush()
    assert log.read_bytes() == before
    # No sequence number was used: the next record is number 1.
    logger.tandem_lines("p", 0, [1.0])
    logger.flush()
    assert [record_summary(body)[1] for _, body in frames(log)] == [0, 1]


def test_refusals_are_call_errors(logger: DataLogger):
    with pytest.raises(CallError):
        logger.scatter("nope", CLOUD, 2, False)


def test_clear_forgets_the_layout(logger: DataLogger):
    logger.scatter("p", CLOUD, 2, False)
    logger.clear()
    with pytest.raises(CallError, match=r"plot p not in layout \(the layout has: no plots\)"):
        logger.scatter("p", CLOUD, 2, False)
    logger.set_layout({"p": (0, 0, 1, 1)})
    logger.scatter("p", CLOUD, 2, False)


def test_a_refused_layout_keeps_the_old_one(logger: DataLogger):
    with pytest.raises(CallError):
        logger.set_layout({"x": (0, 0, 1, 1), "": (0, 1, 1, 1)})
    logger.scatter("p", CLOUD, 2, False)
    with pytest.raises(CallError):
        logger.scatter("x", CLOUD, 2, False)


def test_calls_before_a_destination_are_refused():
    logger = DataLogger("nowhere")
    with pytest.raises(NoSinkError, match="call init_write_log"):
        logger.set_layout(LAYOUT)


@pytest.mark.parametrize(
    "call",
    [
        lambda lg: lg.scatter("p", CLOUD, 2.0, False),
        lambda lg: lg.scatter("p", CLOUD, 2, False, color="Viridis256"),
        lambda lg: lg.scatter("p", CLOUD, 2, False, grid=(0, 5)),
        lambda lg: lg.scatter(3, CLOUD, 2, False),
        lambda lg: lg.set_layout({1: (0, 0, 1, 1)}),
        lambda lg: lg.tandem_lines("p", 0, [1.0], palette=3),
        lambda lg: lg.tandem_lines("p", 0, [1.0], names="train"),
        lambda lg: lg.tandem_lines("p", 0, [1.0, 2.0], names=["train", 2]),
    ],
)
def test_wrong_types_raise_type_error(logger: DataLogger, call):
    with pytest.raises(TypeError):
        call(logger)


@pytest.mark.parametrize(
    "options, error, message",
    [
        (dict(flush_interval=0), ValueError, "flush_interval must be more than 0 seconds"),
        (dict(flush_interval=-1.0), ValueError, "flush_interval must be more than 0 seconds"),
        (dict(flush_interval=float("nan")), ValueError, "flush_interval must be more than 0 seconds"),
        (dict(flush_interval="0.05"), TypeError, "flush_interval must be a number of seconds"),
        (dict(flush_interval=None), TypeError, "flush_interval must be a number of seconds"),
        (dict(flush_threshold_bytes=-1), ValueError, "flush_threshold_bytes must be at least 0"),
        (dict(flush_threshold_bytes=1.5), TypeError, "flush_threshold_bytes must be an integer"),
    ],
)
def test_bad_options_are_refused_at_construction(options, error, message):
    # Before, a zero, negative or NaN interval made the flush thread spin,
    # and a string killed it silently.
    with pytest.raises(error, match=message):
        DataLogger("run", **options)


def test_an_infinite_flush_interval_flushes_on_flush_only(tmp_path: Path):
    log = tmp_path / "never.log"
    with DataLogger("run", flush_interval=float("inf")) as logger:
        logger.init_write_log(log)
        logger.set_layout(LAYOUT)
        logger._shared.flusher.join(0.1)
        assert logger._shared.flusher.is_alive(), "the flush thread survives a huge interval"
        assert frames(log) == []
        logger.flush()
        assert len(frames(log)) == 1


def test_names_that_utf8_cannot_hold_are_refused(logger: DataLogger, tmp_path: Path):
    # A lone surrogate, as os.fsdecode makes of undecodable bytes.
    with pytest.raises(CallError, match=r"plot name 'bad\\udcff' cannot be stored as UTF-8"):
        logger.set_layout({"bad\udcff": (0, 0, 1, 1)})
    with pytest.raises(CallError, match="run_name .* cannot be stored as UTF-8"):
        DataLogger("run\ud800")


def test_control_characters_in_names_are_accepted_as_by_rust(tmp_path: Path):
    # The Rust logger stores any UTF-8 name; so does this one.
    log = tmp_path / "control.log"
    names = {"tab\there": (0, 0, 1, 1), "new\nline\x00nul": (0, 1, 1, 1)}
    with DataLogger("run\x1b") as logger:
        logger.init_write_log(log)
        logger.set_layout(names)
        logger.tandem_lines("tab\there", 0, [1.0])
    assert len(frames(log)) == 2


def test_the_viewer_shows_names_with_control_characters(tmp_path: Path):
    from _helpers import export

    log = tmp_path / "control.log"
    names = {"tab\there": (0, 0, 1, 1), "new\nline\x00nul": (0, 1, 1, 1)}
    with DataLogger("run") as logger:
        logger.init_write_log(log)
        logger.set_layout(names)
        for name in names:
            logger.tandem_lines(name, 0, [1.0])
    assert sorted(export(log, tmp_path / "export.json")) == sorted(names)


def test_x_of_tandem_lines_must_be_a_number(logger: DataLogger):
    with pytest.raises(TypeError, match="x must be a number"):
        logger.tandem_lines("p", "1.5", [1.0])
    logger.tandem_lines("p", np.float32(1.5), [1.0])


def test_spec_types_check_their_fields():
    with pytest.raises(TypeError):
        ColorSpec("Viridis256", 1.5)
    with pytest.raises(TypeError):
        GridSpec("0", 5)
    assert GridSpec(np.int64(1), 2).dim == 1
    assert GridSpec(0, 5).padding_factor == 1.2


@pytest.mark.parametrize(
    "name, parsed",
    [
        ("Viridis256", ("Viridis", 256)),
        ("Viridis3", ("Viridis", 3)),
        ("Greys11", ("Greys", 11)),
        ("Turbo256", ("Turbo", 256)),
        ("Cividis9", ("Cividis", 9)),
        ("Magma5", ("Magma", 5)),
        ("Inferno8", ("Inferno", 8)),
        ("Plasma7", ("Plasma", 7)),
        ("Category10_3", ("Category10", 3)),
        ("Category10_10", ("Category10", 10)),
        ("Category20_20", ("Category20", 20)),
    ],
)
def test_known_palettes(name: str, parsed):
    assert parse_palette(name) == parsed


@pytest.mark.parametrize(
    "name",
    ["Viridis", "Viridis2", "Viridis12", "Viridis255", "Viridis0256", "Viridis٣", "viridis256", "Category10",
     "Category10_11", "Category10_03", "Category103", "Category20_2", "Category20_21", "Greys256x", "", "Jet256"],
)
def test_unknown_palettes(name: str):
    with pytest.raises(CallError, match="unknown palette"):
        parse_palette(name)

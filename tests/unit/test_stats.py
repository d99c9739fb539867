import pytest

from app.monitoring.stats import format_percent, percentile, polyline_points, uptime_percent


def test_uptime_percent():
    assert uptime_percent(0, 0) is None
    assert uptime_percent(4, 1) == 75.0
    assert uptime_percent(10, 0) == 100.0
    assert uptime_percent(3, 9) == 0.0  # failures never exceed checks


def test_percentile_interpolates_like_numpy():
    assert percentile([], 50) is None
    assert percentile([5], 99) == 5
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 20, 30, 40, 50], 90) == pytest.approx(46.0)
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_polyline_keeps_gaps_in_time_and_fits_the_box():
    points = polyline_points([10, None, 30], width=100, height=20, pad=0)
    assert points == "0.0,20.0 100.0,0.0"
    assert polyline_points([None, None], width=10, height=10) == ""
    flat = polyline_points([5, 5], width=10, height=10, pad=0)
    assert flat == "0.0,10.0 10.0,10.0"


def test_format_percent():
    assert format_percent(None) == "–"
    assert format_percent(100.0) == "100%"
    assert format_percent(99.5) == "99.50%"

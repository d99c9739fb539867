"""The dashboard: every monitor with its state, uptime and a latency sparkline."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.dashboard import get_summary

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def index():
    return render_template("dashboard.html", summary=get_summary())

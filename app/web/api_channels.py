"""JSON API, version 1: notification channels (on the blueprint of app/web/api.py).

Guarantees: every operation needs a signed-in caller, reads too (reads take a session
or a token; writes an API token only, as for monitors); a channel's URL is write-only:
responses carry ``url_redacted`` (channel_service.shown_url) and ``kind``, never the
URL; bodies are validated by the UI's ChannelForm, and Apprise's verdict on a URL is a
422 on ``url``; a taken name is a 409 on ``name``; a PATCH without ``url`` keeps it.
"""
from __future__ import annotations

from flask import jsonify, url_for

from app.alerts import channel_service
from app.models import Channel
from app.web.api_common import bp, saved, token_required, write_from_body
from app.web.api_input import channel_values


def channel_json(channel: Channel) -> dict:
    return {"id": channel.id, "name": channel.name, "kind": channel.kind,
            "url_redacted": channel_service.shown_url(channel), "is_default": channel.is_default}


@bp.route("/channels")
def list_channels():
    return jsonify(channels=[channel_json(c) for c in channel_service.list_channels()])


@bp.route("/channels/<int:channel_id>")
def get_channel(channel_id: int):
    return jsonify(channel_json(channel_service.get_or_404(channel_id)))


def _save(channel: Channel, *, base: dict, created: bool):
    refused = write_from_body("channel", lambda body: channel_service.save(
        channel, **channel_values(body, base=base, creating=created)))
    return refused or saved(channel_json(channel),
                 location=url_for("api.get_channel", channel_id=channel.id) if created else None)


@bp.route("/channels", methods=["POST"])
@token_required
def create_channel():
    return _save(Channel(), base={}, created=True)


@bp.route("/channels/<int:channel_id>", methods=["PATCH"])
@token_required
def update_channel(channel_id: int):
    channel = channel_service.get_or_404(channel_id)
    return _save(channel, base={"name": channel.name, "is_default": channel.is_default}, created=False)


@bp.route("/channels/<int:channel_id>", methods=["DELETE"])
@token_required
def delete_channel(channel_id: int):
    channel_service.delete(channel_service.get_or_404(channel_id))
    return "", 204


@bp.route("/channels/<int:channel_id>/test", methods=["POST"])
@token_required
def test_channel(channel_id: int):
    """Send a test message now; 200 with ``ok`` false when the service refused it."""
    result = channel_service.send_test(channel_service.get_or_404(channel_id))
    return jsonify(ok=result.ok, error=result.error)

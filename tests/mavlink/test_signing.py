"""MAVLink 2 signing: signed sessions command, forged / replayed / unsigned commands are rejected and counted."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.signing import KeyFileError, load_key_file, parse_key
from tests.conftest import run_cli

ACCEPTED = 0
PASSPHRASE = "skyhive-test"
KEY = hashlib.sha256(PASSPHRASE.encode()).digest()
ARM = mav.MAV_CMD_COMPONENT_ARM_DISARM


def _key_file(tmp: Path) -> Path:
    path = tmp / "keys.txt"
    path.write_text(f"# test keys\ndefault passphrase:{PASSPHRASE}\n")
    return path


def _armed(g: Any) -> bool:
    g.drain()
    hb = g.recv("HEARTBEAT")
    return bool(hb.base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED)


def test_signed_session_forged_and_replayed(serve: Any, gcs: Any, tmp_path: Path) -> None:
    server = serve(1, "--key-file", str(_key_file(tmp_path)), "--speed", "2")
    assert "signing required" in server.output()
    # unsigned: not admitted as a peer (no telemetry), and its command is dropped unanswered
    stranger = gcs(server.base, wait=False)
    assert stranger.conn.wait_heartbeat(timeout=2) is None
    assert stranger.command(ARM, 1, timeout=2.0) is None
    # forged: signed with the wrong key
    forger = gcs(server.base, key=hashlib.sha256(b"not the key").digest(), wait=False)
    assert forger.command(ARM, 1, timeout=2.0) is None
    # the real key: admitted, telemetry signed with the link key, commands accepted
    g = gcs(server.base, key=KEY)
    hb = g.recv("HEARTBEAT")
    assert hb.get_header().incompat_flags & mav.MAVLINK_IFLAG_SIGNED
    assert not _armed(g)
    assert g.command(ARM, 1) == ACCEPTED
    assert _armed(g)
    # replay: the same signed bytes twice (a disarm on the ground); the copy is rejected
    packet = g.conn.mav.command_long_encode(1, 1, ARM, 0, 0, 0, 0, 0, 0, 0, 0).pack(g.conn.mav)
    g.conn.write(packet)
    assert g.recv("COMMAND_ACK", 5, lambda m: m.command == ARM).result == ACCEPTED
    assert g.command(ARM, 1) == ACCEPTED  # armed again with a fresh signed command
    g.drain()
    g.conn.write(packet)  # the recorded disarm, replayed
    assert g.recv("COMMAND_ACK", 2, lambda m: m.command == ARM) is None
    assert _armed(g)
    summary = server.stop()
    assert summary["mavlink_rejected_forged"] >= 1
    assert summary["mavlink_rejected_replayed"] == 1
    assert summary["mavlink_rejected_unsigned"] >= 1
    assert summary["mavlink_signed_ok"] >= 3


def test_loopback_may_allow_unsigned_when_configured(serve: Any, gcs: Any, tmp_path: Path) -> None:
    server = serve(1, "--key-file", str(_key_file(tmp_path)), "--allow-unsigned-loopback", "--speed", "2")
    g = gcs(server.base)
    assert g.command(ARM, 1) == ACCEPTED  # MAVSDK cannot sign: loopback may accept it
    g.conn.setup_signing(hashlib.sha256(b"forged").digest(), sign_outgoing=True,
                         allow_unsigned_callback=lambda mav, msg_id: True)
    assert g.command(ARM, 0, timeout=2.0) is None  # a bad signature is still rejected
    summary = server.stop()
    assert summary["mavlink_rejected_forged"] >= 1


def test_mavproxy_signed_session(serve: Any, tmp_path: Path) -> None:
    from tests.mavlink.test_mavproxy import MavProxy, mavproxy_script

    if mavproxy_script() is None:
        pytest.skip("MAVProxy (pip install MAVProxy) is not installed")

    server = serve(1, "--key-file", str(_key_file(tmp_path)), "--speed", "2")
    mp = MavProxy(server.base, tmp_path)
    try:
        mp.send(f"signing key {PASSPHRASE}")  # before the vehicle is seen: signed links admit signed peers only
        mp.expect("Setup signing key", since_mark=False)
        mp.expect("online system 1", 30, since_mark=False)
        mp.send("arm throttle")
        mp.expect("COMPONENT_ARM_DISARM: ACCEPTED")
    finally:
        mp.close()
    assert server.stop()["mavlink_signed_ok"] >= 1


def test_key_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("default 1234\n")
    with pytest.raises(KeyFileError, match=r"bad.txt:1: a key is 64 hex digits"):
        load_key_file(bad)
    bad.write_text("radio passphrase:x\n")
    with pytest.raises(KeyFileError, match="neither 'default' nor a UDP port"):
        load_key_file(bad)
    good = tmp_path / "good.txt"
    good.write_text(f"14550 {'ab' * 32}  # a comment\ndefault passphrase:a # b\n")
    keys = load_key_file(good)
    assert keys["14550"] == bytes.fromhex("ab" * 32)
    assert keys["default"] == hashlib.sha256(b"a # b").digest()  # a passphrase may contain '#'
    assert parse_key("passphrase:x") == hashlib.sha256(b"x").digest()


def test_non_loopback_bind_requires_keys(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    from tests.mavlink.conftest import SCENARIO

    scenario.write_text(SCENARIO.format(count=1, route=""))
    r = run_cli("serve", str(scenario), "--bind", "0.0.0.0", "--until", "1", timeout=60)
    assert r.returncode == 2
    assert "is not loopback: every link must be signed" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout

"""The browser softphone's set-up: certificates, the JsSIP build, the rendered WebRTC configuration."""

from __future__ import annotations

import re
import shutil
import ssl
import stat
import subprocess

import pytest

from asterisk_conf.render import AstPaths
from deploy import softphone, tls
from deploy.configure import render_instance
from hotline.secrets import load_secrets
from hotline.settings import Settings
from hotline.transfer_map import load_map_for

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is installed by hotline setup")


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _sans(cert) -> str:
    return subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@needs_openssl
def test_certificates_are_made_once_with_private_keys_and_a_chain_that_verifies(tmp_path):
    files = tls.ensure_certificates(tmp_path / "tls")
    assert _mode(tmp_path / "tls") == 0o700
    assert _mode(files.ca_key) == 0o600 and _mode(files.server_key) == 0o600
    subprocess.run(
        ["openssl", "verify", "-CAfile", str(files.ca_cert), str(files.server_cert)], check=True, capture_output=True
    )
    sans = _sans(files.server_cert)
    assert "DNS:localhost" in sans and "IP Address:127.0.0.1" in sans and "IP Address:0:0:0:0:0:0:0:1" in sans
    ssl.create_default_context(cafile=str(files.ca_cert)).load_cert_chain(files.server_cert, files.server_key)
    before = {p.name: p.read_bytes() for p in files.directory.iterdir()}
    tls.ensure_certificates(tmp_path / "tls")
    assert {p.name: p.read_bytes() for p in files.directory.iterdir()} == before


@needs_openssl
def test_a_broken_or_foreign_server_certificate_is_replaced_and_the_ca_kept(tmp_path):
    files = tls.ensure_certificates(tmp_path)
    ca = files.ca_cert.read_bytes()
    files.server_cert.write_text("not a certificate\n")
    tls.ensure_certificates(tmp_path)
    assert files.ca_cert.read_bytes() == ca
    subprocess.run(
        ["openssl", "verify", "-CAfile", str(files.ca_cert), str(files.server_cert)], check=True, capture_output=True
    )
    # a certificate from another CA is not trusted as ours
    other = tls.ensure_certificates(tmp_path / "other")
    shutil.copy(other.server_cert, files.server_cert)
    tls.ensure_certificates(tmp_path)
    assert files.server_cert.read_bytes() != other.server_cert.read_bytes()


@needs_openssl
def test_a_new_bind_address_gets_a_new_server_certificate_from_the_same_ca(tmp_path):
    files = tls.ensure_certificates(tmp_path)
    ca, server = files.ca_cert.read_bytes(), files.server_cert.read_bytes()
    tls.ensure_certificates(tmp_path, bind="127.0.0.2")
    assert files.ca_cert.read_bytes() == ca and files.server_cert.read_bytes() != server
    assert "IP Address:127.0.0.2" in _sans(files.server_cert)


@needs_openssl
def test_a_lost_ca_key_makes_a_new_ca_and_a_server_certificate_it_signed(tmp_path):
    files = tls.ensure_certificates(tmp_path)
    ca = files.ca_cert.read_bytes()
    files.ca_key.unlink()
    tls.ensure_certificates(tmp_path)
    assert files.ca_cert.read_bytes() != ca
    subprocess.run(
        ["openssl", "verify", "-CAfile", str(files.ca_cert), str(files.server_cert)], check=True, capture_output=True
    )


def test_certificate_errors_are_clear(tmp_path, monkeypatch):
    with pytest.raises(tls.TLSError, match="bind address 'example.org' is not an IP address"):
        tls.ensure_certificates(tmp_path, bind="example.org")
    monkeypatch.setattr(tls.shutil, "which", lambda name: None)
    with pytest.raises(tls.TLSError, match="openssl not found"):
        tls.ensure_certificates(tmp_path)


@needs_openssl
def test_asterisk_gets_a_private_copy_where_http_conf_reads_it(tmp_path):
    files = tls.ensure_certificates(tmp_path / "tls")
    paths = AstPaths.under(tmp_path / "instance")
    keys = tmp_path / "instance" / "lib" / tls.ASTERISK_KEYS
    tls.install_for_asterisk(files, keys)
    assert (keys / tls.ASTERISK_CERT).read_bytes() == files.server_cert.read_bytes()
    assert (keys / tls.ASTERISK_KEY).read_bytes() == files.server_key.read_bytes()
    assert _mode(keys / tls.ASTERISK_KEY) == 0o600 and _mode(keys) == 0o700
    http = _render(tmp_path, paths)["http.conf"]
    assert f"tlscertfile = {paths.lib}/{tls.ASTERISK_KEYS}/{tls.ASTERISK_CERT}" in http
    assert f"tlsprivatekey = {paths.lib}/{tls.ASTERISK_KEYS}/{tls.ASTERISK_KEY}" in http


def _render(tmp_path, paths=None, **settings):
    s = Settings(home=tmp_path, **settings)
    agents = [
        {"name": "1001", "password": "pw-1001", "skills": {"hotline": 0}},
        {"name": "1002", "password": "pw-1002", "skills": {"hotline": 1, "gjj": 0}},
    ]
    return render_instance(
        s, load_secrets(s.secrets_file), paths or AstPaths.under("/srv/hotline/x"), load_map_for(s), agents=agents
    )


def _section(text: str, name: str, kind: str) -> dict[str, str]:
    for block in re.split(r"\n(?=\[)", text):
        head, _, body = block.partition("\n")
        if head.strip() == f"[{name}]" and f"type = {kind}" in body:
            return dict(line.split(" = ", 1) for line in body.splitlines() if " = " in line)
    raise AssertionError(f"no [{name}] of type {kind}")


def test_every_agent_has_a_webrtc_endpoint_beside_its_udp_one(tmp_path):
    files = _render(tmp_path, wss_port=18089)
    web = files["pjsip_webrtc.conf"]
    assert "#include pjsip_webrtc.conf" in files["pjsip.conf"]
    assert _section(web, "transport-wss", "transport")["protocol"] == "wss"
    for name in ("1001", "1002"):
        ep = _section(web, f"webrtc-{name}", "endpoint")
        assert ep["webrtc"] == "yes" and ep["transport"] == "transport-wss" and ep["context"] == "agents"
        assert ep["allow"] == "opus,ulaw,alaw" and ep["bind_rtp_to_media_address"] == "yes"
        assert ep["media_address"] == "127.0.0.1"
        auth = _section(web, f"webrtc-{name}-auth", "auth")
        assert auth["username"] == f"webrtc-{name}" and auth["password"] == f"pw-{name}"
        assert _section(web, f"webrtc-{name}", "aor")["max_contacts"] == "1"
        # the desk phone's endpoint is still there, unchanged
        assert _section(files["pjsip_agents.conf"], name, "endpoint")["transport"] == "transport-agents"
    assert "tlsenable = yes" in files["http.conf"] and "tlsbindaddr = 127.0.0.1:18089" in files["http.conf"]
    for module in (
        "res_http_websocket.so",
        "res_pjsip_transport_websocket.so",
        "res_srtp.so",
        "codec_opus_open_source.so",
    ):
        assert f"load => {module}" in files["modules.conf"]


def test_the_feature_codes_log_the_browser_in_under_the_agents_name(tmp_path):
    files = _render(tmp_path)
    ext = files["extensions.conf"]
    assert ext.index("#include extensions_agents.conf") < ext.index("#include extensions_webrtc.conf")
    web = files["extensions_webrtc.conf"]
    assert web.count("[agent-login](+)") == 1 and web.count("[agent-logout](+)") == 1
    assert "AddQueueMember(gjj,PJSIP/webrtc-1002,0,,1002,PJSIP/webrtc-1002)" in web
    assert "AddQueueMember(hotline,PJSIP/webrtc-1002,1,,1002,PJSIP/webrtc-1002)" in web
    assert "RemoveQueueMember(hotline,PJSIP/webrtc-1001)" in web


def _frontend(tmp_path):
    front = tmp_path / "front"
    front.mkdir(parents=True)
    for name in softphone.INPUTS:
        shutil.copy(softphone.FRONTEND / name, front / name)
    return front


def test_the_build_is_redone_only_when_its_pinned_inputs_change(tmp_path):
    front, vendor = _frontend(tmp_path), tmp_path / "vendor"
    vendor.mkdir()
    assert not softphone.is_built(front, vendor)
    (vendor / softphone.BUNDLE.name).write_text("// bundle\n")
    (vendor / softphone.STAMP.name).write_text(softphone.digest(front) + "\n")
    assert softphone.is_built(front, vendor)
    assert softphone.ensure_built(front, vendor) == vendor / softphone.BUNDLE.name  # nothing run
    lock = front / "package-lock.json"
    lock.write_text(lock.read_text().replace('"version": "3.13.8"', '"version": "3.13.7"'))
    assert not softphone.is_built(front, vendor)


def test_build_errors_are_clear(tmp_path, monkeypatch):
    front, vendor = _frontend(tmp_path), tmp_path / "vendor"
    (front / "jssip-global.js").unlink()
    with pytest.raises(softphone.BuildError, match="jssip-global.js: missing"):
        softphone.ensure_built(front, vendor)
    front = _frontend(tmp_path / "again")
    (front / "package-lock.json").write_text("{ not json")
    if shutil.which("npm"):
        with pytest.raises(softphone.BuildError, match=r"npm ci .* failed"):
            softphone.ensure_built(front, vendor)
    monkeypatch.setattr(softphone.shutil, "which", lambda name: None)
    with pytest.raises(softphone.BuildError, match="npm not found"):
        softphone.ensure_built(front, vendor)

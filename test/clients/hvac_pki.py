"""Drives Coffer's PKI engine with hvac the way service-mesh tooling does.

Usage:
  hvac_pki.py ADDR TOKEN   mounts pki, generates a root, creates a role, issues, revokes and
                           reads the CRL; prints "ok" on the last line

Each check is an assert with a message; the process exits non-zero on the first failure.
"""
import subprocess
import sys

import hvac
import hvac.exceptions


def crl_serials(crl_pem):
    """Returns the revoked serials that openssl lists in a PEM CRL, as lowercase hex."""
    listed = subprocess.run(
        ["openssl", "crl", "-noout", "-text"], input=crl_pem, capture_output=True, text=True, check=True
    ).stdout
    return {line.split(":", 1)[1].strip().lower() for line in listed.splitlines() if "Serial Number:" in line}


def main(addr, token):
    client = hvac.Client(url=addr, token=token)
    client.sys.enable_secrets_engine("pki", path="pki")
    pki = client.secrets.pki

    root = pki.generate_root("internal", "Mesh Root CA", extra_params={"key_type": "ec", "ttl": "100h"})
    assert root["data"]["certificate"].startswith("-----BEGIN CERTIFICATE-----"), root
    ca_pem = pki.read_ca_certificate()
    assert ca_pem.strip() == root["data"]["certificate"].strip(), "ca/pem differs from the generated root"

    pki.set_urls({"issuing_certificates": "http://127.0.0.1:8200/v1/pki/ca", "crl_distribution_points": "http://127.0.0.1:8200/v1/pki/crl"})
    urls = pki.read_urls()["data"]
    assert urls["crl_distribution_points"] == ["http://127.0.0.1:8200/v1/pki/crl"], urls

    pki.create_or_update_role(
        "mesh",
        {
            "allowed_domains": "mesh.local",
            "allow_subdomains": True,
            "allowed_uri_sans": "spiffe://cluster.local/*",
            "key_type": "ec",
            "ttl": "1h",
        },
    )
    role = pki.read_role("mesh")["data"]
    assert role["allowed_domains"] == ["mesh.local"], role
    assert "mesh" in pki.list_roles()["data"]["keys"]

    issued = pki.generate_certificate(
        "mesh", "web.mesh.local", extra_params={"uri_sans": "spiffe://cluster.local/ns/default/sa/web"}
    )["data"]
    for field in ("certificate", "issuing_ca", "ca_chain", "private_key", "private_key_type", "serial_number", "expiration"):
        assert field in issued, f"issue response lacks {field}"
    serial = issued["serial_number"]
    assert serial in pki.list_certificates()["data"]["keys"], "issued serial is not listed"

    try:
        pki.generate_certificate("mesh", "web.example.org")
        raise AssertionError("a name outside the role was issued")
    except hvac.exceptions.InvalidRequest as err:
        assert "web.example.org" in str(err), str(err)

    revoked = pki.revoke_certificate(serial)["data"]
    assert revoked["revocation_time"] > 0, revoked
    assert pki.read_certificate(serial)["data"]["revocation_time"] == revoked["revocation_time"]

    crl_pem = pki.read_crl()
    assert crl_pem.startswith("-----BEGIN X509 CRL-----"), crl_pem[:40]
    assert serial.replace(":", "") in crl_serials(crl_pem), "revoked serial missing from the CRL"

    assert pki.rotate_crl()["data"]["success"] is True
    assert pki.read_crl_configuration()["data"]["expiry"] == "72h"
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""Drives a Coffer server with hvac, the Python Vault client, the way an operator and an app would.

Usage:
  hvac_flow.py setup ADDR AUDIT_FILE   initializes, unseals and exercises the API; prints JSON
                                       with the unseal keys and root token on the last line
  hvac_flow.py restart ADDR STATE_JSON checks that a restarted server is sealed, unseals it,
                                       and checks that the data written by setup is back

Each check is an assert with a message; the process exits non-zero on the first failure.
"""
import json
import sys

import hvac
import hvac.exceptions


def expect_error(kind, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except kind as err:
        return err
    raise AssertionError(f"{call.__name__} did not raise {kind.__name__}")


def setup(addr, audit_file):
    client = hvac.Client(url=addr)
    assert not client.sys.is_initialized(), "a new server reports initialized"

    result = client.sys.initialize(secret_shares=5, secret_threshold=3)
    keys, root_token = result["keys"], result["root_token"]
    assert len(keys) == 5, f"expected 5 key shares, got {len(keys)}"
    assert client.sys.is_sealed(), "server is unsealed right after init"

    status = client.sys.submit_unseal_keys(keys[:2])
    assert status["sealed"] and status["progress"] == 2, f"two shares gave {status}"
    status = client.sys.submit_unseal_key(keys[2])
    assert not status["sealed"], "three shares did not unseal"

    client.token = root_token
    assert client.is_authenticated(), "root token is not accepted"

    client.sys.enable_audit_device(device_type="file", options={"file_path": audit_file})
    client.sys.enable_secrets_engine(backend_type="kv", path="kv1", options={"version": "1"})
    client.sys.enable_secrets_engine(backend_type="kv", path="kv2", options={"version": "2"})
    mounts = client.sys.list_mounted_secrets_engines()
    mount_table = mounts.get("data", mounts)
    assert "kv1/" in mount_table and "kv2/" in mount_table, f"mounts missing: {sorted(mount_table)}"

    # KV version 1
    client.secrets.kv.v1.create_or_update_secret(path="app/db", secret={"password": "s3cret-v1"}, mount_point="kv1")
    client.secrets.kv.v1.create_or_update_secret(path="app/api", secret={"key": "abc"}, mount_point="kv1")
    read = client.secrets.kv.v1.read_secret(path="app/db", mount_point="kv1")
    assert read["data"] == {"password": "s3cret-v1"}, f"kv1 read gave {read['data']}"
    listed = client.secrets.kv.v1.list_secrets(path="app", mount_point="kv1")
    assert listed["data"]["keys"] == ["api", "db"], f"kv1 list gave {listed['data']}"
    expect_error(hvac.exceptions.InvalidPath, client.secrets.kv.v1.read_secret, path="app/none", mount_point="kv1")

    # KV version 2: versions, check-and-set, soft delete and undelete
    kv2 = client.secrets.kv.v2
    kv2.create_or_update_secret(path="web/cfg", secret={"token": "one"}, mount_point="kv2")
    kv2.create_or_update_secret(path="web/cfg", secret={"token": "two"}, cas=1, mount_point="kv2")
    err = expect_error(hvac.exceptions.InvalidRequest, kv2.create_or_update_secret, path="web/cfg", secret={"token": "x"}, cas=1, mount_point="kv2")
    assert "check-and-set" in str(err), f"CAS conflict message: {err}"
    latest = kv2.read_secret_version(path="web/cfg", mount_point="kv2")
    assert latest["data"]["data"] == {"token": "two"}, f"latest is {latest['data']}"
    assert latest["data"]["metadata"]["version"] == 2, f"version is {latest['data']['metadata']}"
    first = kv2.read_secret_version(path="web/cfg", version=1, mount_point="kv2")
    assert first["data"]["data"] == {"token": "one"}, "version 1 lost"
    listed = kv2.list_secrets(path="web", mount_point="kv2")
    assert listed["data"]["keys"] == ["cfg"], f"kv2 list gave {listed['data']}"

    kv2.delete_latest_version_of_secret(path="web/cfg", mount_point="kv2")
    expect_error(hvac.exceptions.InvalidPath, kv2.read_secret_version, path="web/cfg", mount_point="kv2")
    kv2.undelete_secret_versions(path="web/cfg", versions=[2], mount_point="kv2")
    again = kv2.read_secret_version(path="web/cfg", mount_point="kv2")
    assert again["data"]["data"] == {"token": "two"}, "undelete did not restore version 2"

    # A policy that allows one path and not another
    policy = 'path "kv2/data/web/*" { capabilities = ["read"] }\npath "kv2/data/ops/*" { capabilities = ["deny"] }\n'
    client.sys.create_or_update_policy(name="web-reader", policy=policy)
    assert "web-reader" in client.sys.list_policies()["data"]["policies"], "policy not listed"
    kv2.create_or_update_secret(path="ops/root", secret={"pw": "x"}, mount_point="kv2")
    created = client.auth.token.create(policies=["web-reader"], ttl="1h")
    reader = hvac.Client(url=addr, token=created["auth"]["client_token"])
    assert reader.secrets.kv.v2.read_secret_version(path="web/cfg", mount_point="kv2")["data"]["data"]["token"] == "two"
    expect_error(hvac.exceptions.Forbidden, reader.secrets.kv.v2.read_secret_version, path="ops/root", mount_point="kv2")
    expect_error(hvac.exceptions.Forbidden, reader.secrets.kv.v2.create_or_update_secret, path="web/cfg", secret={"a": "b"}, mount_point="kv2")
    expect_error(hvac.exceptions.Forbidden, hvac.Client(url=addr, token="not-a-token").secrets.kv.v1.read_secret, path="app/db", mount_point="kv1")

    # The audit log has lines for these requests, with secrets HMAC'd
    with open(audit_file) as f:
        text = f.read()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines, "audit log is empty"
    assert "s3cret-v1" not in text, "a secret value reached the audit log in clear"
    assert root_token not in text, "the root token reached the audit log in clear"
    writes = [e for e in lines if e["type"] == "request" and e["request"]["path"] == "kv1/app/db" and e["request"]["operation"] in ("create", "update")]
    assert writes, "no audit entry for the kv1 write"
    assert writes[0]["request"]["data"]["password"].startswith("hmac-sha256:"), "password not HMAC'd"
    digest = client.sys.calculate_hash(path="file", input_to_hash="s3cret-v1")
    assert writes[0]["request"]["data"]["password"] == digest["data"]["hash"], "audit-hash differs from the logged HMAC"

    print(json.dumps({"keys": keys, "root_token": root_token}))


def restart(addr, state_json):
    state = json.loads(state_json)
    client = hvac.Client(url=addr)
    assert client.sys.is_initialized(), "restarted server lost its initialization"
    assert client.sys.is_sealed(), "restarted server is not sealed"
    expect_error(hvac.exceptions.VaultDown, hvac.Client(url=addr, token=state["root_token"]).secrets.kv.v1.read_secret, path="app/db", mount_point="kv1")
    client.sys.submit_unseal_keys(state["keys"][2:5])
    assert not client.sys.is_sealed(), "unseal after restart failed"
    client.token = state["root_token"]
    assert client.secrets.kv.v1.read_secret(path="app/db", mount_point="kv1")["data"]["password"] == "s3cret-v1"
    assert client.secrets.kv.v2.read_secret_version(path="web/cfg", mount_point="kv2")["data"]["data"]["token"] == "two"
    assert "web-reader" in client.sys.list_policies()["data"]["policies"], "policy lost on restart"
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "setup":
        setup(sys.argv[2], sys.argv[3])
    elif command == "restart":
        restart(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(f"unknown command {command!r}; use setup or restart")

"""Drives Coffer's identity features with hvac: AppRole secure introduction, userpass, CIDR
binding, token renewal caps, revocation trees with leases, response wrapping and batch tokens.

Usage: hvac_identity.py ADDR ROOT_TOKEN
Each check is an assert with a message; the process exits non-zero on the first failure.
"""
import sys
import time

import hvac
import hvac.exceptions


def expect_error(kind, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except kind as err:
        return err
    raise AssertionError(f"{getattr(call, '__name__', call)} did not raise {kind.__name__}")


def main(addr, root_token):
    client = hvac.Client(url=addr, token=root_token)
    client.sys.create_or_update_policy(name="web", policy='path "secret/data/web/*" { capabilities = ["read"] }')
    client.secrets.kv.v2.create_or_update_secret(path="web/db", secret={"password": "approle-pw"})

    # AppRole: the secret ID is handed over wrapped, and unwrapped once by the app.
    client.sys.enable_auth_method(method_type="approle")
    client.auth.approle.create_or_update_approle(role_name="web", token_policies=["web"], token_ttl="1h", token_max_ttl="2h", secret_id_num_uses=1, secret_id_ttl="10m")
    role_id = client.auth.approle.read_role_id(role_name="web")["data"]["role_id"]
    wrapped = client.adapter.post("/v1/auth/approle/role/web/secret-id", wrap_ttl="60s")
    wrapping_token = wrapped["wrap_info"]["token"]
    assert wrapped.get("data") is None, "a wrapped response carried data"

    app = hvac.Client(url=addr)
    secret_id = app.sys.unwrap(token=wrapping_token)["data"]["secret_id"]
    expect_error(hvac.exceptions.InvalidRequest, app.sys.unwrap, token=wrapping_token)
    login = app.auth.approle.login(role_id=role_id, secret_id=secret_id)
    assert login["auth"]["policies"] == ["default", "web"], f"approle policies {login['auth']['policies']}"
    assert login["auth"]["lease_duration"] == 3600, f"approle TTL {login['auth']['lease_duration']}"
    assert app.secrets.kv.v2.read_secret_version(path="web/db")["data"]["data"]["password"] == "approle-pw"
    expect_error(hvac.exceptions.InvalidRequest, hvac.Client(url=addr).auth.approle.login, role_id=role_id, secret_id=secret_id)

    # CIDR binding: a secret ID bound to another network cannot log in from loopback.
    bound = client.auth.approle.generate_secret_id(role_name="web", cidr_list=["10.0.0.0/8"])["data"]["secret_id"]
    expect_error(hvac.exceptions.InvalidRequest, hvac.Client(url=addr).auth.approle.login, role_id=role_id, secret_id=bound)

    # userpass
    client.sys.enable_auth_method(method_type="userpass")
    client.auth.userpass.create_or_update_user(username="alice", password="correct-horse", policies=["web"])
    person = hvac.Client(url=addr)
    person.auth.userpass.login(username="alice", password="correct-horse")
    assert person.secrets.kv.v2.read_secret_version(path="web/db")["data"]["data"]["password"] == "approle-pw"
    expect_error(hvac.exceptions.InvalidRequest, hvac.Client(url=addr).auth.userpass.login, username="alice", password="wrong")
    expect_error(hvac.exceptions.InvalidRequest, hvac.Client(url=addr).auth.userpass.login, username="nobody", password="wrong")

    # Renewal is capped by the explicit max TTL, with a warning.
    capped = client.auth.token.create(policies=["web"], ttl="10m", explicit_max_ttl="15m")
    renewer = hvac.Client(url=addr, token=capped["auth"]["client_token"])
    renewed = renewer.auth.token.renew_self(increment="1h")
    assert renewed["auth"]["lease_duration"] <= 900, f"renewal not capped: {renewed['auth']['lease_duration']}"
    assert renewed.get("warnings"), "a capped renewal carried no warning"

    # Revoking a parent revokes its children and the leases they hold.
    client.sys.enable_secrets_engine(backend_type="pki", path="pki")
    client.write("pki/root/generate/internal", common_name="hvac root", key_type="ec", ttl="24h")
    client.write("pki/roles/leased", allowed_domains="example.test", allow_subdomains=True, key_type="ec", ttl="1h", generate_lease=True)
    client.sys.create_or_update_policy(name="issuer", policy='path "pki/issue/*" { capabilities = ["update"] }\npath "auth/token/create" { capabilities = ["update"] }')
    parent = client.auth.token.create(policies=["issuer"])["auth"]["client_token"]
    child = hvac.Client(url=addr, token=parent).auth.token.create(policies=["issuer"])["auth"]["client_token"]
    issued = hvac.Client(url=addr, token=child).write("pki/issue/leased", common_name="a.example.test")
    lease_id = issued["lease_id"]
    assert client.sys.read_lease(lease_id=lease_id)["data"]["id"] == lease_id
    client.auth.token.revoke(token=parent)
    expect_error(hvac.exceptions.Forbidden, hvac.Client(url=addr, token=child).auth.token.lookup_self)
    expect_error(hvac.exceptions.InvalidRequest, client.sys.read_lease, lease_id=lease_id)

    # Wrapping expires.
    short = client.adapter.get("/v1/secret/data/web/db", wrap_ttl="1s")["wrap_info"]["token"]
    time.sleep(2.2)
    expect_error((hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden), client.sys.unwrap, token=short)

    # Batch tokens cannot be renewed or create children.
    batch = client.auth.token.create(policies=["web"], ttl="10m", type="batch") if "type" in client.auth.token.create.__code__.co_varnames else client.adapter.post("/v1/auth/token/create", json={"policies": ["web"], "ttl": "10m", "type": "batch"})
    batch_token = batch["auth"]["client_token"]
    assert batch_token.startswith("hvb."), "not a batch token"
    batch_client = hvac.Client(url=addr, token=batch_token)
    assert batch_client.secrets.kv.v2.read_secret_version(path="web/db")["data"]["data"]["password"] == "approle-pw"
    expect_error(hvac.exceptions.InvalidRequest, batch_client.auth.token.renew_self)
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""Drives Coffer's database secrets engine with hvac against real PostgreSQL, MariaDB and Redis:
connection configs, dynamic credentials with renewal and revocation, static roles with rotation,
root rotation, and a creation statement with a syntax error. Every credential is checked by
logging in with the database's own command-line client (psql, mysql, redis-cli).

Usage: hvac_database.py ADDR ROOT_TOKEN SPEC_JSON
SPEC_JSON names the databases, users and keys that the calling test created and will remove.
Each check is an assert with a message; the process exits non-zero on the first failure.
"""
import json
import os
import subprocess
import sys

import hvac
import hvac.exceptions


def expect_error(kind, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except kind as err:
        return err
    raise AssertionError(f"{getattr(call, '__name__', call)} did not raise {kind.__name__}")


def run_client(argv, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env)
    return result.returncode, result.stdout.strip(), result.stderr.strip()


class Postgres:
    """Logs in with psql. The server trusts loopback, so a login proves only that the role exists."""

    plugin = "postgresql-database-plugin"

    def __init__(self, spec):
        self.spec = spec

    def config(self):
        return {
            "connection_url": f"postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:5432/{self.spec['database']}",
            "username": self.spec["admin"],
            "password": self.spec["password"],
        }

    def creation_statements(self):
        return [
            "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
            'GRANT SELECT ON items TO "{{name}}";',
        ]

    def bad_statements(self):
        return ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}';", 'GRANT SELECT ON items TOO "{{name}}";']

    def syntax_message(self):
        return "syntax error"

    def query(self, user, password):
        code, out, err = run_client(
            ["psql", "-h", "127.0.0.1", "-p", "5432", "-U", user, "-d", self.spec["database"], "-w", "-tAc", "SELECT count(*) FROM items"],
            {"PGPASSWORD": password},
        )
        return out if code == 0 else None, err

    def admin_query(self, sql, *params):
        code, out, err = run_client(["psql", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", self.spec["database"], "-w", "-tA", "-v", "ON_ERROR_STOP=1", *params, "-c", sql])
        assert code == 0, f"psql as postgres failed: {err}"
        return out

    def password_fingerprint(self, user):
        # Trust auth cannot tell passwords apart, so compare the stored hash instead.
        return self.admin_query(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{user}'")

    def valid_until_within(self, low_seconds, high_seconds, user):
        sql = (
            f"SELECT rolvaliduntil BETWEEN now() + interval '{low_seconds} seconds' AND now() + interval '{high_seconds} seconds' "
            f"FROM pg_roles WHERE rolname = '{user}'"
        )
        return self.admin_query(sql) == "t"


class Mysql:
    plugin = "mysql-database-plugin"

    def __init__(self, spec):
        self.spec = spec

    def config(self):
        return {
            "connection_url": "{{username}}:{{password}}@tcp(127.0.0.1:3306)/",
            "username": self.spec["admin"],
            "password": self.spec["password"],
        }

    def creation_statements(self):
        return [f"CREATE USER '{{{{name}}}}'@'%' IDENTIFIED BY '{{{{password}}}}'; GRANT SELECT ON {self.spec['database']}.* TO '{{{{name}}}}'@'%';"]

    def bad_statements(self):
        return ["CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'", f"GRANT SELEKT ON {self.spec['database']}.* TO '{{{{name}}}}'@'%'"]

    def syntax_message(self):
        return "SQL syntax"

    def query(self, user, password):
        code, out, err = run_client(
            ["mysql", "-h", "127.0.0.1", "-P", "3306", "--protocol=TCP", "-u", user, "-D", self.spec["database"], "-N", "-e", "SELECT count(*) FROM items"],
            {"MYSQL_PWD": password},
        )
        return out if code == 0 else None, err


class Redis:
    plugin = "redis-database-plugin"

    def __init__(self, spec):
        self.spec = spec

    def config(self):
        return {"host": "127.0.0.1", "port": 6379, "username": self.spec["admin"], "password": self.spec["password"]}

    def creation_statements(self):
        return [json.dumps([f"~{self.spec['key_prefix']}*", "+get"])]

    def bad_statements(self):
        return ['["+nosuchcommand"]']

    def syntax_message(self):
        return "ACL"

    def query(self, user, password):
        # redis-cli exits 0 even on an error reply, so AUTH and GET are judged by their output.
        code, out, err = run_client(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "AUTH", user, password])
        if code != 0 or out != "OK":
            return None, out or err
        code, out, err = run_client(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "--user", user, "--pass", password, "--no-auth-warning", "GET", self.spec["key"]])
        return (out if code == 0 else None), err


def dynamic_flow(client, name, db):
    """Dynamic credentials: issue, log in, renew, revoke, and the login fails afterwards."""
    role = f"{name}-reader"
    client.secrets.database.create_role(name=role, db_name=name, creation_statements=db.creation_statements(), default_ttl=3600, max_ttl=7200)
    assert client.secrets.database.read_role(name=role)["data"]["db_name"] == name

    creds = client.secrets.database.generate_credentials(name=role)
    lease_id = creds["lease_id"]
    assert lease_id.startswith(f"database/creds/{role}/"), f"{name}: lease id {lease_id}"
    assert creds["lease_duration"] == 3600, f"{name}: lease_duration {creds['lease_duration']}"
    assert creds["renewable"] is True, f"{name}: lease not renewable"
    user, password = creds["data"]["username"], creds["data"]["password"]
    result, err = db.query(user, password)
    assert result == db.spec["expected"], f"{name}: login with dynamic credentials returned {result!r}: {err}"

    renewed = client.sys.renew_lease(lease_id=lease_id, increment=600)
    assert renewed["lease_id"] == lease_id, f"{name}: renew returned {renewed['lease_id']}"
    assert renewed["lease_duration"] == 600, f"{name}: renewed lease_duration {renewed['lease_duration']}"
    lease = client.sys.read_lease(lease_id=lease_id)["data"]
    assert 0 < lease["ttl"] <= 600, f"{name}: lease TTL after renewal {lease['ttl']}"
    assert lease["last_renewal"], f"{name}: lease lookup shows no last_renewal"
    if isinstance(db, Postgres):
        assert db.valid_until_within(500, 700, user), f"{name}: renewal did not move VALID UNTIL"

    # Renewal is capped by the role's max_ttl.
    capped = client.sys.renew_lease(lease_id=lease_id, increment=100000)
    assert capped["lease_duration"] <= 7200, f"{name}: renewal past max_ttl: {capped['lease_duration']}"

    client.sys.revoke_lease(lease_id=lease_id)
    result, err = db.query(user, password)
    assert result is None, f"{name}: login still works after revocation"
    expect_error(hvac.exceptions.InvalidRequest, client.sys.read_lease, lease_id=lease_id)


def static_flow(client, name, db):
    """Static role: the stored password logs in, and rotation replaces it so the old one stops working."""
    role = f"{name}-static"
    user = db.spec["static_user"]
    client.secrets.database.create_static_role(name=role, db_name=name, username=user, rotation_statements=None, rotation_period=3600)
    first = client.secrets.database.get_static_credentials(name=role)["data"]
    assert first["username"] == user, f"{name}: static username {first['username']}"
    assert 3500 < first["ttl"] <= 3600, f"{name}: static ttl {first['ttl']}"
    assert first["last_vault_rotation"], f"{name}: no last_vault_rotation"
    result, err = db.query(user, first["password"])
    assert result == db.spec["expected"], f"{name}: static login returned {result!r}: {err}"
    if not isinstance(db, Postgres):
        result, _ = db.query(user, db.spec["static_initial_password"])
        assert result is None, f"{name}: the password set before the role still logs in"
    fingerprint = db.password_fingerprint(user) if isinstance(db, Postgres) else None

    # hvac 0.11.2 has no method for rotate-role, so the generic write is what its users call.
    client.write(f"database/rotate-role/{role}")
    second = client.secrets.database.get_static_credentials(name=role)["data"]
    assert second["password"] != first["password"], f"{name}: rotation kept the password"
    result, err = db.query(user, second["password"])
    assert result == db.spec["expected"], f"{name}: login after rotation returned {result!r}: {err}"
    if isinstance(db, Postgres):
        assert db.password_fingerprint(user) != fingerprint, f"{name}: rotation left the stored hash unchanged"
    else:
        result, _ = db.query(user, first["password"])
        assert result is None, f"{name}: the password before rotation still logs in"

    assert role in client.secrets.database.list_static_roles()["data"]["keys"]
    client.secrets.database.delete_static_role(name=role)
    expect_error(hvac.exceptions.InvalidRequest, client.secrets.database.get_static_credentials, name=role)


def fault_flow(client, name, db):
    """A creation statement with a syntax error: 400 with the database's message and no lease."""
    role = f"{name}-bad"
    client.secrets.database.create_role(name=role, db_name=name, creation_statements=db.bad_statements())
    err = expect_error(hvac.exceptions.InvalidRequest, client.secrets.database.generate_credentials, name=role)
    assert db.syntax_message() in str(err), f"{name}: error does not carry the database message: {err}"
    try:
        keys = client.sys.list_leases(prefix=f"database/creds/{role}/")["data"]["keys"]
    except hvac.exceptions.InvalidPath:
        keys = []
    assert keys == [], f"{name}: a failed creation left leases {keys}"


def root_rotation_flow(client, name, db):
    """After rotate-root the engine still issues working credentials with a password only it has."""
    client.secrets.database.rotate_root_credentials(name=name)
    connection = client.secrets.database.read_connection(name=name)["data"]
    assert "password" not in connection["connection_details"], f"{name}: config read shows a password"
    assert db.spec["password"] not in json.dumps(connection), f"{name}: config read shows the old root password"
    if not isinstance(db, Postgres):
        config = db.config()
        result, _ = db.query(config["username"], config["password"])
        assert result is None, f"{name}: the root password before rotation still logs in"

    creds = client.secrets.database.generate_credentials(name=f"{name}-reader")
    result, err = db.query(creds["data"]["username"], creds["data"]["password"])
    assert result == db.spec["expected"], f"{name}: login after root rotation returned {result!r}: {err}"
    client.sys.revoke_lease(lease_id=creds["lease_id"])


def main(addr, root_token, spec_json):
    spec = json.loads(spec_json)
    client = hvac.Client(url=addr, token=root_token)
    client.sys.enable_secrets_engine(backend_type="database", path="database")
    databases = {"pg": Postgres(spec["pg"]), "maria": Mysql(spec["mysql"]), "redis": Redis(spec["redis"])}

    for name, db in databases.items():
        client.secrets.database.configure(
            name=name,
            plugin_name=db.plugin,
            allowed_roles=[f"{name}-*"],
            username_template=db.spec["username_template"],
            **db.config(),
        )
        connection = client.secrets.database.read_connection(name=name)["data"]
        assert connection["plugin_name"] == db.plugin, f"{name}: plugin_name {connection['plugin_name']}"
        assert "password" not in connection["connection_details"], f"{name}: config read shows the password"
    assert sorted(client.secrets.database.list_connections()["data"]["keys"]) == ["maria", "pg", "redis"]

    # A wrong root password is rejected at write time with the database's reason, password removed.
    err = expect_error(
        hvac.exceptions.InvalidRequest,
        client.secrets.database.configure,
        name="wrong",
        plugin_name="mysql-database-plugin",
        connection_url="{{username}}:{{password}}@tcp(127.0.0.1:3306)/",
        username=spec["mysql"]["admin"],
        password="Wrong-Pass-4711",
    )
    assert "Access denied" in str(err), f"wrong password error: {err}"
    assert "Wrong-Pass-4711" not in str(err), "the error shows the password"

    # A role outside the connection's allowed_roles cannot issue credentials.
    client.secrets.database.create_role(name="outsider", db_name="pg", creation_statements=databases["pg"].creation_statements())
    err = expect_error(hvac.exceptions.InvalidRequest, client.secrets.database.generate_credentials, name="outsider")
    assert "allowed_roles" in str(err), f"outsider error: {err}"

    for name, db in databases.items():
        dynamic_flow(client, name, db)
        static_flow(client, name, db)
        fault_flow(client, name, db)
        root_rotation_flow(client, name, db)
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])

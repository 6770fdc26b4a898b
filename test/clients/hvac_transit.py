"""Drives Coffer's transit engine with hvac, the Python Vault client.

Usage:
  hvac_transit.py ADDR TOKEN   mounts transit and exercises hvac's transit methods; prints
                               {"ok": true} on the last line

Each check is an assert with a message; the process exits non-zero on the first failure.
"""
import base64
import json
import sys

import hvac
import hvac.exceptions


def b64(text):
    return base64.b64encode(text.encode()).decode()


def expect_error(kind, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except kind as err:
        return err
    raise AssertionError(f"{call.__name__} did not raise {kind.__name__}")


def main(addr, token):
    client = hvac.Client(url=addr, token=token)
    client.sys.enable_secrets_engine(backend_type="transit", path="transit")
    transit = client.secrets.transit

    # Create, read, list
    transit.create_key(name="orders")
    transit.create_key(name="signer", key_type="ecdsa-p256")
    transit.create_key(name="rsa", key_type="rsa-2048")
    transit.create_key(name="edkey", key_type="ed25519", derived=True)
    key = transit.read_key(name="orders")["data"]
    assert key["type"] == "aes256-gcm96", f"read_key gave {key['type']}"
    assert key["latest_version"] == 1, f"latest_version is {key['latest_version']}"
    names = transit.list_keys()["data"]["keys"]
    assert names == ["edkey", "orders", "rsa", "signer"], f"list_keys gave {names}"

    # Encrypt, decrypt
    ciphertext = transit.encrypt_data(name="orders", plaintext=b64("card 4242"))["data"]["ciphertext"]
    assert ciphertext.startswith("vault:v1:"), f"ciphertext {ciphertext[:12]}"
    plaintext = transit.decrypt_data(name="orders", ciphertext=ciphertext)["data"]["plaintext"]
    assert base64.b64decode(plaintext) == b"card 4242", "decrypt gave other plaintext"

    # Rotate and rewrap
    transit.rotate_key(name="orders")
    assert transit.read_key(name="orders")["data"]["latest_version"] == 2, "rotate did not add a version"
    rewrapped = transit.rewrap_data(name="orders", ciphertext=ciphertext)["data"]["ciphertext"]
    assert rewrapped.startswith("vault:v2:"), f"rewrap gave {rewrapped[:12]}"
    assert base64.b64decode(transit.decrypt_data(name="orders", ciphertext=rewrapped)["data"]["plaintext"]) == b"card 4242"

    # Key configuration: old versions can no longer decrypt
    transit.update_key_configuration(name="orders", min_decryption_version=2)
    err = expect_error(hvac.exceptions.InvalidRequest, transit.decrypt_data, name="orders", ciphertext=ciphertext)
    assert "min_decryption_version" in str(err), f"old version error: {err}"

    # Batch encrypt and decrypt
    items = [{"plaintext": b64(f"row {i}")} for i in range(50)]
    results = transit.encrypt_data(name="orders", plaintext=None, batch_input=items)["data"]["batch_results"]
    assert len(results) == 50 and all("ciphertext" in r for r in results), "batch encrypt failed"
    decrypted = transit.decrypt_data(
        name="orders", ciphertext=None, batch_input=[{"ciphertext": r["ciphertext"]} for r in results]
    )["data"]["batch_results"]
    assert base64.b64decode(decrypted[7]["plaintext"]) == b"row 7", "batch decrypt gave other plaintext"
    err = expect_error(
        hvac.exceptions.InvalidRequest, transit.decrypt_data, name="orders", ciphertext=None,
        batch_input=[{"ciphertext": results[0]["ciphertext"]}, {"ciphertext": "vault:v2:AAAA"}],
    )
    assert "unable to decrypt" in str(err), f"mixed batch error: {err}"

    # Sign and verify
    signature = transit.sign_data(name="signer", hash_input=b64("contract"), hash_algorithm="sha2-384")["data"]["signature"]
    valid = transit.verify_signed_data(
        name="signer", hash_input=b64("contract"), signature=signature, hash_algorithm="sha2-384"
    )["data"]["valid"]
    assert valid is True, "ECDSA signature did not verify"
    forged = transit.verify_signed_data(
        name="signer", hash_input=b64("other"), signature=signature, hash_algorithm="sha2-384"
    )["data"]["valid"]
    assert forged is False, "signature verified for other input"

    rsa_signature = transit.sign_data(name="rsa", hash_input=b64("doc"), signature_algorithm="pkcs1v15")["data"]["signature"]
    assert transit.verify_signed_data(
        name="rsa", hash_input=b64("doc"), signature=rsa_signature, signature_algorithm="pkcs1v15"
    )["data"]["valid"], "RSA signature did not verify"
    jws = transit.sign_data(name="signer", hash_input=b64("jwt"), marshaling_algorithm="jws")["data"]["signature"]
    assert transit.verify_signed_data(
        name="signer", hash_input=b64("jwt"), signature=jws, marshaling_algorithm="jws"
    )["data"]["valid"], "JWS signature did not verify"
    ed = transit.sign_data(name="edkey", hash_input=b64("x"), context=b64("tenant"))["data"]["signature"]
    assert transit.verify_signed_data(name="edkey", hash_input=b64("x"), signature=ed, context=b64("tenant"))["data"]["valid"]
    expect_error(hvac.exceptions.InvalidRequest, transit.sign_data, name="orders", hash_input=b64("x"))

    # HMAC, hash, random, data key
    hmac = transit.generate_hmac(name="orders", hash_input=b64("mac me"))["data"]["hmac"]
    assert transit.verify_signed_data(name="orders", hash_input=b64("mac me"), hmac=hmac)["data"]["valid"], "HMAC did not verify"
    digest = transit.hash_data(hash_input=b64("abc"), algorithm="sha2-256")["data"]["sum"]
    assert digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", f"hash gave {digest}"
    random_bytes = transit.generate_random_bytes(n_bytes=16)["data"]["random_bytes"]
    assert len(base64.b64decode(random_bytes)) == 16, "random gave another length"
    datakey = transit.generate_data_key(name="orders", key_type="plaintext", bits=256)["data"]
    assert len(base64.b64decode(datakey["plaintext"])) == 32, "data key length"

    # Export, backup, restore, trim, delete
    transit.update_key_configuration(name="orders", exportable=True, allow_plaintext_backup=True)
    exported = transit.export_key(name="orders", key_type="encryption-key")["data"]["keys"]
    assert sorted(exported) == ["1", "2"], f"export gave versions {sorted(exported)}"
    backup = transit.backup_key(name="orders")["data"]["backup"]
    transit.restore_key(backup=backup, name="orders-copy")
    copy = transit.decrypt_data(name="orders-copy", ciphertext=rewrapped)["data"]["plaintext"]
    assert base64.b64decode(copy) == b"card 4242", "restored key decrypts other plaintext"
    transit.update_key_configuration(name="orders", min_encryption_version=2)
    transit.trim_key(name="orders", min_version=2)
    assert list(transit.read_key(name="orders")["data"]["keys"]) == ["2"], "trim kept version 1"
    expect_error(hvac.exceptions.InvalidRequest, transit.delete_key, name="orders")
    transit.update_key_configuration(name="orders", deletion_allowed=True)
    transit.delete_key(name="orders")
    expect_error(hvac.exceptions.InvalidPath, transit.read_key, name="orders")

    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

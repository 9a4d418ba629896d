"""Unit: scrypt hashing with the production parameters."""

from __future__ import annotations

from chalicelib.auth import passwords


def test_production_parameters_meet_owasp_scrypt_guidance() -> None:
    # OWASP: N=2^17,r=8,p=1 or an equivalent such as N=2^15,r=8,p=3.
    parameters = passwords.DEFAULT_PARAMETERS
    assert (1 << parameters.log2_n) * parameters.r * parameters.p >= (1 << 15) * 8 * 3


def test_hash_then_verify() -> None:
    stored = passwords.hash_password("correct horse")
    assert passwords.verify_password("correct horse", stored)
    assert not passwords.verify_password("correct horsE", stored)


def test_each_hash_has_its_own_salt_and_records_its_parameters() -> None:
    first, second = passwords.hash_password("same"), passwords.hash_password("same")
    assert first != second
    scheme, log2_n, r, p, _salt, _digest = first.split("$")
    assert (scheme, int(log2_n), int(r), int(p)) == ("scrypt", 15, 8, 3)


def test_hashes_made_with_older_parameters_still_verify() -> None:
    old = passwords.hash_password("pw", passwords.ScryptParameters(log2_n=10, r=8, p=1))
    assert passwords.verify_password("pw", old)


def test_corrupt_stored_hashes_never_verify() -> None:
    for stored in ("", "plain", "bcrypt$1$2$3$4$5", "scrypt$x$8$1$AA$AA", "scrypt$10$8$1$!$!"):
        assert not passwords.verify_password("pw", stored)


def test_unicode_passwords() -> None:
    stored = passwords.hash_password("pässwörd 🔑")
    assert passwords.verify_password("pässwörd 🔑", stored)
